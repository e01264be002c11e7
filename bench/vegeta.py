"""vegeta as the soak's load client, fed a stream of webhooks signed just in time.

vegeta (`make setup` builds it into the user cache) keeps a constant open-loop rate far
above what this box's gateway takes, at a small CPU cost, and records every request.
Stripe rejects signatures older than 300 s, so the targets cannot be written beforehand:

    python -m bench.vegeta '<json TargetSpec>' | vegeta attack -format=json -lazy ... \
        | vegeta encode --to json > results.jsonl

This module's entry point is the first process: it draws the simulator's events
(`loadgen.webhooks.events`: every event type, redeliveries, bad ones), signs each one
the moment vegeta reads it (the pipe is a few targets deep), writes it as a JSON target,
and writes a ledger line per target (what the event is and where it should land). Each
target's URL carries its number (`?n=`), which the gateway ignores and vegeta records in
its result: vegeta's own `seq` numbers hits, not targets, so it cannot be matched.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any

from bench.hostile import HostileEvent, with_hostile
from deploy.local.settings import StackSettings
from loadgen.webhooks.events import Generator, Mix, SimEvent
from loadgen.webhooks.sender import Credentials, signature_headers

# Redeliveries are drawn from this many recent valid events: providers redeliver what
# they sent lately, and the simulator's own list of sent events would grow with the run.
REDELIVERY_WINDOW = 10_000
# What a target carries: one of the simulator's events, or a hostile body.
TargetEvent = SimEvent | HostileEvent
LEDGER_FIELDS = (
    "n",
    "provider",
    "kind",
    "provider_event_id",
    "expected_topic",
    "expected_status",
    "event_type",
)


def vegeta_bin(stack: StackSettings | None = None) -> Path:
    return (stack or StackSettings()).cache_dir / "bin" / "vegeta"


@dataclass(frozen=True)
class TargetSpec:
    """What the target process writes: `count` events of the simulator's mix."""

    base_url: str
    count: int
    seed: int
    ledger: str
    run_id: str
    bad_share: float = 0.05
    redelivery_share: float = 0.05
    # The first simulated event's epoch seconds (0: when the writer starts). Given, the
    # whole target stream is a function of the spec, so a run can rebuild any target.
    start: int = 0
    # The share of targets that are hostile bodies (bench/hostile.py), signed correctly.
    hostile_share: float = 0.0


def simulated_events(count: int, seed: int, mix: Mix, start: int) -> Iterator[SimEvent]:
    """The simulator's event stream, one at a time and in bounded memory."""
    generator = Generator(seed, mix, start)
    for _ in range(count):
        yield generator.next()
        if len(generator.sent) > 2 * REDELIVERY_WINDOW:
            del generator.sent[:REDELIVERY_WINDOW]


def target_events(spec: TargetSpec) -> Iterator[TargetEvent]:
    """The events of the targets, in order: the simulator's mix, with hostile bodies
    mixed in when the spec asks for them."""
    mix = Mix(bad_share=spec.bad_share, redelivery_share=spec.redelivery_share)
    events = simulated_events(spec.count, spec.seed, mix, spec.start or int(time.time()))
    if not spec.hostile_share:
        return events
    return with_hostile(events, spec.count, spec.hostile_share, spec.seed, spec.run_id)


def request_id(run_id: str, n: int) -> str:
    """Target n's X-Request-Id (the DLQ's key for a dead-lettered one)."""
    return f"soak-{run_id}-{n}"


def target(n: int, event: TargetEvent, spec: TargetSpec, credentials: Credentials) -> dict:
    """A vegeta JSON target for the event, signed now."""
    headers = {
        # A hostile event may come with its own (wrong) content type.
        "Content-Type": getattr(event, "content_type", "application/json"),
        "X-Request-Id": request_id(spec.run_id, n),
        # Signing reads provider, body and signed_correctly, which a HostileEvent has too.
        **signature_headers(event, credentials, int(time.time())),  # type: ignore[arg-type]
    }
    return json_target(f"{spec.base_url}/webhooks/{event.provider}?n={n}", event.body, headers)


def json_target(url: str, body: bytes, headers: dict[str, str]) -> dict:
    """A POST as vegeta's `-format=json` reads it (the body base64, each header a list)."""
    return {
        "method": "POST",
        "url": url,
        "body": base64.b64encode(body).decode(),
        "header": {name: [value] for name, value in headers.items()},
    }


def ledger_row(n: int, event: TargetEvent) -> list[object]:
    return [
        n,
        event.provider,
        event.kind.value,
        event.provider_event_id or "",
        event.expected_topic or "",
        event.expected_status,
        event.event_type or "",
    ]


def write_targets(spec: TargetSpec, out: IO[str], credentials: Credentials) -> int:
    """Writes the targets one line each as vegeta reads them; returns how many it wrote
    (fewer than `count` when vegeta stopped reading)."""
    written = 0
    with open(spec.ledger, "w", newline="") as ledger_file:
        ledger = csv.writer(ledger_file)
        ledger.writerow(LEDGER_FIELDS)
        for n, event in enumerate(target_events(spec)):
            ledger.writerow(ledger_row(n, event))
            try:
                # A flush per target: a blocked write is what paces this process.
                out.write(json.dumps(target(n, event, spec, credentials)) + "\n")
                out.flush()
            except BrokenPipeError:
                break
            written += 1
    return written


@dataclass(frozen=True)
class LedgerEntry:
    provider: str
    kind: str
    provider_event_id: str
    expected_topic: str  # "raw", "dlq" or "" (nothing written)
    expected_status: int
    event_type: str


def read_ledger(path: Path) -> dict[int, LedgerEntry]:
    with open(path, newline="") as ledger_file:
        return {
            int(row["n"]): LedgerEntry(
                row["provider"],
                row["kind"],
                row["provider_event_id"],
                row["expected_topic"],
                int(row["expected_status"]),
                row["event_type"],
            )
            for row in csv.DictReader(ledger_file)
        }


@dataclass(frozen=True)
class Hit:
    """One of vegeta's results: which target, when it was sent and answered."""

    n: int
    code: int  # 0: no answer (timeout, connection error)
    sent: float  # epoch seconds
    latency: float  # seconds
    error: str

    @property
    def answered(self) -> float:
        return self.sent + self.latency

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300


def epoch_seconds(rfc3339: str) -> float:
    """vegeta's timestamps have nanoseconds, which `fromisoformat` does not take."""
    head, dot, rest = rfc3339.partition(".")
    if not dot:
        return datetime.fromisoformat(rfc3339).timestamp()
    zone_at = next((i for i, ch in enumerate(rest) if not ch.isdigit()), len(rest))
    digits, zone = rest[:zone_at], rest[zone_at:]
    return datetime.fromisoformat(head + zone).timestamp() + int(digits) / 10 ** len(digits)


def parse_hit(line: str) -> Hit | None:
    """The result as a Hit; None for a hit vegeta made without a target (it reports "no
    targets to attack" when its reader had none ready): no request was sent."""
    parsed = _parse_result(line)
    return parsed[0] if parsed else None


def _parse_result(line: str) -> tuple[Hit, float | None] | None:
    """The hit, and the server's `Date` header (epoch seconds) when it answered."""
    result: dict[str, Any] = json.loads(line)
    _, marker, query = (result.get("url") or "").rpartition("?n=")
    if not marker:
        return None
    hit = Hit(
        n=int(query),
        code=int(result["code"]),
        sent=epoch_seconds(result["timestamp"]),
        latency=int(result["latency"]) / 1e9,
        error=str(result.get("error") or ""),
    )
    dates = (result.get("headers") or {}).get("Date") or []
    try:
        served = parsedate_to_datetime(dates[0]).timestamp() if dates else None
    except (TypeError, ValueError):
        served = None
    return hit, served


# vegeta stamps a hit with its start time plus Go's monotonic clock since then, so a step of
# the wall clock during a run (NTP, a VM resumed) shifts every later stamp from the
# platform's wall-clock ones (measured once: 27 s). A server's `Date` header is the wall
# clock, to the second, when it answered: the largest `Date - answered` over the hits is
# the shift to within a fraction of a second. Below a second, nothing is shifted.
CLOCK_STEP_SECONDS = 1.0


class HitReader:
    """Reads the results file as vegeta's encoder appends to it, whole lines only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = ""
        self.untargeted = 0  # results of hits that had no target (nothing was sent)
        self.clock_shift: float | None = None  # wall clock - vegeta's clock, a lower bound

    def new_hits(self) -> list[Hit]:
        if not self.path.exists():
            return []
        with open(self.path) as results:
            results.seek(self._offset)
            chunk = results.read()
            self._offset = results.tell()
        lines = (self._partial + chunk).split("\n")
        self._partial = lines.pop()
        parsed = [_parse_result(line) for line in lines if line.strip()]
        self.untargeted += sum(result is None for result in parsed)
        answered = [result for result in parsed if result is not None]
        for hit, served in answered:
            if served is not None:
                shift = served - hit.answered
                self.clock_shift = (
                    shift if self.clock_shift is None else max(shift, self.clock_shift)
                )
        shift = self.clock_shift or 0.0
        if abs(shift) < CLOCK_STEP_SECONDS:
            return [hit for hit, _ in answered]
        return [replace(hit, sent=hit.sent + shift) for hit, _ in answered]


@dataclass(frozen=True)
class AttackSpec:
    rate: float
    seconds: float
    max_workers: int
    timeout_seconds: float = 10.0


def attack_command(binary: Path, spec: AttackSpec) -> list[str]:
    return [
        str(binary),
        "attack",
        "-format=json",
        "-lazy",
        "-name=soak",
        f"-rate={spec.rate:g}/1s",
        f"-duration={spec.seconds:g}s",
        f"-max-workers={spec.max_workers}",
        f"-timeout={spec.timeout_seconds:g}s",
    ]


@dataclass
class Client:
    """The three processes of the load client, first to last."""

    targets: subprocess.Popen[bytes]
    attack: subprocess.Popen[bytes]
    encode: subprocess.Popen[bytes]

    @property
    def pids(self) -> dict[str, int]:
        return {
            "client: targets": self.targets.pid,
            "client: vegeta attack": self.attack.pid,
            "client: vegeta encode": self.encode.pid,
        }

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for process in (self.attack, self.encode, self.targets):
            process.wait(max(1.0, deadline - time.monotonic()))
        if self.targets.returncode not in (0, None):
            raise RuntimeError(
                f"the target writer exited with {self.targets.returncode}; see soak-targets.log"
            )
        if self.attack.returncode != 0 or self.encode.returncode != 0:
            raise RuntimeError(
                f"vegeta exited with {self.attack.returncode} (attack) and "
                f"{self.encode.returncode} (encode); see their logs in the run folder"
            )


def wait_for_first_target(writer: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Until the writer has a target ready (without reading it). vegeta times a hit from
    before it reads the target, so a writer still starting up would count as latency."""
    assert writer.stdout is not None
    readable, _, _ = select.select([writer.stdout], [], [], timeout)
    if not readable or writer.poll() not in (None, 0):
        writer.kill()
        raise RuntimeError(f"the target writer wrote nothing within {timeout:g}s; see its log")


@contextmanager
def load_client(
    targets: TargetSpec, attack: AttackSpec, results: Path, logs: Path
) -> Iterator[Client]:
    """target writer | vegeta attack | vegeta encode --to json > results, until the
    block ends (then whatever still runs is stopped)."""
    binary = vegeta_bin()
    if not binary.exists():
        raise RuntimeError(f"vegeta is not installed at {binary}: run `make setup`")
    logs.mkdir(parents=True, exist_ok=True)
    with (
        open(logs / "soak-targets.log", "wb") as targets_log,
        open(logs / "soak-vegeta.log", "wb") as vegeta_log,
        open(results, "wb") as results_file,
    ):
        writer = subprocess.Popen(
            [sys.executable, "-m", "bench.vegeta", json.dumps(asdict(targets))],
            stdout=subprocess.PIPE,
            stderr=targets_log,
        )
        wait_for_first_target(writer)
        attacker = subprocess.Popen(
            attack_command(binary, attack),
            stdin=writer.stdout,
            stdout=subprocess.PIPE,
            stderr=vegeta_log,
        )
        encoder = subprocess.Popen(
            [str(binary), "encode", "--to", "json"],
            stdin=attacker.stdout,
            stdout=results_file,
            stderr=vegeta_log,
        )
        # Only the next process holds each pipe: a process that exits closes it for good.
        for pipe in (writer.stdout, attacker.stdout):
            if pipe is not None:
                pipe.close()
        client = Client(writer, attacker, encoder)
        try:
            yield client
        finally:
            for process in (writer, attacker, encoder):
                if process.poll() is None:
                    process.terminate()
                    try:
                        process.wait(15)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()


def main(argv: list[str]) -> int:
    spec = TargetSpec(**json.loads(argv[0]))
    credentials = Credentials()  # type: ignore[call-arg]
    written = write_targets(spec, sys.stdout, credentials)
    if written < spec.count:
        # vegeta has stopped reading: what is still buffered must not fail the exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    print(f"wrote {written} of {spec.count} targets", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
