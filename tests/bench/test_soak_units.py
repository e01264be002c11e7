"""The soak's parts that need no service: the signed target stream (checked by the
gateway's own verifiers), vegeta's results, the reconciliation arithmetic, lag-growth
detection on synthetic series, CPU from samples, and freshness pairing."""

from __future__ import annotations

import base64
import io
import json
import time
from pathlib import Path

import pytest

from bench.reconcile import (
    Reconciliation,
    accepted_webhooks,
    lag_trend,
    offset_window,
    reconcile_keys,
    windows,
)
from bench.report import render_figures
from bench.sampling import TreeUsage, mean_cpu_percent
from bench.soak import (
    Landed,
    Observed,
    Sample,
    SoakSettings,
    accepted_at,
    analyse,
    freshness,
    partition_ranges,
    raw_keys,
    reconciliations,
    windows_reconciliation,
)
from bench.vegeta import (
    AttackSpec,
    Hit,
    HitReader,
    TargetSpec,
    attack_command,
    epoch_seconds,
    parse_hit,
    read_ledger,
    write_targets,
)
from gateway.providers import square, stripe
from gateway.providers.base import SignatureRejected
from gateway.settings import GatewaySettings
from loadgen.webhooks.sender import Credentials
from tests.gateway.conftest import simulator_credentials
from workflows.ids import recovery_workflow_id

# -- the target stream ----------------------------------------------------------------------


def gateway_settings(credentials: Credentials) -> GatewaySettings:
    """The gateway configured with the secrets the target stream signs with."""
    return GatewaySettings(
        stripe_webhook_secrets=credentials.stripe_webhook_secrets,
        square_signature_key=credentials.square_signature_key,
        square_notification_url=credentials.square_notification_url,
    )


def targets_of(count: int, tmp_path: Path, out: io.StringIO | None = None) -> tuple[list, dict]:
    spec = TargetSpec(base_url="http://127.0.0.1:8000", count=count, seed=7,
                      ledger=str(tmp_path / "ledger.csv"), run_id="t1")  # fmt: skip
    out = out or io.StringIO()
    assert write_targets(spec, out, simulator_credentials()) == count
    return [json.loads(line) for line in out.getvalue().splitlines()], read_ledger(
        tmp_path / "ledger.csv"
    )


def verify(target: dict, settings: GatewaySettings) -> None:
    """What the gateway does with the request: headers case-insensitively, the raw body."""
    provider = target["url"].split("/webhooks/")[1].split("?")[0]
    verifier = {"stripe": stripe.verifier, "square": square.verifier}[provider](settings)
    assert verifier is not None
    headers = {name.lower(): values[0] for name, values in target["header"].items()}
    verifier.verify(base64.b64decode(target["body"]), headers, time.time())


def test_every_target_but_the_wrongly_signed_passes_the_gateways_verifier(tmp_path):
    targets, ledger = targets_of(600, tmp_path)
    settings = gateway_settings(simulator_credentials())
    kinds = {entry.kind for entry in ledger.values()}
    assert {"valid", "redelivery", "bad_signature", "malformed", "semantic"} <= kinds
    assert {entry.provider for entry in ledger.values()} == {"stripe", "square"}
    for n, target in enumerate(targets):
        assert target["url"].endswith(f"/webhooks/{ledger[n].provider}?n={n}")
        assert target["method"] == "POST"
        if ledger[n].kind == "bad_signature":
            with pytest.raises(SignatureRejected):
                verify(target, settings)
        else:
            verify(target, settings)


def test_targets_are_signed_when_written_not_beforehand(tmp_path):
    class SlowReader(io.StringIO):
        """vegeta reading a target now and then: each write waits for it."""

        def __init__(self) -> None:
            super().__init__()
            self.written_at: list[float] = []

        def write(self, text: str) -> int:
            time.sleep(0.7)
            self.written_at.append(time.time())
            return super().write(text)

    reader = SlowReader()
    targets, ledger = targets_of(5, tmp_path, reader)
    stamps = []
    for n, target in enumerate(targets):
        if ledger[n].provider == "stripe":
            header = target["header"]["Stripe-Signature"][0]
            stamps.append((int(header.split(",")[0].removeprefix("t=")), reader.written_at[n]))
    assert stamps, "seed 7 starts with Stripe events"
    for signed, written in stamps:
        # Signed at most a write (0.7 s) before it was written; t is whole seconds.
        assert written - 2 <= signed <= written
    assert len(stamps) >= 2 and stamps[-1][0] - stamps[0][0] >= 1


def test_attack_command_reads_lazy_json_targets_at_a_constant_rate():
    command = attack_command(Path("/x/vegeta"), AttackSpec(2000, 600, 512, 10))
    assert command[:4] == ["/x/vegeta", "attack", "-format=json", "-lazy"]
    assert "-rate=2000/1s" in command and "-duration=600s" in command
    assert "-max-workers=512" in command


# -- vegeta's results -----------------------------------------------------------------------


def result_line(n: int, code: int, timestamp: str, latency_ns: int) -> str:
    return json.dumps({"attack": "soak", "seq": 99 - n, "code": code, "timestamp": timestamp,
                       "latency": latency_ns, "error": "", "method": "POST",
                       "url": f"http://127.0.0.1:8000/webhooks/stripe?n={n}"})  # fmt: skip


def test_results_are_matched_to_targets_by_url_not_by_seq():
    hit = parse_hit(result_line(12, 202, "2026-12-02T16:00:00.123456789Z", 4_500_000))
    assert hit.n == 12 and hit.ok
    assert hit.sent == pytest.approx(epoch_seconds("2026-12-02T16:00:00Z") + 0.123456789)
    assert hit.answered == pytest.approx(hit.sent + 0.0045)
    assert epoch_seconds("2026-12-02T17:00:00.5+01:00") == epoch_seconds("2026-12-02T16:00:00.5Z")
    no_target = json.dumps(
        {
            "code": 0,
            "timestamp": "2026-12-02T16:00:00Z",
            "latency": 1,
            "error": "no targets to attack",
            "url": "",
        }
    )
    assert parse_hit(no_target) is None


def test_the_hit_reader_takes_whole_lines_only(tmp_path):
    path = tmp_path / "results.jsonl"
    reader = HitReader(path)
    assert reader.new_hits() == []
    first, second = (result_line(n, 202, "2026-12-02T16:00:00Z", 1) for n in (0, 1))
    path.write_text(first + "\n" + second[:20])
    assert [h.n for h in reader.new_hits()] == [0]
    with open(path, "a") as results:
        results.write(second[20:] + "\n")
    assert [h.n for h in reader.new_hits()] == [1]
    with open(path, "a") as results:
        results.write(json.dumps({"code": 0, "url": "", "timestamp": "", "latency": 0}) + "\n")
    assert reader.new_hits() == [] and reader.untargeted == 1


# -- reconciliation arithmetic --------------------------------------------------------------


def test_reconciliation_counts_missing_twice_and_foreign_rows_apart():
    check = reconcile_keys({"a", "b", "c"}, ["a", "b", "b", "x"])
    assert (check.expected, check.matched, check.found, check.foreign) == (3, 2, 3, 1)
    assert (check.missing, check.duplicates, check.exact) == (1, 1, False)
    assert reconcile_keys({"a", "b"}, ["b", "a", "z"]).exact  # foreign rows do not spoil it
    assert check.describe() == "missing 1, twice 1; 1 rows of other traffic"


def test_accepted_webhooks_count_a_redelivery_once_and_only_2xx_to_raw_topics():
    keys = {0: "stripe:evt_1", 1: "stripe:evt_1", 2: "square:e2", 4: "stripe:evt_4"}
    # 1 redelivers 0; 3 is dead-lettered (no raw key); 4 got a 503.
    hits = [(0, True), (1, True), (2, True), (3, True), (4, False)]
    assert accepted_webhooks(hits, keys) == {"stripe:evt_1", "square:e2"}
    # Its original failed, the redelivery got through: still accepted, once.
    assert accepted_webhooks([(0, False), (1, True)], keys) == {"stripe:evt_1"}


def test_offset_windows_find_a_gap_and_a_double_write():
    assert offset_window(100, 110, rows=10, distinct=10).exact
    gap = offset_window(100, 110, rows=9, distinct=9)
    assert gap.missing == 1 and gap.duplicates == 0
    twice = offset_window(100, 110, rows=11, distinct=10)
    assert twice.missing == 0 and twice.duplicates == 1
    start, end = {"t": {0: 5, 1: 0}}, {"t": {0: 8, 1: 2}}
    rows = [("t", 0, 3, 3), ("t", 1, 3, 2)]  # partition 1: offset written twice
    total = windows_reconciliation(rows, start, end)
    assert total == Reconciliation(expected=5, matched=5, found=6)
    assert windows_reconciliation([("", 0, 3, 3)], start, end, topic="t").missing == 2


def test_partition_ranges_select_only_the_runs_offsets():
    sql = partition_ranges({0: 10, 1: 4}, {0: 20, 1: 4, 2: 3})
    assert "kafka_partition = 0 AND kafka_offset >= 10 AND kafka_offset < 20" in sql
    assert "kafka_partition = 1" not in sql  # nothing written there during the run
    assert "kafka_partition = 2 AND kafka_offset >= 0 AND kafka_offset < 3" in sql
    assert partition_ranges({0: 5}, {0: 5}) == "FALSE"


def ledger_entry(provider: str, event_id: str, topic: str = "raw", status: int = 202):
    from bench.vegeta import LedgerEntry

    return LedgerEntry(provider, "valid", event_id, topic, status, "charge.succeeded")


def test_the_run_reconciles_webhooks_enrichments_and_recoveries():
    ledger = {0: ledger_entry("stripe", "evt_a"), 1: ledger_entry("stripe", "evt_a"),
              2: ledger_entry("square", "b"), 3: ledger_entry("stripe", "bad", "dlq")}  # fmt: skip
    hits = [Hit(n, 202, 100.0 + n, 0.01, "") for n in range(4)]
    landed = Landed(
        payments=[("stripe:evt_a", "E1", "payment.failed", 105.0)],
        quarantined=["square:b", "stripe:someone_else"],
        enrichments=[("E1", 109.0)],
        recoveries=[recovery_workflow_id("E1"), "recovery-older-run"],
    )
    checks = reconciliations(landed, ledger, hits)
    assert checks["webhooks: accepted = payments + quarantine_payments"] == Reconciliation(
        expected=2, matched=2, found=2, foreign=1
    )
    assert checks["payments -> one payment_enrichments row each"].exact
    assert checks["failed payments -> a recovery workflow each"].exact
    landed.enrichments.append(("E1", 110.0))
    doubled = reconciliations(landed, ledger, hits)["payments -> one payment_enrichments row each"]
    assert doubled.duplicates == 1 and not doubled.exact
    landed.recoveries = []
    missed = reconciliations(landed, ledger, hits)["failed payments -> a recovery workflow each"]
    assert missed.missing == 1


def test_freshness_runs_from_the_first_2xx_to_the_first_visible_row():
    ledger = {0: ledger_entry("stripe", "evt_a"), 1: ledger_entry("stripe", "evt_a")}
    hits = [Hit(0, 202, 100.0, 0.5, ""), Hit(1, 202, 103.0, 0.5, "")]  # 1 redelivers 0
    accepted = accepted_at(hits, raw_keys(ledger))
    assert accepted == {"stripe:evt_a": 100.5}
    landed = Landed(payments=[("stripe:evt_a", "E1", "payment.succeeded", 104.5)],
                    enrichments=[("E1", 112.5), ("E1", 120.0)])  # fmt: skip
    payments, enrichments = freshness(landed, accepted)
    assert payments == [(100.5, 4.0)]
    assert enrichments == [(100.5, 12.0)]


# -- lag growth -----------------------------------------------------------------------------


def series(seconds: int, arrive: float, consume: float, backlog: float = 0.0, every: int = 5):
    """Samples every second: end offsets grow by `arrive`/s; the group commits on each
    checkpoint (`every` s) what it has consumed by then, at `consume`/s, starting
    `backlog` messages behind."""
    times, ends, committed = [], [], []
    for t in range(seconds):
        end = int(arrive * t + backlog)
        done = min(end, int(consume * (t - t % every)))
        times.append(float(t))
        ends.append(end)
        committed.append(done)
    return times, ends, committed


def test_a_job_that_keeps_up_has_a_level_sawtooth_lag():
    trend = lag_trend(*series(600, arrive=2000, consume=2000))
    assert not trend.growing
    assert trend.consumed_share == pytest.approx(1.0, abs=0.005)


def test_a_job_that_consumes_less_than_arrives_is_growing():
    trend = lag_trend(*series(600, arrive=2000, consume=1800))
    assert trend.growing
    assert trend.consumed_share == pytest.approx(0.9, abs=0.01)
    assert lag_trend(*series(600, arrive=2000, consume=1960)).growing  # 2% short


def test_a_backlog_drained_during_the_warm_up_is_not_growth():
    # 50,000 behind at the start, consumed at 2,500/s: caught up after ~100 s.
    trend = lag_trend(*series(600, arrive=2000, consume=2500, backlog=50_000))
    assert not trend.growing


def test_an_idle_topic_or_a_short_run_is_not_growth():
    assert not lag_trend(*series(60, arrive=0, consume=0)).growing
    assert not lag_trend([], [], []).growing
    # Ten seconds at 100/s: the sawtooth of two checkpoints is not a trend.
    assert not lag_trend(*series(10, arrive=100, consume=100)).growing


# -- CPU and windows ------------------------------------------------------------------------


def test_mean_cpu_ignores_samples_after_a_process_has_exited():
    samples = [
        (0.0, {"gateway": TreeUsage(10.0, 100), "client": TreeUsage(1.0, 10)}),
        (10.0, {"gateway": TreeUsage(15.0, 110), "client": TreeUsage(3.0, 10)}),
        (20.0, {"gateway": TreeUsage(20.0, 120), "client": TreeUsage(0.0, 0)}),  # exited
    ]
    cpu = mean_cpu_percent(samples)
    assert cpu["gateway"] == pytest.approx(50.0)
    assert cpu["client"] == pytest.approx(20.0)


def test_windows_group_points_by_time():
    grouped = windows([(0.5, 1.0), (4.9, 2.0), (5.0, 3.0), (12.0, 4.0)], 5.0)
    assert grouped == [(0.0, [1.0, 2.0]), (5.0, [3.0]), (10.0, [4.0])]


# -- the whole analysis, on a synthetic run -------------------------------------------------


def synthetic_run(lagging: bool) -> tuple[Observed, dict, Landed]:
    """Ten webhooks a second for 60 s, all accepted; the bridge falls behind if `lagging`."""
    t0 = 1_000.0
    ledger = {n: ledger_entry("stripe", f"evt_{n}") for n in range(600)}
    hits = [Hit(n, 202, t0 + n / 10, 0.02, "") for n in range(600)]
    observed = Observed(started=t0, hits=hits)
    for second in range(0, 61, 5):
        end = 10 * second
        done = end - (second * 5 if lagging else end % 50)
        observed.samples.append(
            Sample(
                at=t0 + second,
                offsets={"bridge": (end, done), "payments-normalization": (end, end)},
                usage={"gateway": TreeUsage(second * 0.3, 90), "client: targets": TreeUsage(0, 5)},
                loading=True,
            )
        )
    landed = Landed(
        payments=[
            (f"stripe:evt_{n}", f"E{n}", "payment.failed" if n % 10 == 0 else "x", t0 + n / 10 + 3)
            for n in range(600)
        ],
        enrichments=[(f"E{n}", t0 + n / 10 + 9) for n in range(600)],
        recoveries=[recovery_workflow_id(f"E{n}") for n in range(0, 600, 10)],
    )
    return observed, ledger, landed


def test_the_analysis_says_when_the_rate_is_not_sustained(tmp_path):
    settings = SoakSettings(rate=10, duration="60s")
    observed, ledger, landed = synthetic_run(lagging=True)
    result = analyse(settings, observed, ledger, landed, 5.0, tmp_path)
    assert "The lag of bridge grew through the run" in result.reason
    assert "not sustained" in result.reason and "Reconciliation exact." in result.reason
    # The bridge commits 5 of the 10 messages a second arriving: the stage that limits.
    assert "The stage that limits is bridge: it consumed 5 of the 10 msg/s" in result.reason
    assert "(50%)" in result.reason
    rows = {row["figure"]: row for row in result.rows}
    assert rows["webhooks sent/s"]["ratio"] == pytest.approx(10 / 2000, rel=0.01)
    assert rows["freshness 2xx -> payments p95 s"]["value"] == pytest.approx(2.98)
    assert rows["freshness 2xx -> payment_enrichments p95 s"]["ratio"] == pytest.approx(8.98 / 15)
    assert rows["CPU gateway % of a core"]["value"] == pytest.approx(30.0)
    assert all(Path(plot).exists() for plot in result.plots) and len(result.plots) == 4

    steady = analyse(settings, *synthetic_run(lagging=False), 5.0, tmp_path)
    assert "No consumer lag grew through the run" in steady.reason


def test_the_soak_section_is_rendered_beside_the_other_benchmarks(tmp_path):
    settings = SoakSettings(rate=10, duration="60s")
    result = analyse(settings, *synthetic_run(lagging=False), 5.0, tmp_path)
    machine = {"cpu_model": "x", "cpus": 2, "memory_gib": 1, "kernel": "k", "versions": {}}
    previous = "\n### gateway\n\nold gateway figures\n"
    figures = render_figures([result], machine, tmp_path, "python -m bench.soak", previous)
    assert "### gateway\n\nold gateway figures" in figures
    section = figures.split("### soak", 1)[1]
    assert "| figure | value | target | ratio | note |" in section
    assert "payments -> one payment_enrichments row each" in section


def _answered_line(n: int, sent: str, latency_ns: int, server_date: str) -> str:
    result = json.loads(result_line(n, 202, sent, latency_ns))
    return json.dumps(result | {"headers": {"Date": [server_date]}})


def test_hits_are_moved_to_the_wall_clock_when_vegeta_s_clock_lags_it(tmp_path):
    path = tmp_path / "results.jsonl"
    # Answered at 16:00:00.25 and 16:00:01.95 by vegeta's clock, 27 s later by the server's.
    path.write_text(
        _answered_line(0, "2026-12-02T16:00:00.2Z", 50_000_000, "Wed, 02 Dec 2026 16:00:27 GMT")
        + "\n"
        + _answered_line(1, "2026-12-02T16:00:01.9Z", 50_000_000, "Wed, 02 Dec 2026 16:00:28 GMT")
        + "\n"
    )
    reader = HitReader(path)
    hits = reader.new_hits()
    # The first bounds the shift tighter (26.75 s, against 26.05 s for the second).
    assert reader.clock_shift == pytest.approx(26.75)
    assert [h.sent for h in hits] == pytest.approx(
        [epoch_seconds("2026-12-02T16:00:26.95Z"), epoch_seconds("2026-12-02T16:00:28.65Z")]
    )


def test_hits_keep_vegeta_s_stamps_when_the_clocks_agree(tmp_path):
    path = tmp_path / "results.jsonl"
    line = _answered_line(0, "2026-12-02T16:00:00.2Z", 50_000_000, "Wed, 02 Dec 2026 16:00:00 GMT")
    path.write_text(line + "\n")
    reader = HitReader(path)
    assert reader.new_hits()[0].sent == pytest.approx(epoch_seconds("2026-12-02T16:00:00.2Z"))
    assert reader.clock_shift == pytest.approx(-0.25)
