#!/usr/bin/env bash
# Build the JR data generator CLI (github.com/jrnd-io/jr) from source and
# install it as "$PAYSTREAM_CACHE/bin/jr".
#
# Why from source: `go install github.com/jrnd-io/jr@v0.4.0` needs the module
# proxy's @v/list endpoint (deprecation lookup), which is not reachable here,
# and the published module does not contain the Go types that JR generates
# from its .avsc schemas (pkg/types). So this script reproduces JR's Makefile
# (`make all_offline`) outside the read-only module cache:
#   1. go mod download the pinned JR and gogen-avro versions (no @v/list);
#   2. build gogen-avro inside its own module directory;
#   3. copy the JR sources into a writable build dir under the cache;
#   4. go generate pkg/generator/generate.go (gogen-avro + type registry);
#   5. go build with the Version ldflag, then install atomically.
#
# It also installs JR's bundled templates and word lists (templates/data/<locale>,
# used by functions such as name, city, from ...) and the example Kafka configs
# as a JR system dir: "$PAYSTREAM_CACHE/jr". Point JR at it with
#   jr --jr_system_dir "$PAYSTREAM_CACHE/jr" ...   (or export JR_SYSTEM_DIR=...)
#
# Idempotent: exits 0 quietly when the installed binary already reports the
# pinned version and the system dir is in place. JR_FORCE_REBUILD=1 rebuilds.
#
# Environment:
#   PAYSTREAM_CACHE   default ${XDG_CACHE_HOME:-$HOME/.cache}/paystream
#   GO                go binary to use (default: deploy/local/go_toolchain.sh: `go` on PATH if >= 1.24.1, else a Go from the module proxy)
#   JR_FORCE_REBUILD  set to 1 to rebuild even if the right version is installed
#   JR_KEEP_BUILD     set to 1 to keep the build directory after success
set -euo pipefail

readonly JR_MODULE="github.com/jrnd-io/jr"
readonly JR_VERSION="v0.4.0"
readonly GOGEN_AVRO_MODULE="github.com/actgardner/gogen-avro/v10"
readonly GOGEN_AVRO_VERSION="v10.2.1"   # the version required by JR v0.4.0's go.mod

PAYSTREAM_CACHE="${PAYSTREAM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/paystream}"
BIN_DIR="$PAYSTREAM_CACHE/bin"
JR_BIN="$BIN_DIR/jr"
JR_HOME="$PAYSTREAM_CACHE/jr"   # JR system dir (templates + word lists)
JR_HOME_STAMP="$JR_HOME/.installed-$JR_VERSION"
BUILD_BASE="$PAYSTREAM_CACHE/build"
BUILD_DIR="$BUILD_BASE/jr-$JR_VERSION"
TOOLS_GOPATH="$BUILD_BASE/gogen-avro-$GOGEN_AVRO_VERSION"   # JR's go:generate runs $GOPATH/bin/gogen-avro

log() { printf '[build_jr] %s\n' "$*"; }
die() { printf '[build_jr] ERROR: %s\n' "$*" >&2; exit 1; }
trap 'rc=$?; printf "[build_jr] ERROR: command failed (exit %s) at line %s: %s\n" "$rc" "$LINENO" "$BASH_COMMAND" >&2; exit "$rc"' ERR

# Prints the version reported by a jr binary ("JR Version   : v0.4.0"), or nothing.
jr_reported_version() {
  [[ -x "$1" ]] || return 0
  "$1" version 2>/dev/null | sed -n 's/^JR Version *: *//p' | tr -d '[:space:]' || true
}

version_ok() {
  local v
  v="$(jr_reported_version "$1")"
  [[ "v${v#v}" == "$JR_VERSION" ]]
}

need_build() { [[ "${JR_FORCE_REBUILD:-0}" == "1" ]] || ! version_ok "$JR_BIN"; }
need_home() { [[ "${JR_FORCE_REBUILD:-0}" == "1" || ! -f "$JR_HOME_STAMP" ]]; }

# --- 0. fast path -----------------------------------------------------------
if ! need_build && ! need_home; then
  exit 0
fi

# --- prerequisites ----------------------------------------------------------
# A Go new enough for the pinned versions: the one on PATH, else Go's toolchain module
# from the Go module proxy (deploy/local/go_toolchain.sh).
if [[ -z "${GO:-}" ]]; then
  GO="$("$(dirname "${BASH_SOURCE[0]}")/go_toolchain.sh")" || die "no usable Go toolchain"
fi
command -v "$GO" >/dev/null 2>&1 || die "GO=$GO is not executable"
# Never let go try to download another toolchain (that needs the proxy's list endpoint).
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
# JR links confluent-kafka-go (bundled librdkafka) which requires cgo.
export CGO_ENABLED=1
cc_cmd="$("$GO" env CC 2>/dev/null || true)"
cc_cmd="${cc_cmd%% *}"
command -v "${cc_cmd:-cc}" >/dev/null 2>&1 \
  || die "C compiler '${cc_cmd:-cc}' not found: JR needs cgo for confluent-kafka-go (install gcc)"

go_version="$("$GO" env GOVERSION)"

mkdir -p "$BIN_DIR" "$BUILD_BASE"

# Serialize concurrent runs; re-check after acquiring the lock.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$BUILD_BASE/jr.lock"
  flock 9
  if ! need_build && ! need_home; then
    log "already installed by a concurrent run"
    exit 0
  fi
fi

# Pin the module cache explicitly: we change GOPATH for `go generate` below.
GOMODCACHE="$("$GO" env GOMODCACHE)"
export GOMODCACHE

# Prints the "Dir" of a downloaded module (go mod download works without @v/list
# when the version is exact).
module_dir() {
  local json dir
  json="$(cd "$BUILD_BASE" && "$GO" mod download -json "$1@$2")" \
    || die "go mod download $1@$2 failed"
  dir="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
  [[ -n "$dir" && -d "$dir" ]] || die "could not locate the source dir of $1@$2 (go mod download output: $json)"
  printf '%s\n' "$dir"
}

# --- 1. download sources ----------------------------------------------------
log "downloading $JR_MODULE@$JR_VERSION"
jr_src="$(module_dir "$JR_MODULE" "$JR_VERSION")"
[[ -f "$jr_src/jr.go" && -d "$jr_src/templates" ]] || die "unexpected layout of $jr_src (no jr.go / templates)"

# --- JR system dir: bundled templates, word lists, example configs ------------
install_jr_home() {
  log "installing JR templates and word lists -> $JR_HOME"
  local tmp="$JR_HOME.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp/kafka"
  cp -R "$jr_src/templates" "$tmp/templates"
  cp "$jr_src"/pkg/producers/kafka/*.properties.example "$tmp/kafka/"
  chmod -R u+w "$tmp"
  touch "$tmp/.installed-$JR_VERSION"
  rm -rf "$JR_HOME"
  mv "$tmp" "$JR_HOME"
}
if need_home; then
  install_jr_home
fi
if ! need_build; then
  log "jr $JR_VERSION already installed at $JR_BIN"
  exit 0
fi
log "building JR $JR_VERSION with $go_version -> $JR_BIN"

required_gogen="$(awk -v m="$GOGEN_AVRO_MODULE" '$1 == m { print $2; exit }' "$jr_src/go.mod")"
if [[ -n "$required_gogen" && "$required_gogen" != "$GOGEN_AVRO_VERSION" ]]; then
  log "warning: JR go.mod requires $GOGEN_AVRO_MODULE $required_gogen, building $GOGEN_AVRO_VERSION"
fi

# --- 2. gogen-avro -----------------------------------------------------------
gogen_bin="$TOOLS_GOPATH/bin/gogen-avro"
if [[ ! -x "$gogen_bin" ]]; then
  log "building gogen-avro $GOGEN_AVRO_VERSION"
  gogen_src="$(module_dir "$GOGEN_AVRO_MODULE" "$GOGEN_AVRO_VERSION")"
  mkdir -p "$TOOLS_GOPATH/bin"
  # Build from inside its own module so no version resolution (@v/list) is needed.
  (cd "$gogen_src" && "$GO" build -trimpath -o "$gogen_bin.tmp" ./cmd/gogen-avro) \
    || die "building gogen-avro failed"
  mv -f "$gogen_bin.tmp" "$gogen_bin"
fi

# --- 3. writable copy of the JR sources ---------------------------------------
log "preparing build dir $BUILD_DIR"
rm -rf "$BUILD_DIR"
mkdir -p "$BUILD_DIR"
cp -R "$jr_src/." "$BUILD_DIR/"
chmod -R u+w "$BUILD_DIR"

# --- 4. code generation (Makefile target `generate`) ---------------------------
log "generating avro types (go generate pkg/generator/generate.go)"
(cd "$BUILD_DIR" && GOPATH="$TOOLS_GOPATH" PATH="$TOOLS_GOPATH/bin:$PATH" \
  "$GO" generate pkg/generator/generate.go) || die "go generate failed"
[[ -f "$BUILD_DIR/pkg/types/registry.go" ]] || die "go generate did not produce pkg/types/registry.go"

# --- 5. compile (Makefile target `compile`) -------------------------------------
log "compiling jr (downloads dependencies on first run, may take a few minutes)"
pkg="github.com/jrnd-io/jr/pkg/cmd"
ldflags="-s -w -X '$pkg.Version=$JR_VERSION' -X '$pkg.GoVersion=$go_version'"
ldflags+=" -X '$pkg.BuildUser=$(id -un 2>/dev/null || echo unknown)' -X '$pkg.BuildTime=$(date -u '+%Y-%m-%dT%H:%M:%SZ')'"
(cd "$BUILD_DIR" && "$GO" build -ldflags="$ldflags" -o "$BUILD_DIR/build/jr" jr.go) || die "go build failed"

version_ok "$BUILD_DIR/build/jr" \
  || die "built binary reports version '$(jr_reported_version "$BUILD_DIR/build/jr")', expected $JR_VERSION"

# --- 6. install atomically -----------------------------------------------------
install -m 0755 "$BUILD_DIR/build/jr" "$JR_BIN.tmp.$$"
mv -f "$JR_BIN.tmp.$$" "$JR_BIN"
if [[ "${JR_KEEP_BUILD:-0}" != "1" ]]; then
  rm -rf "$BUILD_DIR"
fi
log "installed $JR_BIN ($JR_VERSION)"
