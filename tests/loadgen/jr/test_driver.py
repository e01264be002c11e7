"""Unit tests of the load generator's pieces: rates, commands, config, parsing."""

from __future__ import annotations

import itertools
import json
import math
import socket
import stat
from types import SimpleNamespace

import pytest

from contracts.topics import EVENT_ID_FIELDS, RAW_EVENT_TOPICS
from loadgen.jr import driver
from loadgen.jr.driver import (
    DEFAULT_RATES,
    LoadError,
    PassSchedule,
    check_ready,
    generated_objects,
    jr_command,
    kafka_properties,
    memory_warning,
    parse_types,
    pass_schedule,
    plan,
    progress_line,
    template_text,
    write_jr_config,
)
from loadgen.jr.settings import LoadSettings
from streaming.settings import KafkaSettings


@pytest.mark.parametrize(
    ("rate", "per_pass", "interval_us"),
    [
        (2.0, 1, 500_000),
        (0.5, 1, 2_000_000),
        (0.2, 1, 5_000_000),
        (0.33, 1, 3_030_303),
        (5.0, 1, 200_000),
        (7.0, 2, 285_714),
        (1000.0, 200, 200_000),
    ],
)
def test_a_rate_becomes_messages_per_pass_and_an_interval(rate, per_pass, interval_us):
    assert pass_schedule(rate) == PassSchedule(per_pass=per_pass, interval_us=interval_us)


@pytest.mark.parametrize("rate", [0.01, 0.33, 1.7, 3.3, 42.0, 999.9, 25_000.0])
def test_schedules_keep_the_rate_and_the_minimum_interval(rate):
    schedule = pass_schedule(rate, min_interval_seconds=0.2)
    assert schedule.rate == pytest.approx(rate, rel=1e-5)
    assert schedule.interval_seconds >= 0.2 - 1e-6
    # No more messages per pass than the minimum interval needs.
    assert schedule.per_pass == 1 or (schedule.per_pass - 1) / rate < 0.2


@pytest.mark.parametrize("rate", [0.0, -1.0, math.nan, math.inf])
def test_a_rate_must_be_positive_and_finite(rate):
    with pytest.raises(ValueError):
        pass_schedule(rate)


def test_jr_makes_one_pass_per_interval_after_the_first_interval():
    assert pass_schedule(2.0).messages_in(60) == 120
    assert pass_schedule(0.33).messages_in(60) == 19
    assert pass_schedule(0.2).messages_in(4) == 0
    assert pass_schedule(1000.0).messages_in(1) == 1000


def test_the_multiplier_scales_every_default_rate():
    loads = plan(["charges", "refunds", "disputes", "subscriptions"], rate_scale=3)
    assert [(lo.event_type, lo.topic) for lo in loads] == list(RAW_EVENT_TOPICS.items())
    for lo in loads:
        assert lo.schedule.rate == pytest.approx(DEFAULT_RATES[lo.event_type] * 3, rel=1e-5)
    with pytest.raises(ValueError):
        plan(["charges"], rate_scale=0)


def test_defaults_match_the_brief_and_cover_every_raw_topic():
    assert DEFAULT_RATES == {"charges": 2.0, "refunds": 0.5, "disputes": 0.2, "subscriptions": 0.33}
    assert set(DEFAULT_RATES) == set(RAW_EVENT_TOPICS) == set(EVENT_ID_FIELDS)


def test_long_fast_runs_warn_about_jr_memory():
    loads = plan(list(DEFAULT_RATES), rate_scale=1)
    assert memory_warning(loads, 3600) is None
    warning = memory_warning(plan(list(DEFAULT_RATES), rate_scale=1000), 3600)
    assert warning is not None and "GiB" in warning


def test_types_are_checked_and_deduplicated():
    assert parse_types("charges, refunds,charges") == ("charges", "refunds")
    with pytest.raises(ValueError, match="choose from charges,refunds,disputes,subscriptions"):
        parse_types("charges,payouts")
    with pytest.raises(ValueError):
        parse_types(" , ")


def test_kafka_command_produces_to_the_topic_without_creating_it(tmp_path):
    config = tmp_path / "kafka.properties"
    command = jr_command(
        tmp_path / "jr",
        "{{uuid}}",
        per_pass=3,
        frequency="500000us",
        duration_seconds=60,
        topic="payment_charges",
        kafka_config=config,
        seed=7,
    )
    assert command[:4] == [str(tmp_path / "jr"), "run", "--embedded", "{{uuid}}"]
    pairs = dict(itertools.pairwise(command))
    assert pairs["-n"] == "3"
    assert pairs["-f"] == "500000us"
    assert pairs["-d"] == "60000ms"
    assert pairs["-o"] == "kafka"
    assert pairs["-F"] == str(config)
    assert pairs["-t"] == "payment_charges"
    assert pairs["--seed"] == "7"
    assert "--oneline" in command
    assert not {"-a", "--autocreate", "-k", "--key"} & set(command)


def test_stdout_command_is_one_pass_without_kafka(tmp_path):
    command = jr_command(tmp_path / "jr", "x", per_pass=2000, seed=1)
    assert "-o" not in command and "-f" not in command and "-d" not in command
    assert command[command.index("-n") + 1] == "2000"
    with pytest.raises(ValueError):
        jr_command(tmp_path / "jr", "x", per_pass=1, topic="payment_charges")


def test_producer_config_is_durable_and_idempotent():
    lines = kafka_properties("127.0.0.1:19092").splitlines()
    assert "bootstrap.servers=127.0.0.1:19092" in lines
    assert "acks=all" in lines
    assert "enable.idempotence=true" in lines


def test_jr_config_files_are_written_to_the_conf_dir(tmp_path):
    settings = LoadSettings(conf_dir=tmp_path / "conf" / "jr")
    path = write_jr_config(settings, "127.0.0.1:9092")
    assert path == tmp_path / "conf" / "jr" / "kafka.properties"
    assert "acks=all" in path.read_text()
    jr_config = json.loads((tmp_path / "conf" / "jr" / "jrconfig.json").read_text())
    assert jr_config["global"]["autoCreate"] is False


def test_every_event_type_has_a_template_after_the_shared_one():
    templates = LoadSettings().templates_dir
    common = (templates / "_common.tpl").read_text()
    for event_type in DEFAULT_RATES:
        text = template_text(event_type, templates)
        assert text.startswith(common)
        assert text.endswith((templates / f"{event_type}.tpl").read_text())
        # The template keys its message by the event's id.
        assert f'{{{{template "key" "{EVENT_ID_FIELDS[event_type]}"}}}}' in text
        assert '{{set_v "KEY" $id}}' in text


def test_jr_statistics_are_read_from_its_output():
    output = "Elapsed time: 13s\nData Generated (Objects): 48\nData Generated (bytes): 16074\n"
    assert generated_objects(output) == 48
    assert generated_objects("fatal error") is None


def test_progress_line_shows_each_topic_and_the_rate():
    line = progress_line(10.0, 60.0, {"payment_charges": 20, "payment_refunds": 5})
    assert line.startswith("load:   10s/60s")
    assert "payment_charges 20 (2.0/s)" in line
    assert "payment_refunds 5 (0.5/s)" in line
    assert line.endswith("total 25 (2.5/s)")
    assert progress_line(61.0, 60.0, {"t": 0}, done=True).startswith("load: done in 61s")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def fake_jr(tmp_path):
    jr = tmp_path / "jr"
    jr.write_text("#!/bin/sh\nexit 0\n")
    jr.chmod(jr.stat().st_mode | stat.S_IXUSR)
    return jr


def test_unreachable_kafka_is_reported_with_what_to_do(fake_jr):
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{_closed_port()}")
    with pytest.raises(LoadError, match=r"not reachable.*make up"):
        check_ready(LoadSettings(jr_bin=fake_jr), kafka, ["payment_charges"])


def test_missing_jr_is_reported_with_what_to_do(tmp_path):
    with pytest.raises(LoadError, match="make setup"):
        check_ready(LoadSettings(jr_bin=tmp_path / "no-jr"), KafkaSettings(), ["payment_charges"])


def test_cli_exits_non_zero_with_the_reason(fake_jr, monkeypatch, capsys):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("PAYSTREAM_LOAD_JR_BIN", str(fake_jr))
    assert driver.main(["--duration", "5s", "--types", "charges"]) == 1
    assert "make up" in capsys.readouterr().err


class _RestartingBroker:
    """A consumer whose broker answers `failures` metadata requests with a transport error
    (it is restarting), then has one partition with 5 messages."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def list_topics(self, topic, timeout):
        self.calls += 1
        if self.calls <= self.failures:
            raise driver.KafkaException(driver.KafkaError(driver.KafkaError._TRANSPORT))
        partitions = {0: object()}
        return SimpleNamespace(topics={topic: SimpleNamespace(error=None, partitions=partitions)})

    def get_watermark_offsets(self, partition, timeout, cached):
        return (0, 5)


def test_the_count_waits_for_a_restarting_broker(monkeypatch):
    monkeypatch.setattr(driver.time, "sleep", lambda seconds: None)
    broker = _RestartingBroker(failures=3)
    assert driver.partition_high_watermarks(broker, "payment_charges", 30.0) == {0: 5}
    assert broker.calls == 4


def test_a_progress_line_while_the_broker_is_down_says_so_and_does_not_end_the_load():
    broker = _RestartingBroker(failures=1)

    def landed():
        return driver.high_watermarks(broker, ["payment_charges"], 0.0)

    line = driver._progress(12.0, 60.0, landed)
    assert line.startswith("load:   12s/60s")
    assert "Kafka not answering" in line and "Broker transport failure" in line
    assert "payment_charges 5" in driver._progress(14.0, 60.0, landed)
