#!/usr/bin/env bash
# Build the vegeta HTTP load generator (github.com/tsenart/vegeta/v12) from source and
# install it as "$PAYSTREAM_CACHE/bin/vegeta" (used by `make soak`).
#
# Built the way build_jr.sh builds JR, and for the same reason: `go install module@version`
# asks the module proxy's @v/list endpoint first, which is not reachable here. So:
#   1. go mod download the pinned version (an exact version needs no @v/list);
#   2. go build inside its module directory (its go.sum pins every dependency);
#   3. install atomically.
#
# Idempotent: exits 0 quietly when the installed binary already reports the pinned
# version. VEGETA_FORCE_REBUILD=1 rebuilds.
#
# Environment:
#   PAYSTREAM_CACHE        default ${XDG_CACHE_HOME:-$HOME/.cache}/paystream
#   GO                     go binary to use (default: deploy/local/go_toolchain.sh)
#   VEGETA_FORCE_REBUILD   set to 1 to rebuild even if the right version is installed
set -euo pipefail

readonly VEGETA_MODULE="github.com/tsenart/vegeta/v12"
readonly VEGETA_VERSION="v12.13.0"

PAYSTREAM_CACHE="${PAYSTREAM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/paystream}"
BIN_DIR="$PAYSTREAM_CACHE/bin"
VEGETA_BIN="$BIN_DIR/vegeta"
BUILD_BASE="$PAYSTREAM_CACHE/build"

log() { printf '[build_vegeta] %s\n' "$*"; }
die() { printf '[build_vegeta] ERROR: %s\n' "$*" >&2; exit 1; }
trap 'rc=$?; printf "[build_vegeta] ERROR: command failed (exit %s) at line %s: %s\n" "$rc" "$LINENO" "$BASH_COMMAND" >&2; exit "$rc"' ERR

# `vegeta -version` prints "Version: v12.13.0" among other lines (nothing if absent).
version_ok() {
  [[ -x "$1" ]] || return 1
  "$1" -version 2>/dev/null | grep -Eq "^Version: *$VEGETA_VERSION\$"
}

need_build() { [[ "${VEGETA_FORCE_REBUILD:-0}" == "1" ]] || ! version_ok "$VEGETA_BIN"; }

if ! need_build; then
  exit 0
fi

# A Go new enough for the pinned versions: the one on PATH, else Go's toolchain module
# from the Go module proxy (deploy/local/go_toolchain.sh).
if [[ -z "${GO:-}" ]]; then
  GO="$("$(dirname "${BASH_SOURCE[0]}")/go_toolchain.sh")" || die "no usable Go toolchain"
fi
command -v "$GO" >/dev/null 2>&1 || die "GO=$GO is not executable"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
# A static binary: vegeta needs no C code.
export CGO_ENABLED=0

mkdir -p "$BIN_DIR" "$BUILD_BASE"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$BUILD_BASE/vegeta.lock"
  flock 9
  if ! need_build; then
    log "already installed by a concurrent run"
    exit 0
  fi
fi

log "downloading $VEGETA_MODULE@$VEGETA_VERSION"
json="$(cd "$BUILD_BASE" && "$GO" mod download -json "$VEGETA_MODULE@$VEGETA_VERSION")" \
  || die "go mod download $VEGETA_MODULE@$VEGETA_VERSION failed"
src="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
[[ -n "$src" && -f "$src/main.go" ]] || die "could not locate the sources of $VEGETA_MODULE@$VEGETA_VERSION"

log "building vegeta $VEGETA_VERSION with $("$GO" env GOVERSION) -> $VEGETA_BIN"
# vegeta's main package sets its version from these variables (see its Makefile).
ldflags="-s -w -X 'main.Version=$VEGETA_VERSION' -X 'main.Date=$(date -u '+%Y-%m-%dT%H:%M:%SZ')'"
tmp="$VEGETA_BIN.tmp.$$"
(cd "$src" && "$GO" build -trimpath -ldflags="$ldflags" -o "$tmp" .) || die "go build failed"
version_ok "$tmp" || { rm -f "$tmp"; die "the built binary does not report $VEGETA_VERSION"; }
chmod 0755 "$tmp"
mv -f "$tmp" "$VEGETA_BIN"
log "installed $VEGETA_BIN ($VEGETA_VERSION)"
