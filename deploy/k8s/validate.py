"""Renders the overlays with kustomize and validates every object, offline.

Built-in kinds are validated against the Kubernetes JSON schemas (strict: an unknown field
fails), custom resources against the `openAPIV3Schema` of their operator's CRD, made strict
the same way. The tools and schemas are the pinned ones of `deploy.k8s.tools`.

`python -m deploy.k8s.validate` checks every overlay and the secret templates.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource

from deploy.k8s import tools

K8S_DIR = Path(__file__).resolve().parent
OVERLAYS = ("dev", "prod")
SECRET_TEMPLATES = K8S_DIR / "secrets.template.yaml"

Manifest = dict[str, Any]
CRD_API_VERSION = "apiextensions.k8s.io/v1"
# A schema in the style of the Kubernetes schemas' own files, for a custom resource's metadata.
OBJECT_META_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://kubernetes.io/api/objectmeta",
    "$ref": "/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
}
ENVELOPE = {
    "apiVersion": {"type": "string"},
    "kind": {"type": "string"},
    # Checked against the Kubernetes ObjectMeta schema (object_meta_errors).
    "metadata": {"type": "object"},
}


class ToolsMissing(RuntimeError):
    """A pinned tool or schema is not in the cache."""


def require_tools() -> None:
    gaps = tools.missing()
    if gaps:
        raise ToolsMissing("not fetched: " + "; ".join(gaps) + ": run `make setup`")


def render(overlay: str) -> list[Manifest]:
    """Every object `kustomize build overlays/<overlay>` produces."""
    require_tools()
    built = subprocess.run(
        [str(tools.kustomize_path()), "build", str(K8S_DIR / "overlays" / overlay)],
        check=True,
        capture_output=True,
        text=True,
    )
    return [obj for obj in yaml.safe_load_all(built.stdout) if obj]


def load(path: Path) -> list[Manifest]:
    return [obj for obj in yaml.safe_load_all(path.read_text()) if obj]


def strict(schema: Any) -> Any:
    """The schema with `additionalProperties: false` wherever it lists properties and says
    nothing about others (the API server prunes unknown fields of custom resources silently;
    a typo would vanish instead of failing)."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@cache
def crd_schemas() -> dict[tuple[str, str], Manifest]:
    """(apiVersion, kind) -> the strict schema of every version the pinned CRDs serve."""
    schemas: dict[tuple[str, str], Manifest] = {}
    for jar in tools.CRD_JARS:
        for path in sorted(tools.crds_path(jar).glob("*.y*ml")):
            for crd in load(path):
                # apiextensions v1beta1 CRDs are not served since Kubernetes 1.22.
                if crd.get("apiVersion") != CRD_API_VERSION:
                    continue
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    # apiextensions v1 puts the schema in each version, v1beta1 once.
                    source = version.get("schema") or crd["spec"].get("validation")
                    if version.get("served") and source:
                        schema = strict(source["openAPIV3Schema"])
                        # Every object's envelope is the API server's, not the CRD's.
                        schema.setdefault("properties", {}).update(ENVELOPE)
                        schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


@cache
def kubernetes_registry() -> Registry:
    definitions = json.loads((tools.schemas_path() / "_definitions.json").read_text())
    return Resource.from_contents(definitions) @ Registry()


def kubernetes_schema(obj: Manifest) -> Manifest:
    api_version, kind = obj["apiVersion"], obj["kind"]
    # kubernetes-validate's file names: rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1.
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = tools.schemas_path() / f"{kind.lower()}-{group_version}.json"
    if not path.is_file():
        raise LookupError(
            f"no Kubernetes {tools.KUBERNETES_VERSION} schema for {api_version} {kind}"
        )
    return json.loads(path.read_text())


def errors(obj: Manifest) -> Iterator[str]:
    """What is wrong with one object; nothing when it validates."""
    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    label = f"{key[1]}/{obj.get('metadata', {}).get('name')}"
    crd = crd_schemas().get(key)
    if crd is not None:
        validator: Any = jsonschema.Draft7Validator(crd)
        meta = jsonschema.Draft202012Validator(OBJECT_META_SCHEMA, registry=kubernetes_registry())
        for error in meta.iter_errors(obj.get("metadata", {})):
            where = "/".join(str(part) for part in error.absolute_path)
            yield f"{label}: metadata/{where}: {error.message}"
    else:
        try:
            schema = kubernetes_schema(obj)
        except LookupError as exc:
            yield f"{label}: {exc} (and no pinned CRD defines it)"
            return
        validator = jsonschema.Draft202012Validator(schema, registry=kubernetes_registry())
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(part) for part in error.absolute_path)
        yield f"{label}: {where}: {error.message}"


def validate(objects: list[Manifest]) -> list[str]:
    require_tools()
    return [problem for obj in objects for problem in errors(obj)]


def main() -> int:
    failed = False
    for overlay in OVERLAYS:
        objects = render(overlay)
        problems = validate(objects)
        failed |= bool(problems)
        print(f"overlays/{overlay}: {len(objects)} objects, {len(problems)} problems")
        for problem in problems:
            print(f"  {problem}")
    problems = validate(load(SECRET_TEMPLATES))
    failed |= bool(problems)
    print(f"{SECRET_TEMPLATES.name}: {len(problems)} problems")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
