"""`python -m loadgen.webhooks --rate 50 --duration 30s [--url ...] [--concurrency 32]
[--seed N] [--bad-share 0.05] [--redelivery-share 0.05]`.

Exits 0 when every request got the answer its event expects, 1 when some did not, and
2 when the gateway is not reachable.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
from pydantic import ValidationError

from deploy.local.settings import StackSettings
from gateway.settings import LOCAL_SECRETS_FILE
from loadgen.durations import duration_argument
from loadgen.webhooks.events import Mix, generate_events
from loadgen.webhooks.sender import Credentials, Outcome, post_events

PROGRESS_EVERY_SECONDS = 2.0


def share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a share is between 0 and 1, not {value}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadgen.webhooks",
        description="Sends signed Stripe and Square webhooks to the gateway.",
    )
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--duration", type=duration_argument, default=30.0, help="e.g. 30s, 5m")
    parser.add_argument(
        "--url",
        default=None,
        help="the gateway (default: the local platform's, port PAYSTREAM_GATEWAY_PORT)",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight, max")
    parser.add_argument("--seed", type=int, default=None, help="same seed, same events")
    parser.add_argument("--bad-share", type=share, default=0.05)
    parser.add_argument("--redelivery-share", type=share, default=0.05)
    args = parser.parse_args(argv)
    if args.url is None:
        args.url = f"http://127.0.0.1:{StackSettings().gateway_port}"
    if args.rate <= 0 or args.concurrency < 1:
        parser.error("--rate must be positive and --concurrency at least 1")
    if args.bad_share + args.redelivery_share > 1:
        parser.error("--bad-share plus --redelivery-share is over 1")
    return args


@dataclass
class Progress:
    total: int
    started: float = field(default_factory=time.monotonic)
    statuses: Counter[str] = field(default_factory=Counter)
    unexpected: int = 0
    last_print: float = 0.0

    def __call__(self, outcome: Outcome) -> None:
        self.statuses[str(outcome.status) if outcome.status else "error"] += 1
        self.unexpected += not outcome.as_expected
        now = time.monotonic()
        if now - self.last_print >= PROGRESS_EVERY_SECONDS:
            self.last_print = now
            print(self.line(), file=sys.stderr, flush=True)

    def line(self) -> str:
        sent = sum(self.statuses.values())
        rate = sent / max(time.monotonic() - self.started, 1e-9)
        by_status = " ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))
        return (
            f"sent {sent}/{self.total}  {by_status}  {rate:.1f} req/s  "
            f"errors {self.statuses['error']}  unexpected {self.unexpected}"
        )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def summary(outcomes: list[Outcome], seconds: float) -> str:
    by_kind: Counter[tuple[str, str, str]] = Counter()
    for o in outcomes:
        by_kind[(o.event.kind.value, str(o.event.expected_status), str(o.status))] += 1
    latencies = [o.latency_ms for o in outcomes if o.status is not None]
    lines = [
        f"sent {len(outcomes)} requests in {seconds:.1f}s ({len(outcomes) / seconds:.1f}/s); "
        f"latency p50 {percentile(latencies, 0.5):.1f} ms, "
        f"p99 {percentile(latencies, 0.99):.1f} ms",
        f"{'kind':<14} {'expected':>8} {'got':>6} {'count':>6}",
    ]
    for (kind, expected, got), count in sorted(by_kind.items()):
        lines.append(f"{kind:<14} {expected:>8} {got:>6} {count:>6}")
    bad = [o for o in outcomes if not o.as_expected]
    lines.append(f"unexpected answers: {len(bad)}")
    for o in bad[:5]:
        lines.append(f"  {o.request_id} {o.event.kind.value} got {o.status} {o.error or ''}")
    return "\n".join(lines)


def gateway_reachable(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not gateway_reachable(args.url):
        print(
            f"simulator: the gateway at {args.url} is not reachable: "
            "start it with `make up` / `make gateway`",
            file=sys.stderr,
        )
        return 2
    try:
        credentials = Credentials()  # type: ignore[call-arg]
    except ValidationError as exc:
        print(
            f"simulator: no webhook secrets (GATEWAY_* or {LOCAL_SECRETS_FILE}, which"
            f" `make up` generates): {exc}",
            file=sys.stderr,
        )
        return 2
    count = max(1, int(args.rate * args.duration))
    mix = Mix(bad_share=args.bad_share, redelivery_share=args.redelivery_share)
    seed = args.seed if args.seed is not None else int(time.time())
    events = generate_events(count, seed=seed, mix=mix, start=int(time.time()))
    print(f"simulator: {count} events (seed {seed}) to {args.url} at {args.rate}/s", flush=True)
    progress = Progress(count)
    started = time.monotonic()
    outcomes = asyncio.run(
        post_events(events, args.url, credentials, args.rate, args.concurrency,
                    run_id=uuid.uuid4().hex[:8], on_outcome=progress)
    )  # fmt: skip
    print(progress.line(), file=sys.stderr)
    print(summary(outcomes, time.monotonic() - started))
    return 0 if all(o.as_expected for o in outcomes) else 1
