"""Every overlay renders with the pinned kustomize and validates against the pinned
Kubernetes schemas and operator CRDs (`make setup` fetches them; nothing here is skipped)."""

from __future__ import annotations

import copy

import pytest

from deploy.k8s import validate

Manifest = validate.Manifest


@pytest.fixture(scope="module", params=validate.OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[Manifest]]:
    return request.param, validate.render(request.param)


def kinds(objects: list[Manifest]) -> set[str]:
    return {obj["kind"] for obj in objects}


def named(objects: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} objects"
    return matches[0]


def test_every_object_of_the_overlay_validates(rendered: tuple[str, list[Manifest]]) -> None:
    overlay, objects = rendered
    assert validate.validate(objects) == [], overlay


def test_the_overlay_holds_every_component(rendered: tuple[str, list[Manifest]]) -> None:
    _, objects = rendered
    assert {
        "Kafka",
        "KafkaNodePool",
        "KafkaTopic",
        "FlinkDeployment",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    } <= kinds(objects)
    for service in ("gateway", "inference", "worker", "bridge", "polaris"):
        named(objects, "Deployment", service)


def test_the_secret_templates_validate_and_hold_no_values() -> None:
    secrets = validate.load(validate.SECRET_TEMPLATES)
    assert validate.validate(secrets) == []
    for secret in secrets:
        assert set(secret["stringData"].values()) == {""}, secret["metadata"]["name"]


def test_an_unknown_field_in_a_built_in_kind_fails(rendered: tuple[str, list[Manifest]]) -> None:
    _, objects = rendered
    deployment = copy.deepcopy(named(objects, "Deployment", "gateway"))
    deployment["spec"]["replicaz"] = 3
    assert any("replicaz" in problem for problem in validate.validate([deployment]))


def test_a_wrong_value_in_a_custom_resource_fails(rendered: tuple[str, list[Manifest]]) -> None:
    _, objects = rendered
    job = copy.deepcopy(next(o for o in objects if o["kind"] == "FlinkDeployment"))
    job["spec"]["job"]["upgradeMode"] = "sometimes"
    topic = copy.deepcopy(next(o for o in objects if o["kind"] == "KafkaTopic"))
    topic["spec"]["partitionz"] = 3
    problems = validate.validate([job, topic])
    assert any("sometimes" in problem for problem in problems), problems
    assert any("partitionz" in problem for problem in problems), problems


def test_a_kind_no_schema_defines_fails() -> None:
    unknown = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "x"}}
    assert validate.validate([unknown]) != []


def test_prod_runs_three_of_what_serves_traffic() -> None:
    objects = validate.render("prod")
    for service in ("gateway", "inference", "worker", "bridge", "polaris"):
        assert named(objects, "Deployment", service)["spec"]["replicas"] >= 3, service
    for hpa in (o for o in objects if o["kind"] == "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] >= 3, hpa["metadata"]["name"]
    assert named(objects, "KafkaNodePool", "dual-role")["spec"]["replicas"] >= 3
    for topic in (o for o in objects if o["kind"] == "KafkaTopic"):
        assert topic["spec"]["replicas"] >= 3, topic["spec"]["topicName"]
    for job in (o for o in objects if o["kind"] == "FlinkDeployment"):
        assert job["spec"]["jobManager"]["replicas"] >= 2, job["metadata"]["name"]


def test_dev_fits_one_kafka_node() -> None:
    objects = validate.render("dev")
    assert named(objects, "KafkaNodePool", "dual-role")["spec"]["replicas"] == 1
    for topic in (o for o in objects if o["kind"] == "KafkaTopic"):
        assert topic["spec"]["replicas"] == 1
        assert topic["spec"]["config"]["min.insync.replicas"] == 1


def test_a_missing_tool_fails_with_the_setup_hint(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PAYSTREAM_CACHE", str(tmp_path))
    with pytest.raises(validate.ToolsMissing, match="run `make setup`"):
        validate.render("dev")


def test_a_custom_resources_metadata_is_checked_as_object_meta(
    rendered: tuple[str, list[Manifest]],
) -> None:
    _, objects = rendered
    topic = copy.deepcopy(next(o for o in objects if o["kind"] == "KafkaTopic"))
    topic["metadata"]["labels"]["replicas"] = 3
    assert any("metadata/labels/replicas" in p for p in validate.validate([topic]))
