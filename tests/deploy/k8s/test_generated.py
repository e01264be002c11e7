"""The committed generated manifests are exactly what the generator writes now."""

from __future__ import annotations

from pathlib import Path

from deploy.k8s import generate


def test_committed_generated_files_equal_a_fresh_generation() -> None:
    stale = generate.stale_files()
    assert stale == [], f"{stale} drifted: run `python -m deploy.k8s.generate` and commit"


def test_a_changed_generated_file_is_reported(tmp_path: Path) -> None:
    generate.write(tmp_path)
    assert generate.stale_files(tmp_path) == []
    edited = tmp_path / "kafka-topics.yaml"
    edited.write_text(edited.read_text().replace("partitions: 3", "partitions: 4", 1))
    (tmp_path / "extra.yaml").write_text("{}\n")
    assert generate.stale_files(tmp_path) == ["extra.yaml", "kafka-topics.yaml"]


def test_generation_ignores_the_environment(monkeypatch) -> None:
    before = generate.generated_files()
    monkeypatch.setenv("PAYSTREAM_TOPIC_PARTITIONS", "12")
    monkeypatch.setenv("PAYSTREAM_JOB_PARALLELISM", "8")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "elsewhere:9092")
    assert generate.generated_files() == before
