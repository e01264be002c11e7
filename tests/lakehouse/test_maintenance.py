"""Table maintenance: statements and settings here, compaction on the real Trino below."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from lakehouse.flink_commits import Protection
from lakehouse.maintenance import (
    PROTECTION_MARGIN_SECONDS,
    MaintenanceSettings,
    TableMaintenance,
    compact,
    describe,
    duration_seconds,
    expire_snapshots_statement,
    expiry_retention,
    main,
    optimize_statement,
    quote,
    remove_orphan_files_statement,
)


def test_defaults_keep_a_day_of_snapshots_and_a_week_of_orphans():
    settings = MaintenanceSettings()
    assert (
        settings.file_size_threshold,
        settings.snapshot_retention,
        settings.orphan_file_retention,
    ) == ("100MB", "1d", "7d")


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_MAINTENANCE_SNAPSHOT_RETENTION", "12h")
    assert MaintenanceSettings().snapshot_retention == "12h"


@pytest.mark.parametrize(
    "field, value",
    [
        ("snapshot_retention", "7 days"),
        ("orphan_file_retention", "7d'); DROP TABLE x; --"),
        ("file_size_threshold", "100"),
    ],
)
def test_only_trino_literals_are_accepted(field, value):
    with pytest.raises(ValidationError):
        MaintenanceSettings(**{field: value})


def test_statements_carry_the_settings():
    table = f"{quote('lakehouse')}.{quote('payments_db')}.{quote('payment_charges')}"
    settings = MaintenanceSettings(file_size_threshold="64MB", orphan_file_retention="8d")
    assert optimize_statement(table, settings) == (
        'ALTER TABLE "lakehouse"."payments_db"."payment_charges" '
        "EXECUTE optimize(file_size_threshold => '64MB')"
    )
    # The retention is the one expiry_retention chose (the configured one or longer).
    assert expire_snapshots_statement(table, "7500s") == (
        'ALTER TABLE "lakehouse"."payments_db"."payment_charges" '
        "EXECUTE expire_snapshots(retention_threshold => '7500s')"
    )
    assert remove_orphan_files_statement(table, settings) == (
        'ALTER TABLE "lakehouse"."payments_db"."payment_charges" '
        "EXECUTE remove_orphan_files(retention_threshold => '8d')"
    )


@pytest.mark.parametrize(
    "literal, seconds",
    [("0s", 0), ("1500ms", 1.5), ("2.5m", 150), ("12h", 43200), ("7d", 604800)],
)
def test_durations_are_read_as_trino_reads_them(literal, seconds):
    assert duration_seconds(literal) == pytest.approx(seconds)


NOW_MS = 1_800_000_000_000
TWO_HOURS_AGO = Protection(since_ms=NOW_MS - 7_200_000, job_id="a1" * 16)


def test_expiry_keeps_everything_a_restore_point_needs_and_a_margin():
    # The 0 s local floor would expire the commit the savepoint's committer looks for.
    assert expiry_retention("0s", TWO_HOURS_AGO, NOW_MS) == f"{7200 + PROTECTION_MARGIN_SECONDS}s"


def test_a_longer_configured_retention_is_kept_as_it_is():
    assert expiry_retention("1d", TWO_HOURS_AGO, NOW_MS) == "1d"


def test_without_a_needed_snapshot_the_configured_retention_applies():
    assert expiry_retention("0s", None, NOW_MS) == "0s"


def test_the_report_says_which_job_held_history_back():
    result = TableMaintenance(
        "payment_charges",
        files_before=40,
        files_after=2,
        snapshots_before=30,
        snapshots_after=9,
        seconds=1.2,
        protected_retention="7500s",
        protected_for_job="a1" * 16,
    )
    assert describe(result).endswith(
        f"(kept 7500s of history for Flink job {'a1' * 16}'s restore point)"
    )


def test_identifiers_are_quoted():
    assert quote('odd"name') == '"odd""name"'


def test_cli_rejects_a_malformed_retention(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--snapshot-retention", "a week"])
    assert exit_info.value.code == 2
    assert "Trino duration" in capsys.readouterr().err


@pytest.mark.integration
def test_compaction_merges_small_files_and_keeps_every_row(
    namespace, trino_rows, catalog, lakehouse_settings
):
    table = f"{namespace}.small_files"
    trino_rows(f"CREATE TABLE {table} (id BIGINT, amount DECIMAL(18, 4))")
    for batch in range(8):
        values = ", ".join(f"({batch * 10 + n}, {batch}.{n}5)" for n in range(10))
        trino_rows(f"INSERT INTO {table} VALUES {values}")
    rows_before = trino_rows(f"SELECT id, amount FROM {table} ORDER BY id")
    [(files_before,)] = trino_rows(f'SELECT count(*) FROM {namespace}."small_files$files"')
    assert files_before == 8

    # A file no snapshot references, older than the orphan retention (a failed write's).
    location = catalog.load_table(table).location().removeprefix("file://")
    orphan = Path(location) / "data" / "orphan-from-a-failed-write.parquet"
    orphan.write_bytes(b"not referenced")
    ten_days_ago = time.time() - 10 * 86400
    os.utime(orphan, (ten_days_ago, ten_days_ago))

    # The local catalog allows a 0s snapshot retention (deploy/local trino-lakehouse.properties).
    report = compact(
        namespace,
        settings=MaintenanceSettings(snapshot_retention="0s"),
        lakehouse=lakehouse_settings,
    )

    assert report.failed == ()
    [result] = report.tables
    assert result.table == "small_files"
    assert (result.files_before, result.files_after) == (8, 1)
    # Trino's CREATE TABLE commits an empty snapshot, then one per INSERT; 0s keeps the newest.
    assert (result.snapshots_before, result.snapshots_after) == (9, 1)
    assert trino_rows(f"SELECT id, amount FROM {table} ORDER BY id") == rows_before
    assert not orphan.exists()
    [(data_file,)] = trino_rows(f'SELECT file_path FROM {namespace}."small_files$files"')
    assert Path(data_file.removeprefix("file:")).is_file()


@pytest.mark.integration
def test_a_table_that_fails_is_reported_and_the_others_still_run(
    namespace, trino_rows, lakehouse_settings
):
    trino_rows(f"CREATE TABLE {namespace}.fine (id BIGINT)")
    for n in range(3):
        trino_rows(f"INSERT INTO {namespace}.fine VALUES ({n})")

    report = compact(namespace, ["missing", "fine"], lakehouse=lakehouse_settings)

    missing, fine = report.tables
    assert missing.error is not None and "TABLE_NOT_FOUND" in missing.error
    assert missing.files_after is None
    assert fine.error is None and (fine.files_before, fine.files_after) == (3, 1)
    assert report.failed == (missing,)
