"""The pinned tools and schemas the Kubernetes manifests are rendered and validated with.

`python -m deploy.k8s.tools` (from `make setup`) fetches, once, into the user cache
(`contracts.paths.cache_dir()/k8s`, never the checkout):

- kustomize, built from its Go module (`sigs.k8s.io/kustomize/kustomize/v5`) with the
  project's Go toolchain (deploy/local/go_toolchain.sh), the way build_vegeta.sh builds
  vegeta: `go mod download` of an exact version (the proxy's @v/list is not reachable
  here), then `go build` inside the module, whose go.sum pins every dependency;
- the Kubernetes JSON schemas shipped in the PyPI wheel `kubernetes-validate` (Apache-2.0),
  fetched with pip;
- the operators' CRDs from their Maven Central artefacts: the Flink Kubernetes Operator's
  `flink-kubernetes-operator-api` jar (META-INF/fabric8/*.yml) and Strimzi's `api` tests
  jar (crds/v1/*.yaml, the CRDs Strimzi's build generates and tests its API against).

Every download is checked against its SHA-256 below. `--check` only says what is missing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from contracts.paths import REPO_ROOT, cache_dir

KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
KUSTOMIZE_VERSION = "v5.7.1"
# Where `kustomize version` reads its version from (set at link time, as its release does).
KUSTOMIZE_PROVENANCE = "sigs.k8s.io/kustomize/api/provenance.version"
KUBERNETES_VALIDATE_VERSION = "1.37.0"
KUBERNETES_VALIDATE_SHA256 = "85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9"
# The Kubernetes release the manifests are validated against (strict: unknown fields fail).
KUBERNETES_VERSION = "1.33.0"
MAVEN_CENTRAL = os.environ.get("PAYSTREAM_MAVEN_URL", "https://repo1.maven.org/maven2")


@dataclass(frozen=True)
class CrdJar:
    """A Maven artefact holding an operator's CRDs, and the folder inside it that does."""

    name: str
    group: str
    artifact: str
    version: str
    classifier: str
    sha256: str
    folder: str

    @property
    def url(self) -> str:
        suffix = f"-{self.classifier}" if self.classifier else ""
        path = self.group.replace(".", "/")
        file = f"{self.artifact}-{self.version}{suffix}.jar"
        return f"{MAVEN_CENTRAL}/{path}/{self.artifact}/{self.version}/{file}"


CRD_JARS: tuple[CrdJar, ...] = (
    CrdJar(
        "flink-kubernetes-operator",
        "org.apache.flink",
        "flink-kubernetes-operator-api",
        "1.10.0",
        "",
        "b1f44814e17514fa8395c61b329a3ee9087123a5bda5b21fe1a495d5182c30b6",
        "META-INF/fabric8/",
    ),
    CrdJar(
        "strimzi",
        "io.strimzi",
        "api",
        "0.51.0",
        "tests",
        "b99f69303dc507ca505b74345d93f5260621bb084b8b79447f726e54b6e66a1d",
        "crds/v1/",
    ),
)


def tools_dir() -> Path:
    return cache_dir() / "k8s"


def kustomize_path() -> Path:
    return tools_dir() / "bin" / f"kustomize-{KUSTOMIZE_VERSION}"


def schemas_path() -> Path:
    return (
        tools_dir()
        / f"kubernetes-json-schema-{KUBERNETES_VALIDATE_VERSION}"
        / (f"v{KUBERNETES_VERSION}-local-strict")
    )


def crds_path(jar: CrdJar) -> Path:
    return tools_dir() / "crds" / f"{jar.name}-{jar.version}"


def missing() -> list[str]:
    """What `make setup` has not fetched yet, one line each."""
    gaps = []
    if not os.access(kustomize_path(), os.X_OK):
        gaps.append(f"kustomize {KUSTOMIZE_VERSION} at {kustomize_path()}")
    if not (schemas_path() / "_definitions.json").is_file():
        gaps.append(f"Kubernetes {KUBERNETES_VERSION} JSON schemas at {schemas_path()}")
    for jar in CRD_JARS:
        if not any(crds_path(jar).glob("*.y*ml")):
            gaps.append(f"{jar.name} {jar.version} CRDs at {crds_path(jar)}")
    return gaps


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verified(path: Path, expected: str) -> Path:
    actual = sha256(path)
    if actual != expected:
        raise SystemExit(f"k8s tools: {path.name} has SHA-256 {actual}, expected {expected}")
    return path


def extract(archive: Path, folder: str, target: Path, suffixes: tuple[str, ...]) -> None:
    """Unpacks the files directly under `folder` in `archive` into `target`, atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        with zipfile.ZipFile(archive) as zipped:
            for name in zipped.namelist():
                rest = name[len(folder) :]
                if name.startswith(folder) and rest and "/" not in rest and rest.endswith(suffixes):
                    (staging / rest).write_bytes(zipped.read(name))
        if not any(staging.iterdir()):
            raise SystemExit(f"k8s tools: nothing under {folder} in {archive.name}")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def fetch_crds(jar: CrdJar, downloads: Path) -> None:
    archive = downloads / jar.url.rsplit("/", 1)[1]
    print(f"k8s tools: {jar.url}", file=sys.stderr)
    urllib.request.urlretrieve(jar.url, archive)
    extract(verified(archive, jar.sha256), jar.folder, crds_path(jar), (".yml", ".yaml"))


def fetch_schemas(downloads: Path) -> None:
    requirement = f"kubernetes-validate=={KUBERNETES_VALIDATE_VERSION}"
    print(f"k8s tools: pip download {requirement}", file=sys.stderr)
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"),
            *("-q", "-d", str(downloads), requirement),
        ],
        check=True,
    )
    wheel = next(downloads.glob("kubernetes_validate-*.whl"))
    folder = f"kubernetes_validate/kubernetes-json-schema/{schemas_path().name}/"
    extract(verified(wheel, KUBERNETES_VALIDATE_SHA256), folder, schemas_path(), (".json",))


def build_kustomize() -> None:
    go = subprocess.run(
        [str(REPO_ROOT / "deploy" / "local" / "go_toolchain.sh")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # As build_vegeta.sh: the toolchain at hand, no VCS stamping of the build.
    env = {
        **os.environ,
        "GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN", "local"),
        "GOFLAGS": os.environ.get("GOFLAGS", "-buildvcs=false"),
    }
    module = f"{KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}"
    print(f"k8s tools: go mod download {module}, go build", file=sys.stderr)
    downloaded = subprocess.run(
        [go, "mod", "download", "-json", module],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    source = json.loads(downloaded.stdout)["Dir"]
    target = kustomize_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.tmp")
    subprocess.run(
        [
            go,
            "build",
            "-trimpath",
            "-ldflags",
            f"-X {KUSTOMIZE_PROVENANCE}={KUSTOMIZE_VERSION}",
            "-o",
            str(staging),
            ".",
        ],
        cwd=source,
        check=True,
        env=env,
    )
    staging.rename(target)


def fetch() -> None:
    with tempfile.TemporaryDirectory(prefix="paystream-k8s-") as tmp:
        downloads = Path(tmp)
        if not (schemas_path() / "_definitions.json").is_file():
            fetch_schemas(downloads)
        for jar in CRD_JARS:
            if not any(crds_path(jar).glob("*.y*ml")):
                fetch_crds(jar, downloads)
    if not os.access(kustomize_path(), os.X_OK):
        build_kustomize()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch the pinned Kubernetes tools.")
    parser.add_argument("--check", action="store_true", help="only list what is missing")
    args = parser.parse_args(argv)
    if not args.check:
        fetch()
    gaps = missing()
    for gap in gaps:
        print(f"missing: {gap}", file=sys.stderr)
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main())
