"""Generated load: one JR process per event type, producing to its raw topic (contract §2).

    python -m loadgen.jr [--rate 1] [--duration 60s] [--types charges,refunds,...]

Each event type has a default rate (messages per second); `--rate` multiplies all of them.
JR expresses a rate as `-n` messages per pass, one pass every `-f`: `pass_schedule` turns
a rate into that. The messages are the templates in jr_templates/ (see its README), keyed
by the event's id. While JR runs, a progress line shows what has landed in each topic,
measured by the topics' high watermarks.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from contracts.events import CHARGES, DISPUTES, REFUNDS, SUBSCRIPTIONS
from contracts.topics import RAW_EVENT_TOPICS
from loadgen.durations import duration_argument
from loadgen.jr.settings import LoadSettings
from streaming.settings import KafkaSettings
from streaming.topics import KafkaUnavailable, admin_client, existing_topics

# Messages per second of each event type at --rate 1. The templates' charge references
# assume these ratios (see "pick_charge" in jr_templates/_common.tpl).
DEFAULT_RATES: dict[str, float] = {
    CHARGES.name: 2.0,
    REFUNDS.name: 0.5,
    DISPUTES.name: 0.2,
    SUBSCRIPTIONS.name: 0.33,
}
EVENT_TYPES: tuple[str, ...] = tuple(DEFAULT_RATES)
COMMON_TEMPLATE = "_common.tpl"
# JR waits up to 15 s for Kafka to acknowledge what it produced before it exits.
JR_FLUSH_SECONDS = 15.0
# How long JR's producer retries a message before it gives up on it.
MESSAGE_TIMEOUT_MS = 180_000
# How long the final count waits for a broker that is restarting.
FINAL_COUNT_SETTLE_SECONDS = 90.0
# JR 0.4.0 starts a goroutine per message it produces to Kafka that never ends (its
# kafka producer's Produce runs `go listenToEventsFrom(...)`): measured, ~4 KiB each.
JR_BYTES_PER_MESSAGE = 4096
JR_MEMORY_WARNING_BYTES = 2 * 1024**3


class LoadError(Exception):
    """The load cannot start or did not complete; the message says what to do."""


@dataclass(frozen=True)
class PassSchedule:
    """`per_pass` messages every `interval_us` microseconds."""

    per_pass: int
    interval_us: int

    @property
    def interval_seconds(self) -> float:
        return self.interval_us / 1_000_000

    @property
    def rate(self) -> float:
        return self.per_pass / self.interval_seconds

    @property
    def jr_frequency(self) -> str:
        return f"{self.interval_us}us"

    def messages_in(self, duration_seconds: float) -> int:
        """What JR makes in a run: its first pass comes one interval after it starts."""
        return self.per_pass * math.floor(duration_seconds / self.interval_seconds + 1e-9)


def pass_schedule(rate: float, min_interval_seconds: float = 0.2) -> PassSchedule:
    """The fewest messages per pass that keep passes at least `min_interval_seconds` apart,
    and the interval that makes them `rate` per second."""
    if not rate > 0 or math.isinf(rate):
        raise ValueError(f"a rate must be a positive number of messages per second, not {rate}")
    per_pass = max(1, math.ceil(rate * min_interval_seconds - 1e-9))
    return PassSchedule(per_pass=per_pass, interval_us=max(1, round(per_pass / rate * 1e6)))


@dataclass(frozen=True)
class EventLoad:
    event_type: str
    topic: str
    schedule: PassSchedule


def plan(
    event_types: Sequence[str], rate_scale: float, min_interval_seconds: float = 0.2
) -> list[EventLoad]:
    if not rate_scale > 0:
        raise ValueError(f"the rate multiplier must be positive, not {rate_scale}")
    return [
        EventLoad(
            event_type=event_type,
            topic=RAW_EVENT_TOPICS[event_type],
            schedule=pass_schedule(DEFAULT_RATES[event_type] * rate_scale, min_interval_seconds),
        )
        for event_type in event_types
    ]


def parse_types(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in DEFAULT_RATES]
    if unknown or not names:
        raise ValueError(
            f"unknown event types {unknown or text!r}: choose from {','.join(EVENT_TYPES)}"
        )
    return names


def template_text(event_type: str, templates_dir: Path) -> str:
    """The full JR template of an event type: the shared definitions, then its own file."""
    return (templates_dir / COMMON_TEMPLATE).read_text() + (
        templates_dir / f"{event_type}.tpl"
    ).read_text()


def kafka_properties(bootstrap_servers: str) -> str:
    """librdkafka settings for JR's producer: nothing is lost or duplicated on retries."""
    return "\n".join(
        [
            f"bootstrap.servers={bootstrap_servers}",
            "client.id=paystream-jr",
            "acks=all",
            "enable.idempotence=true",
            "linger.ms=20",
            # Long enough to ride out a broker restart (the chaos soak kills it): a
            # message is retried, idempotently, until the broker is back.
            f"message.timeout.ms={MESSAGE_TIMEOUT_MS}",
            "",
        ]
    )


# JR reads a jrconfig.json from its working directory (else from $PATH and its system
# dir); JR runs in the conf dir so that this one, and no stray file, is the one it reads.
JR_CONFIG = '{"global": {"autoCreate": false, "schemaRegistry": false}, "emitters": {}}\n'


def write_jr_config(settings: LoadSettings, bootstrap_servers: str) -> Path:
    """Writes JR's config files to the conf dir; returns the librdkafka one."""
    settings.conf_dir.mkdir(parents=True, exist_ok=True)
    (settings.conf_dir / "jrconfig.json").write_text(JR_CONFIG)
    path = settings.conf_dir / "kafka.properties"
    path.write_text(kafka_properties(bootstrap_servers))
    return path


def jr_command(
    jr_bin: Path,
    template: str,
    *,
    per_pass: int,
    frequency: str | None = None,
    duration_seconds: float | None = None,
    topic: str | None = None,
    kafka_config: Path | None = None,
    seed: int | None = None,
) -> list[str]:
    """`jr run` for an embedded template: to Kafka when `topic` and `kafka_config` are
    given, else to stdout (one message a line). Without `frequency`, one pass."""
    command = [str(jr_bin), "run", "--embedded", template, "--oneline", "-n", str(per_pass)]
    if frequency is not None:
        command += ["-f", frequency]
        if duration_seconds is not None:
            command += ["-d", f"{round(duration_seconds * 1000)}ms"]
    if seed is not None:
        command += ["--seed", str(seed)]
    if topic is not None:
        if kafka_config is None:
            raise ValueError("producing to Kafka needs a librdkafka config file")
        # The key is the event's id: the templates set JR's KEY context value to it.
        command += ["-o", "kafka", "-F", str(kafka_config), "-t", topic, "--log_level", "error"]
    return command


def jr_environment(settings: LoadSettings) -> dict[str, str]:
    # TZ=UTC: JR formats timestamps in the process's time zone, the templates mean UTC.
    return {**os.environ, "TZ": "UTC", "JR_SYSTEM_DIR": str(settings.jr_system_dir)}


def generated_objects(jr_output: str) -> int | None:
    """What JR says it generated, from the statistics it prints when it exits."""
    match = re.search(r"Data Generated \(Objects\): (\d+)", jr_output)
    return int(match[1]) if match else None


def watermark_consumer(bootstrap_servers: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": "paystream-load-watermarks",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )


# Errors while a partition's leadership is still settling (just after the topic was
# created, or the broker restarted) or while the broker is down; retried for a while.
_SETTLING = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._TRANSPORT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._TIMED_OUT,
}


def partition_high_watermarks(
    consumer: Consumer, topic: str, settle_seconds: float = 15.0
) -> dict[int, int]:
    """Per partition of `topic`, the next offset to be written."""
    deadline = time.monotonic() + settle_seconds
    while True:
        try:
            metadata = consumer.list_topics(topic, timeout=10).topics[topic]
            if metadata.error is not None:
                raise KafkaException(metadata.error)
            return {
                p: consumer.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=10, cached=False
                )[1]
                for p in metadata.partitions
            }
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            settling = isinstance(error, KafkaError) and error.code() in _SETTLING
            if not settling or time.monotonic() > deadline:
                reason = error.str() if isinstance(error, KafkaError) else str(exc)
                raise LoadError(f"topic {topic}: {reason}") from exc
            time.sleep(0.5)


def high_watermarks(
    consumer: Consumer, topics: Sequence[str], settle_seconds: float = 15.0
) -> dict[str, int]:
    """Per topic, the sum over its partitions of the next offset to be written: what was
    ever produced to it."""
    return {
        topic: sum(partition_high_watermarks(consumer, topic, settle_seconds).values())
        for topic in topics
    }


def check_ready(settings: LoadSettings, kafka: KafkaSettings, topics: Sequence[str]) -> None:
    if not os.access(settings.jr_bin, os.X_OK):
        raise LoadError(f"JR is not installed at {settings.jr_bin}: run `make setup`")
    try:
        present = existing_topics(admin_client(kafka), kafka.bootstrap_servers, timeout=5)
    except KafkaUnavailable as exc:
        raise LoadError(str(exc)) from exc
    missing = [topic for topic in topics if topic not in present]
    if missing:
        raise LoadError(
            f"topics {', '.join(missing)} do not exist on {kafka.bootstrap_servers}: "
            "create them with `make topics` (the broker does not auto-create topics)"
        )


def memory_warning(loads: Sequence[EventLoad], duration_seconds: float) -> str | None:
    """A warning when JR would hold more memory than a small box has to spare."""
    messages = sum(load.schedule.messages_in(duration_seconds) for load in loads)
    estimate = messages * JR_BYTES_PER_MESSAGE
    if estimate < JR_MEMORY_WARNING_BYTES:
        return None
    return (
        f"load: warning: {messages:,} messages; JR keeps about {JR_BYTES_PER_MESSAGE // 1024}"
        f" KiB per message until it exits, about {estimate / 1024**3:.1f} GiB in all: "
        "shorten --duration or lower --rate"
    )


def progress_line(
    elapsed: float, duration: float, landed: dict[str, int], done: bool = False
) -> str:
    """What has landed per topic so far, and at what rate."""
    seconds = max(elapsed, 1e-9)
    parts = [f"{topic} {count} ({count / seconds:.1f}/s)" for topic, count in landed.items()]
    total = sum(landed.values())
    clock = f"load: done in {elapsed:.0f}s" if done else f"load: {elapsed:4.0f}s/{duration:.0f}s"
    return "  ".join([clock, *parts, f"total {total} ({total / seconds:.1f}/s)"])


@dataclass
class RunningGenerator:
    load: EventLoad
    process: subprocess.Popen[bytes]
    log_path: Path


def start_generators(
    loads: Sequence[EventLoad],
    settings: LoadSettings,
    kafka_config: Path,
    duration_seconds: float,
    seed: int | None,
) -> list[RunningGenerator]:
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    environment = jr_environment(settings)
    running: list[RunningGenerator] = []
    try:
        for load in loads:
            running.append(
                _start_generator(load, settings, environment, kafka_config, duration_seconds, seed)
            )
    except BaseException:
        stop_generators(running, JR_FLUSH_SECONDS + 5)
        raise
    return running


def _start_generator(
    load: EventLoad,
    settings: LoadSettings,
    environment: dict[str, str],
    kafka_config: Path,
    duration_seconds: float,
    seed: int | None,
) -> RunningGenerator:
    command = jr_command(
        settings.jr_bin,
        template_text(load.event_type, settings.templates_dir),
        per_pass=load.schedule.per_pass,
        frequency=load.schedule.jr_frequency,
        duration_seconds=duration_seconds,
        topic=load.topic,
        kafka_config=kafka_config,
        # One seed per event type, the same whichever types run.
        seed=None if seed is None else seed + EVENT_TYPES.index(load.event_type),
    )
    log_path = settings.log_dir / f"{load.event_type}.log"
    with log_path.open("wb") as log:
        # A session of its own: Ctrl-C reaches this process only, which then stops JR
        # with one SIGINT (a second one would kill JR before it flushes).
        process = subprocess.Popen(
            command,
            env=environment,
            cwd=settings.conf_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return RunningGenerator(load, process, log_path)


def stop_generators(running: Sequence[RunningGenerator], timeout: float) -> None:
    """SIGINT lets JR flush what it produced; what does not stop in time is killed."""
    for generator in running:
        if generator.process.poll() is None:
            generator.process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + timeout
    for generator in running:
        try:
            generator.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            generator.process.kill()
            generator.process.wait()


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_load(
    loads: Sequence[EventLoad],
    duration_seconds: float,
    settings: LoadSettings,
    kafka: KafkaSettings,
    seed: int | None = None,
    report: Callable[[str], None] = print,
) -> dict[str, int]:
    """Runs the generators for `duration_seconds` and returns what landed per topic."""
    topics = [load.topic for load in loads]
    check_ready(settings, kafka, topics)
    kafka_config = write_jr_config(settings, kafka.bootstrap_servers)
    warning = memory_warning(loads, duration_seconds)
    if warning:
        report(warning)
    for load in loads:
        report(
            f"load: {load.event_type} -> {load.topic}: {load.schedule.rate:.2f}/s "
            f"({load.schedule.per_pass} every {load.schedule.interval_seconds:g}s)"
        )
    consumer = watermark_consumer(kafka.bootstrap_servers)
    previous_handler = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        baseline = high_watermarks(consumer, topics)
        started = time.monotonic()
        running = start_generators(loads, settings, kafka_config, duration_seconds, seed)

        def landed(settle_seconds: float = 0.0) -> dict[str, int]:
            now = high_watermarks(consumer, topics, settle_seconds)
            return {topic: now[topic] - baseline[topic] for topic in topics}

        try:
            _watch(running, started, duration_seconds, settings, landed, report)
        except BaseException as exc:
            interrupted = isinstance(exc, KeyboardInterrupt)
            if interrupted:
                report("load: interrupted; stopping JR (it flushes what it produced)")
            stop_generators(running, JR_FLUSH_SECONDS + 5)
            if interrupted:
                final = landed(FINAL_COUNT_SETTLE_SECONDS)
                report(progress_line(time.monotonic() - started, duration_seconds, final, True))
            raise
        final = landed(FINAL_COUNT_SETTLE_SECONDS)
        report(progress_line(time.monotonic() - started, duration_seconds, final, done=True))
        _check_outcome(running, final)
        return final
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        consumer.close()


def _watch(
    running: Sequence[RunningGenerator],
    started: float,
    duration_seconds: float,
    settings: LoadSettings,
    landed: Callable[[], dict[str, int]],
    report: Callable[[str], None],
) -> None:
    deadline = started + duration_seconds + JR_FLUSH_SECONDS + 15
    next_report = started + settings.progress_interval_seconds
    while any(g.process.poll() is None for g in running):
        failed = [g for g in running if g.process.returncode not in (None, 0)]
        if failed:
            stop_generators(running, JR_FLUSH_SECONDS + 5)
            raise LoadError(_failure_message(failed))
        now = time.monotonic()
        if now > deadline:
            stop_generators(running, JR_FLUSH_SECONDS + 5)
            raise LoadError(f"JR did not finish {deadline - started:.0f}s after it started")
        if now >= next_report:
            report(_progress(now - started, duration_seconds, landed))
            next_report += settings.progress_interval_seconds
        time.sleep(min(0.2, max(0.0, next_report - time.monotonic())))


def _progress(elapsed: float, duration_seconds: float, landed: Callable[[], dict[str, int]]) -> str:
    """The progress line; while the broker is down (JR's producer retries what it made until
    the broker is back), a line that says so instead of ending the load."""
    try:
        return progress_line(elapsed, duration_seconds, landed())
    except LoadError as exc:
        clock = f"load: {elapsed:4.0f}s/{duration_seconds:.0f}s"
        return f"{clock}  Kafka not answering ({exc}); JR retries"


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _failure_message(failed: Sequence[RunningGenerator]) -> str:
    return "\n".join(
        f"JR for {g.load.event_type} exited with {g.process.returncode}; "
        f"the end of {g.log_path}:\n{_tail(g.log_path)}"
        for g in failed
    )


def _check_outcome(running: Sequence[RunningGenerator], landed: dict[str, int]) -> None:
    failed = [g for g in running if g.process.returncode != 0]
    if failed:
        raise LoadError(_failure_message(failed))
    problems = []
    for g in running:
        generated = generated_objects(g.log_path.read_text(errors="replace"))
        if generated is None:
            problems.append(f"JR for {g.load.event_type} did not report what it generated")
        elif landed[g.load.topic] < generated:
            problems.append(
                f"{g.load.topic}: JR generated {generated} messages but only "
                f"{landed[g.load.topic]} landed; see {g.log_path}"
            )
    if problems:
        raise LoadError("\n".join(problems))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadgen.jr",
        description="Produce generated payment events (JR) to the raw Kafka topics.",
    )
    parser.add_argument(
        "--rate",
        "--rate-scale",
        dest="rate_scale",
        type=float,
        default=1.0,
        help="multiplier of every default rate ("
        + ", ".join(f"{t} {r:g}/s" for t, r in DEFAULT_RATES.items())
        + "); default 1",
    )
    parser.add_argument(
        "--duration", type=duration_argument, default=60.0, help="how long, e.g. 60s, 5m (60s)"
    )
    parser.add_argument(
        "--types",
        type=parse_types,
        default=EVENT_TYPES,
        help=f"comma-separated event types (default {','.join(EVENT_TYPES)})",
    )
    parser.add_argument("--seed", type=int, default=None, help="JR seed, for repeatable values")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings, kafka = LoadSettings(), KafkaSettings()
    try:
        loads = plan(args.types, args.rate_scale, settings.min_pass_interval_seconds)
        run_load(loads, args.duration, settings, kafka, seed=args.seed)
    except (LoadError, ValueError, KafkaException) as exc:
        print(f"load: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
