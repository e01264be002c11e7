"""The chaos soak's parts that need no service: the schedule, which processes a fault
kills, the per-fault recovery arithmetic, Flink restart attribution, the provider-style
retries (rebuilding a target from its spec), and the hostile traffic: its share, that
the gateway's own routing sends each kind where the ledger says, and where each ended."""

from __future__ import annotations

import base64
import io
import itertools
import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.chaos import (
    ENRICHED_SIGNAL,
    FAULTS,
    GATEWAY_SIGNAL,
    Chaos,
    ChaosObserved,
    ChaosSettings,
    FaultRun,
    Planned,
    blame_restarts,
    committed,
    fault_rows,
    fault_windows,
    final_codes,
    first_advance,
    plan_problems,
    print_plan,
    rebuild_targets,
    restart_times,
    retry_figures,
    schedule,
    signal_values,
    to_retry,
    update_flowing,
    victims,
    window_of,
)
from bench.hostile import (
    HOSTILE_KINDS,
    Ending,
    HostileKind,
    hostile_accounting,
    hostile_event,
    with_hostile,
)
from bench.soak import Sample
from bench.vegeta import Hit, TargetSpec, read_ledger, simulated_events, write_targets
from flink_jobs import enrichment_job, validation_job
from gateway.intake import route
from gateway.providers import PROVIDERS
from gateway.settings import MIB
from loadgen.webhooks.events import Mix
from tests.gateway.conftest import simulator_credentials

# -- the schedule -----------------------------------------------------------------------------


def test_every_fault_of_the_issue_is_killed_once_in_order() -> None:
    assert [f.program for f in FAULTS] == [
        "flink-taskmanager", "flink-jobmanager", "kafka", "gateway", "worker", "bridge",
        "inference", "postgres", "temporal", "trino",
    ]  # fmt: skip
    assert [f.program for f in FAULTS if f.one_process] == ["gateway"]


def test_the_schedule_is_evenly_spaced_and_leaves_a_drain() -> None:
    plan = schedule(FAULTS, seconds=1200, drain_share=0.2)
    times = [p.at for p in plan]
    gaps = {round(b - a, 1) for a, b in itertools.pairwise(times)}
    assert gaps == {96.0}  # 960 s of faults, 10 slots
    assert times[0] == 48.0
    assert 1200 - times[-1] == pytest.approx(288.0)
    assert [p.fault for p in plan] == list(FAULTS)


def test_a_schedule_too_short_to_tell_recoveries_apart_is_flagged() -> None:
    settings = ChaosSettings(duration="3m")
    problems = plan_problems(schedule(FAULTS, 180, 0.15), 180, settings)
    assert any("apart" in p for p in problems)
    assert plan_problems(schedule(FAULTS, 1200, 0.15), 1200, ChaosSettings()) == []


def test_the_plan_names_every_fault_and_what_must_move() -> None:
    lines: list[str] = []
    settings = ChaosSettings()
    print_plan(settings, schedule(FAULTS, settings.seconds, settings.drain_share), lines.append)
    text = "\n".join(lines)
    for fault in FAULTS:
        assert fault.name in text and fault.program in text
    assert "(ready only)" in text  # Trino is on no write path


def test_the_chaos_settings_carry_over_to_the_soaks() -> None:
    soak = ChaosSettings(rate=300, duration="15m", jr_rate=50, seed=3).soak()
    assert (soak.rate, soak.duration, soak.jr_rate, soak.seed) == (300, "15m", 50, 3)


# -- what a fault kills -----------------------------------------------------------------------


def test_a_fault_kills_the_whole_tree_parent_first() -> None:
    tree = {10: [11, 12], 12: [13]}
    assert victims(10, tree, one_process=False) == [10, 12, 13, 11]


def test_one_gateway_process_is_one_worker_or_the_only_process() -> None:
    assert victims(10, {10: [11, 12]}, one_process=True) == [12]
    assert victims(10, {}, one_process=True) == [10]


# -- recovery ---------------------------------------------------------------------------------

JOBS = (validation_job.JOB_NAME, enrichment_job.JOB_NAME)


def sample(at: float, validation: int, enriched_end: int, bridge: int = 0) -> Sample:
    offsets = {
        validation_job.JOB_NAME: (10_000, validation),
        enrichment_job.JOB_NAME: (enriched_end, 0),
        "bridge": (10_000, bridge),
    }
    return Sample(at, offsets, {}, True)


def test_signals_are_committed_offsets_and_the_enriched_end() -> None:
    values = signal_values(sample(0, 5, 7, 9).offsets)
    assert values[committed(validation_job.JOB_NAME)] == 5
    assert values[committed("bridge")] == 9
    assert values[ENRICHED_SIGNAL] == 7


def test_first_advance_ignores_what_came_before_the_kill() -> None:
    series = [(90.0, 6), (101.0, 5), (104.0, 5), (108.0, 6)]
    assert first_advance(100.0, 5, series) == 108.0
    assert first_advance(100.0, 6, series) is None


def test_recovery_is_the_later_of_ready_and_every_signal_flowing() -> None:
    fault = FAULTS[0]
    run = FaultRun(Planned(50, fault), killed_at=100.0, ready_at=112.0)
    run.baseline = {committed(job): 5 for job in (*JOBS, "payments-normalization")}
    samples = [sample(t, 5, 0) for t in (98, 102, 110)] + [sample(130, 9, 0)]
    update_flowing(run, samples, [])
    assert run.flowing_at[committed(validation_job.JOB_NAME)] == 130
    assert run.recovered_at() is None  # the other jobs have not committed yet
    run.flowing_at = {signal: 125.0 for signal in fault.signals}
    assert run.recovered_at() == 125.0
    run.ready_at = 140.0
    assert run.recovered_at() == 140.0


def test_the_gateway_flows_again_at_the_first_2xx_sent_after_the_kill() -> None:
    fault = next(f for f in FAULTS if f.program == "gateway")
    run = FaultRun(Planned(0, fault), killed_at=100.0, ready_at=103.0)
    hits = [
        Hit(1, 202, 99.0, 0.5, ""),  # before the kill
        Hit(2, 0, 100.5, 1.0, "connection refused"),
        Hit(3, 202, 104.0, 0.25, ""),
    ]
    update_flowing(run, [], hits)
    assert run.flowing_at[GATEWAY_SIGNAL] == 104.25
    assert run.recovered_at() == 104.25


def test_a_fault_with_no_signals_recovers_when_ready() -> None:
    trino = FaultRun(Planned(0, FAULTS[-1]), killed_at=10.0, ready_at=31.0)
    assert trino.recovered_at() == 31.0


def test_each_moment_falls_in_the_window_of_the_fault_before_it() -> None:
    runs = [
        FaultRun(Planned(0, f), killed_at=t) for f, t in zip(FAULTS[:3], (10, 50, 90), strict=True)
    ]
    runs.append(FaultRun(Planned(0, FAULTS[3])))  # never killed: no window
    windows = fault_windows(runs, end=200)
    assert windows == [(10, 50), (50, 90), (90, 200)]
    assert [window_of(t, windows) for t in (5, 10, 49.9, 50, 199, 200)] == [None, 0, 0, 1, 2, None]


def test_one_row_per_fault_with_its_failures_retries_and_fallbacks() -> None:
    runs = [
        FaultRun(Planned(10, FAULTS[3]), killed_at=1010.0, ready_at=1012.0,
                 flowing_at={GATEWAY_SIGNAL: 1013.0}),
        FaultRun(Planned(50, FAULTS[6]), killed_at=1050.0, ready_at=1060.0,
                 flowing_at={ENRICHED_SIGNAL: 1070.0}),
        FaultRun(Planned(90, FAULTS[9]), error="the load ended before its turn"),
    ]  # fmt: skip
    windows = fault_windows(runs, end=1200)
    hits = [
        Hit(1, 503, 1011.0, 0.01, ""),
        Hit(2, 0, 1011.5, 10, "timeout"),
        Hit(3, 202, 1012, 0, ""),
    ]
    retries = [Hit(1, 202, 1300.0, 0.01, ""), Hit(2, 503, 1300.0, 0.01, "")]
    blame = blame_restarts([], windows)
    rows = fault_rows(runs, 1000.0, windows, hits, retries, [1055.0, 1056.0, 1001.0], blame)
    assert len(rows) == 3
    gateway, inference, trino = rows
    assert gateway["recovered s"] == 3.0 and gateway["ready s"] == 2.0
    assert (gateway["5xx/no answer"], gateway["503"]) == (2, 1)
    assert (gateway["re-sent, then 2xx"], gateway["still failing"]) == (1, 1)
    assert inference["fallback enrichments"] == 2 and inference["recovered s"] == 20.0
    assert trino["note"] == "the load ended before its turn"


# -- Flink restarts ---------------------------------------------------------------------------


def test_restarts_count_rises_and_a_new_jobmanager_counts_anew() -> None:
    series = [(1, 0), (2, 0), (3, 2), (4, 2), (5, 0), (6, 1)]
    assert restart_times(series) == [3, 3, 6]
    assert restart_times([(1, 4), (2, 4)]) == []  # restarts from before the run


def test_restarts_outside_every_fault_are_blamed_on_input() -> None:
    blame = blame_restarts([5.0, 15.0, 16.0, 35.0], [(10, 20), (30, 40)])
    assert blame.by_fault == {0: 2, 1: 1}
    assert blame.unattributed == 1


# -- retries ----------------------------------------------------------------------------------


def test_the_final_answer_is_a_2xx_else_a_4xx_else_the_last_failure() -> None:
    hits = [
        Hit(1, 503, 1, 0, ""), Hit(1, 202, 2, 0, ""), Hit(1, 503, 3, 0, ""),
        Hit(2, 0, 1, 0, "timeout"), Hit(2, 400, 2, 0, ""), Hit(2, 503, 3, 0, ""),
        Hit(3, 503, 1, 0, ""), Hit(3, 0, 2, 0, "refused"),
    ]  # fmt: skip
    assert final_codes(hits) == {1: 202, 2: 400, 3: 0}
    assert to_retry(hits) == [3]


def test_retry_figures_count_each_failed_target_once() -> None:
    first = [
        Hit(1, 503, 1, 0, ""),
        Hit(2, 0, 1, 0, ""),
        Hit(3, 503, 1, 0, ""),
        Hit(4, 202, 1, 0, ""),
    ]
    retries = [
        Hit(1, 503, 5, 0, ""),
        Hit(1, 202, 30, 0, ""),
        Hit(2, 400, 5, 0, ""),
        Hit(3, 503, 5, 0, ""),
    ]
    figures = retry_figures(first, retries)
    assert (figures.failed, figures.accepted, figures.refused, figures.still_failing) == (
        3,
        1,
        1,
        1,
    )


def test_a_retried_event_is_accepted_once_in_the_reconciliation(tmp_path: Path) -> None:
    from bench.reconcile import accepted_webhooks
    from bench.soak import raw_keys

    spec = spec_of(tmp_path, count=50, hostile_share=0.0)
    write_targets(spec, io.StringIO(), simulator_credentials())
    ledger = read_ledger(Path(spec.ledger))
    n = next(n for n, e in ledger.items() if e.expected_topic == "raw")
    hits = [Hit(n, 503, 1, 0, ""), Hit(n, 202, 5, 0, ""), Hit(n, 202, 6, 0, "")]
    assert accepted_webhooks(((h.n, h.ok) for h in hits), raw_keys(ledger)) == {
        f"{ledger[n].provider}:{ledger[n].provider_event_id}"
    }


def spec_of(tmp_path: Path, count: int, hostile_share: float) -> TargetSpec:
    return TargetSpec(base_url="http://127.0.0.1:8000", count=count, seed=11,
                      ledger=str(tmp_path / "ledger.csv"), run_id="c1", start=1_795_600_800,
                      hostile_share=hostile_share)  # fmt: skip


def test_a_failed_target_is_rebuilt_with_its_body_and_event_id(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, count=400, hostile_share=0.1)
    out = io.StringIO()
    assert write_targets(spec, out, simulator_credentials()) == 400
    sent = [json.loads(line) for line in out.getvalue().splitlines()]
    ledger = read_ledger(Path(spec.ledger))
    wanted = {3, 77, 250, 399} | {n for n, e in ledger.items() if e.kind in HOSTILE_KINDS}
    rebuilt = rebuild_targets(spec, wanted)
    assert set(rebuilt) == wanted
    for n, event in rebuilt.items():
        assert event.body == base64.b64decode(sent[n]["body"])
        assert (event.provider_event_id or "") == ledger[n].provider_event_id
        content_type = getattr(event, "content_type", "application/json")
        assert sent[n]["header"]["Content-Type"] == [content_type]


# -- hostile traffic --------------------------------------------------------------------------


def test_the_hostile_share_is_kept_and_the_rest_is_the_simulators_stream() -> None:
    def stream(share: float) -> list:
        events = simulated_events(8_000, 5, Mix(), 1_795_600_800)
        return list(with_hostile(events, 8_000, share, seed=5, run_id="r"))

    mixed = stream(0.02)
    hostile = [e for e in mixed if e.kind in HOSTILE_KINDS]
    assert len(mixed) == 8_000
    assert 0.012 < len(hostile) / len(mixed) < 0.03
    assert set(Counter(e.kind for e in hostile)) == set(HostileKind)
    assert [e.body for e in mixed] == [e.body for e in stream(0.02)]  # deterministic
    plain = [e.body for e in mixed if e.kind not in HOSTILE_KINDS]
    assert plain == [e.body for e in stream(0.0)][: len(plain)]


def test_every_hostile_body_goes_where_its_ledger_says() -> None:
    rng = random.Random(3)
    stripe = PROVIDERS["stripe"]
    seen = set()
    for n in range(300):
        event = hostile_event(rng, "r", n)
        seen.add((event.kind, event.expected_topic))
        if event.expected_status == 413:
            assert len(event.body) > MIB
            continue
        assert len(event.body) <= MIB
        routed = route(stripe, event.body)
        if event.expected_topic == "dlq":
            assert routed.reason is not None, event.detail
        else:
            assert routed.reason is None and routed.topic == stripe.raw_topic, event.detail
    assert (HostileKind.HUGE, None) in seen and (HostileKind.HUGE, "raw") in seen
    assert (HostileKind.DEEP, "dlq") in seen and (HostileKind.DEEP, "raw") in seen
    assert {k for k, _ in seen} == set(HostileKind)


def test_wrong_content_types_are_sent_with_them() -> None:
    rng = random.Random(0)
    types = {
        e.content_type
        for e in (hostile_event(rng, "r", n) for n in range(400))
        if e.kind is HostileKind.WRONG_CONTENT_TYPE
    }
    assert types == {"application/xml", "application/x-www-form-urlencoded"}


def test_hostile_accounting_says_where_each_one_ended() -> None:
    k = HostileKind.BIG_NUMBER.value
    endings = [
        Ending(k, "stripe:a", "soak-r-1", 413),
        Ending(k, "stripe:b", "soak-r-2", 202),
        Ending(k, "stripe:c", "soak-r-3", 202),
        Ending(k, "stripe:d", "soak-r-4", 202),
        Ending(k, "stripe:e", "soak-r-5", 503),
        Ending(k, "stripe:f", "soak-r-6", 202),
        Ending("valid", "stripe:g", "soak-r-7", 202),  # not hostile: not counted
    ]
    counts = hostile_accounting(
        endings,
        dlq_reasons={"soak-r-2": "malformed_json"},
        quarantine_reasons={"stripe:c": "invalid_amount"},
        payment_keys={"stripe:d"},
    )
    c = counts[k]
    assert (c.sent, c.refused, c.dead_lettered, c.quarantined) == (6, 1, 1, 1)
    assert (c.as_payment, c.unanswered, c.lost) == (1, 1, 1)
    assert not c.clean
    assert set(counts) == {k}


# -- the controller, on a process of this test's own ------------------------------------------


class FakeStack:
    """supervisord as the controller sees it: a pid per program, a readiness check."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.settings = self.lakehouse = None

    def supervisorctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 0, stdout=f"{self.pid}\n", stderr="")

    def service(self, name: str) -> SimpleNamespace:
        return SimpleNamespace(ready=lambda stack, lakehouse: "ready")


class FakeSampler:
    def __init__(self, observed: ChaosObserved) -> None:
        self.observed, self.pids = observed, {}

    def fresh(self) -> Sample:
        return self.observed.soak.samples[-1]


def test_the_controller_kills_the_tree_and_restarts_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    worker = subprocess.Popen(["sh", "-c", "sleep 60 & wait"])
    try:
        # The shell forks its sleep a moment after it starts (later on a loaded box).
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
        deadline = time.monotonic() + 10
        while not children.read_text().split() and time.monotonic() < deadline:
            time.sleep(0.05)
        stack = FakeStack(worker.pid)
        bridge = next(f for f in FAULTS if f.program == "bridge")
        settings = ChaosSettings(settle_seconds=0)
        chaos = Chaos(stack, [Planned(0, bridge)], settings)  # type: ignore[arg-type]
        monkeypatch.setattr("bench.chaos.service_pids", lambda stack: {})
        observed = ChaosObserved()
        observed.soak.samples.append(sample(time.time(), 5, 0, bridge=100))
        sampler = FakeSampler(observed)
        chaos.step(time.time() - 1, sampler, observed)  # type: ignore[arg-type]
        run = chaos.runs[0]
        assert run.killed_at and run.baseline[committed("bridge")] == 100
        assert worker.wait(10) == -signal.SIGKILL
        assert len(run.pids) == 2  # the shell and its sleep
        chaos.step(0, sampler, observed)  # type: ignore[arg-type]
        assert run.ready_at is None  # supervisord still reports the dead pid: not restarted
        stack.pid = os.getpid()  # "supervisord" started a new process
        observed.soak.samples.append(sample(time.time() + 1, 5, 0, bridge=101))
        chaos.step(0, sampler, observed)  # type: ignore[arg-type]
        assert run.recovered_at() is not None and chaos.current == 1
    finally:
        if worker.poll() is None:
            worker.kill()
