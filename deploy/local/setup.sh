#!/usr/bin/env bash
# make setup: everything the local platform needs, installed from package registries only.
# Idempotent and quiet when already done. Large downloads live in the user-level cache
# ($PAYSTREAM_CACHE, default ~/.cache/paystream, plus ~/.m2 and pip's cache), so a fresh
# clone reuses them; the virtualenvs live in the checkout (.venv, .venv-flink).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${PAYSTREAM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/paystream}"
PYTHON="${PYTHON:-python3}"
TRINO_VERSION=476
DID_SOMETHING=0

step() { DID_SOMETHING=1; printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# A step re-runs only when the inputs it hashes have changed.
# Stamps live beside what they describe: a new venv or an emptied cache starts afresh.
fingerprint() { cat "$@" | sha256sum | cut -d' ' -f1; }
is_current() { [[ -f "$1" && "$(cat "$1")" == "$2" ]]; }
mark_current() { mkdir -p "$(dirname "$1")"; printf '%s' "$2" > "$1"; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  command -v apt-get >/dev/null || die "install ${missing[*]} with your package manager"
  local sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  step "installing ${missing[*]} (Debian packages)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

system_packages() {
  local pkgs=()
  compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || pkgs+=(postgresql)
  command -v mvn >/dev/null || pkgs+=(maven)
  # Go: deploy/local/go_toolchain.sh (Debian's golang-go, 1.19, cannot build JR).
  command -v curl >/dev/null || pkgs+=(curl)
  if ! java -version 2>&1 | grep -Eq 'version "(1[7-9]|2[0-9])'; then pkgs+=(openjdk-17-jdk-headless); fi
  command -v unzip >/dev/null || pkgs+=(unzip)
  # kcat: the toolbox's Kafka console (make topics-list, consume, produce).
  command -v kcat >/dev/null || pkgs+=(kcat)
  # Prometheus and its Pushgateway (Flink pushes there); promtool checks the rules in tests.
  [[ -x /usr/bin/prometheus ]] || pkgs+=(prometheus)
  [[ -x /usr/bin/prometheus-pushgateway ]] || pkgs+=(prometheus-pushgateway)
  # The console's browser test: headless Chromium driven through chromedriver (Selenium).
  [[ -x /usr/bin/chromium ]] || pkgs+=(chromium)
  [[ -x /usr/bin/chromedriver ]] || pkgs+=(chromium-driver)
  [[ ${#pkgs[@]} -eq 0 ]] || apt_install "${pkgs[@]}"
}

venv() {  # venv <dir> <extras> <constraints>
  local dir="$1" extras="$2" constraints="$3"
  local key="$dir/.paystream-stamp"
  local fp; fp="$(fingerprint "$ROOT/pyproject.toml" "$constraints")"
  [[ -x "$dir/bin/python" ]] || "$PYTHON" -m venv "$dir"
  if ! is_current "$key" "$fp"; then
    step "installing Python packages into $(basename "$dir") [$extras]"
    local log="$dir/pip-install.log"
    if ! { "$dir/bin/python" -m pip install -q --upgrade pip &&
           "$dir/bin/python" -m pip install -q -c "$constraints" -e "$ROOT[$extras]"; } >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      die "pip could not install $(basename "$dir") [$extras]; full log: $log"
    fi
    mark_current "$key" "$fp"
  fi
}

jvm_artifacts() {
  local pom="$ROOT/deploy/local/jvm/pom.xml" fp
  fp="$(fingerprint "$pom")"
  for set in flink-lib flink-opt kafka trino zookeeper prometheus; do
    if ! is_current "$CACHE/stamps/jvm-$set" "$fp" || [[ ! -d "$CACHE/jvm/$set" ]]; then
      step "resolving JVM artifacts: $set (Maven Central)"
      rm -rf "$CACHE/jvm/$set"
      mvn -q -B -Dstyle.color=never -f "$pom" -P "$set" dependency:copy-dependencies \
        -DoutputDirectory="$CACHE/jvm/$set" || die "Maven could not resolve the $set artifacts"
      mark_current "$CACHE/stamps/jvm-$set" "$fp"
    fi
  done
}

udf_jar() {
  # The jobs' own SQL functions (flink_jobs/udf): built against Flink's jars, which every
  # job ships itself (`ADD JAR`, flink_jobs/ddl.py function_statements).
  local pom="$ROOT/flink_jobs/udf/pom.xml" fp out="$CACHE/jvm/udf"
  fp="$(fingerprint "$pom" $(find "$ROOT/flink_jobs/udf/src" -type f | sort))"
  if ! is_current "$CACHE/stamps/jvm-udf" "$fp" || [[ ! -f "$out/paystream-flink-udf-1.jar" ]]; then
    step "building the Flink jobs' SQL functions (flink_jobs/udf)"
    mvn -q -B -Dstyle.color=never -f "$pom" -Dudf.build.directory="$CACHE/build/udf" package \
      || die "Maven could not build flink_jobs/udf"
    mkdir -p "$out"
    cp "$CACHE/build/udf/paystream-flink-udf-1.jar" "$out/"
    mark_current "$CACHE/stamps/jvm-udf" "$fp"
  fi
}

trino_server() {
  local home="$CACHE/trino-server-$TRINO_VERSION"
  [[ -x "$home/bin/launcher" && -d "$home/plugin/iceberg" ]] && return 0
  step "unpacking Trino $TRINO_VERSION with its Iceberg plugin"
  local tmp; tmp="$(mktemp -d "$CACHE/trino-unpack.XXXX")"
  tar xzf "$CACHE/jvm/trino/trino-server-core-$TRINO_VERSION.tar.gz" -C "$tmp"
  unzip -q "$CACHE/jvm/trino/trino-iceberg-$TRINO_VERSION.zip" -d "$tmp"
  mv "$tmp/trino-iceberg-$TRINO_VERSION" "$tmp/trino-server-core-$TRINO_VERSION/plugin/iceberg"
  rm -rf "$home"
  mv "$tmp/trino-server-core-$TRINO_VERSION" "$home"
  rm -rf "$tmp"
}

flink_jars() {
  # The PyPI Flink distribution has no connectors and no SQL gateway: link ours in.
  local home; home="$(echo "$ROOT"/.venv-flink/lib/python3*/site-packages/pyflink)"
  [[ -d "$home/lib" ]] || die "PyFlink missing in .venv-flink"
  for jar in "$CACHE"/jvm/flink-lib/*.jar; do ln -sfn "$jar" "$home/lib/$(basename "$jar")"; done
  for jar in "$CACHE"/jvm/flink-opt/*.jar; do ln -sfn "$jar" "$home/opt/$(basename "$jar")"; done
}

main() {
  mkdir -p "$CACHE"
  system_packages
  venv "$ROOT/.venv" "app,dev" "$ROOT/constraints/app.txt"
  venv "$ROOT/.venv-flink" "flink" "$ROOT/constraints/flink.txt"
  jvm_artifacts
  udf_jar
  trino_server
  flink_jars
  [[ -x "$ROOT/deploy/local/build_jr.sh" ]] && "$ROOT/deploy/local/build_jr.sh"
  # vegeta: the soak's load client (`make soak`).
  [[ -x "$ROOT/deploy/local/build_vegeta.sh" ]] && "$ROOT/deploy/local/build_vegeta.sh"
  # kustomize, Kubernetes JSON schemas, Strimzi/Flink operator CRDs (tests/deploy/k8s, `make k8s-validate`).
  (cd "$ROOT" && "$ROOT/.venv/bin/python" -m deploy.k8s.tools)
  # make's stamp: newer than every input it lists once setup has run (even with nothing to do).
  touch "$ROOT/.venv/.paystream-stamp"
  [[ $DID_SOMETHING -eq 0 ]] || step "done (cache: $CACHE)"
}

main "$@"
