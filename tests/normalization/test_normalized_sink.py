"""The `payments.normalized` sink as rendered: exactly-once by default, with transactions
named per job and a timeout between the checkpoint interval and the broker's maximum."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from normalization.flink_sql import kafka_sink
from normalization.settings import NormalizationSettings, flink_duration

KAFKA_DEFAULT_MAX_TRANSACTION_TIMEOUT = timedelta(minutes=15)


def test_the_topic_is_written_exactly_once_by_default():
    sql = kafka_sink(NormalizationSettings(job_name="payments-normalization"))
    assert "'sink.delivery-guarantee' = 'exactly-once'" in sql
    assert "'sink.transactional-id-prefix' = 'payments-normalization.normalized'" in sql


def test_the_transaction_timeout_fits_a_default_broker_and_outlasts_a_checkpoint():
    settings = NormalizationSettings()
    timeout = settings.normalized_transaction_timeout
    assert flink_duration(settings.checkpoint_interval) < timeout
    assert timeout <= KAFKA_DEFAULT_MAX_TRANSACTION_TIMEOUT
    expected_ms = int(timeout.total_seconds() * 1000)
    assert f"'properties.transaction.timeout.ms' = '{expected_ms}'" in kafka_sink(settings)


def test_each_job_has_its_own_transactional_ids():
    one = NormalizationSettings(job_name="it-normalization-a").transactional_id_prefix
    other = NormalizationSettings(job_name="it-normalization-b").transactional_id_prefix
    assert one != other


def test_a_timeout_shorter_than_a_checkpoint_is_refused():
    with pytest.raises(ValidationError, match="longer than the checkpoint interval"):
        NormalizationSettings(
            checkpoint_interval="10 min", normalized_transaction_timeout=timedelta(minutes=5)
        )


def test_at_least_once_has_no_transactions():
    sql = kafka_sink(NormalizationSettings(normalized_delivery_guarantee="at-least-once"))
    assert "'sink.delivery-guarantee' = 'at-least-once'" in sql
    assert "transactional-id-prefix" not in sql and "transaction.timeout.ms" not in sql


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5s", timedelta(seconds=5)),
        ("2 s", timedelta(seconds=2)),
        ("500ms", timedelta(milliseconds=500)),
        ("1min", timedelta(minutes=1)),
        ("1500", timedelta(milliseconds=1500)),
        ("1h", timedelta(hours=1)),
    ],
)
def test_flink_durations(text: str, expected: timedelta):
    assert flink_duration(text) == expected


def test_a_checkpoint_interval_that_is_not_a_duration_is_refused():
    with pytest.raises(ValidationError, match="not a Flink duration"):
        NormalizationSettings(checkpoint_interval="often")
