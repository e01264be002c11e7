#!/usr/bin/env bash
# Prints the path of a Go toolchain new enough to build JR and vegeta (>= MIN_GO, 1.24.1).
# The `go` on PATH when it is new enough; otherwise Go's own toolchain module, fetched once
# from the Go module proxy (the registry `go` itself uses for GOTOOLCHAIN switching) into
# the user cache. Debian 12's golang-go is 1.19: it cannot build JR.
#
#   GO=$(deploy/local/go_toolchain.sh)
set -euo pipefail

MIN_GO="${MIN_GO:-1.24.1}"
TOOLCHAIN_GO="${PAYSTREAM_GO_VERSION:-1.24.13}"
CACHE="${PAYSTREAM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/paystream}"
PROXY="${GOPROXY_URL:-https://proxy.golang.org}"

die() { printf 'go_toolchain: error: %s\n' "$*" >&2; exit 1; }

# version_at_least <have> <want>: dotted versions compared numerically.
version_at_least() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" == "$2" ]]; }

go_version() { "$1" env GOVERSION 2>/dev/null | sed 's/^go//'; }

for candidate in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go; do
  if [[ -n "$candidate" && -x "$candidate" ]]; then
    have="$(go_version "$candidate" || true)"
    if [[ -n "$have" ]] && version_at_least "$have" "$MIN_GO"; then
      printf '%s\n' "$candidate"
      exit 0
    fi
  fi
done

case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) die "no Go >= $MIN_GO on PATH and no toolchain module for $(uname -m): install Go >= $MIN_GO" ;;
esac
home="$CACHE/go-toolchain/go$TOOLCHAIN_GO"
if [[ ! -x "$home/bin/go" ]]; then
  command -v curl >/dev/null || die "curl is needed to fetch Go $TOOLCHAIN_GO"
  command -v unzip >/dev/null || die "unzip is needed to unpack Go $TOOLCHAIN_GO"
  mkdir -p "$CACHE/go-toolchain"
  tmp="$(mktemp -d "$CACHE/go-toolchain/fetch.XXXX")"
  trap 'rm -rf "$tmp"' EXIT
  module="golang.org/toolchain/@v/v0.0.1-go$TOOLCHAIN_GO.linux-$arch.zip"
  printf 'go_toolchain: no Go >= %s here; fetching Go %s from %s (~80 MB, once)\n' \
    "$MIN_GO" "$TOOLCHAIN_GO" "$PROXY" >&2
  curl -fsSL --retry 3 -o "$tmp/go.zip" "$PROXY/$module" || die "could not download $PROXY/$module"
  unzip -q "$tmp/go.zip" -d "$tmp/unpacked"
  src="$(find "$tmp/unpacked/golang.org" -maxdepth 1 -name 'toolchain@*' -print -quit)"
  [[ -n "$src" && -f "$src/bin/go" ]] || die "unexpected layout in $module"
  chmod +x "$src"/bin/* "$src"/pkg/tool/*/* 2>/dev/null || true
  rm -rf "$home"
  mv "$src" "$home"
fi
printf '%s\n' "$home/bin/go"
