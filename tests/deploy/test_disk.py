"""The run folder's disk use as `make status` reports it."""

from __future__ import annotations

from pathlib import Path

from deploy.local.disk import disk_summary, human, usage_by_folder, used_bytes


def test_sizes_are_counted_per_folder_largest_first(tmp_path: Path):
    (tmp_path / "warehouse" / "t").mkdir(parents=True)
    (tmp_path / "warehouse" / "t" / "data.parquet").write_bytes(b"x" * 200_000)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "kafka.log").write_bytes(b"x" * 10_000)
    (tmp_path / "supervisord.pid").write_text("1")

    folders = usage_by_folder(tmp_path)

    assert [name for name, _ in folders] == ["warehouse", "logs"]
    warehouse = dict(folders)["warehouse"]
    assert 200_000 <= warehouse == used_bytes(tmp_path / "warehouse") < 300_000
    assert disk_summary(tmp_path).startswith(human(sum(size for _, size in folders)))
    assert "warehouse" in disk_summary(tmp_path)


def test_a_missing_run_folder_uses_nothing(tmp_path: Path):
    assert usage_by_folder(tmp_path / "absent") == []
    assert disk_summary(tmp_path / "absent") == "0 B"


def test_sizes_read_as_a_person_would():
    assert human(512) == "512 B"
    assert human(1536) == "1.5 KiB"
    assert human(3 * 1024**3) == "3.0 GiB"
