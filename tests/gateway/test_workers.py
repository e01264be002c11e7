"""Several worker processes: the worker count setting, how `python -m gateway` starts
uvicorn, and /metrics totals over every process (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

import gateway.__main__ as entry
from contracts.paths import REPO_ROOT
from gateway.metrics import MULTIPROC_ENV, prepare_multiprocess_dir
from gateway.settings import GatewaySettings


def test_two_workers_by_default_and_the_count_from_the_environment(monkeypatch):
    monkeypatch.delenv("GATEWAY_WORKERS", raising=False)
    assert GatewaySettings().workers == 2
    monkeypatch.setenv("GATEWAY_WORKERS", "3")
    assert GatewaySettings().workers == 3
    monkeypatch.setenv("GATEWAY_WORKERS", "0")
    with pytest.raises(ValidationError):
        GatewaySettings()


def test_uvicorn_runs_the_settings_worker_count_on_the_shared_port():
    options = entry.uvicorn_options(GatewaySettings(workers=4, port=8123))
    assert (options["workers"], options["port"], options["host"]) == (4, 8123, "127.0.0.1")
    assert (options["loop"], options["http"], options["access_log"]) == (
        "uvloop",
        "httptools",
        False,
    )


@pytest.fixture
def started(monkeypatch, tmp_path) -> list[tuple[str, dict]]:
    """What `main` hands uvicorn, instead of serving; metrics files under tmp_path."""
    calls: list[tuple[str, dict]] = []
    monkeypatch.setattr(entry.uvicorn, "run", lambda app, **options: calls.append((app, options)))
    # Set, then removed: monkeypatch then restores each as it was, though `main` writes
    # them (the env file's values, the metrics folder) straight into os.environ.
    for name in (
        MULTIPROC_ENV,
        "GATEWAY_WORKERS",
        "GATEWAY_PORT",
        "GATEWAY_STRIPE_WEBHOOK_SECRETS",
    ):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("GATEWAY_METRICS_DIR", str(tmp_path / "m"))
    return calls


def test_the_env_file_reaches_every_worker_and_the_environment_wins(started, monkeypatch, tmp_path):
    env_file = tmp_path / "gateway.env"
    env_file.write_text(
        "GATEWAY_WORKERS=3\nGATEWAY_PORT=8111\nGATEWAY_STRIPE_WEBHOOK_SECRETS=whsec_f\n"
    )
    monkeypatch.setenv("GATEWAY_PORT", "8222")
    entry.main(["--env-file", str(env_file)])
    [(app, options)] = started
    # Workers import the app by name and build it from the environment they inherit.
    assert app == "gateway.main:app"
    assert (options["workers"], options["port"]) == (3, 8222)
    assert GatewaySettings().stripe_secrets == ("whsec_f",)


def test_several_workers_get_an_emptied_metrics_folder(started, monkeypatch, tmp_path):
    stale = tmp_path / "m" / "counter_999.db"
    stale.parent.mkdir()
    stale.write_bytes(b"old")
    monkeypatch.setenv("GATEWAY_WORKERS", "2")
    entry.main([])
    assert list((tmp_path / "m").iterdir()) == []
    assert os.environ[MULTIPROC_ENV] == str(tmp_path / "m")


def test_one_worker_keeps_its_metrics_in_memory(started, monkeypatch):
    monkeypatch.setenv("GATEWAY_WORKERS", "1")
    entry.main([])
    assert MULTIPROC_ENV not in os.environ


WORKER = textwrap.dedent(
    """
    from gateway.metrics import GatewayMetrics
    metrics = GatewayMetrics()
    metrics.requests.labels("stripe", "accepted").inc({n})
    metrics.latency.labels("stripe").observe(0.004)
    metrics.producer_restarts.inc()
    """
)
EXPOSE = textwrap.dedent(
    """
    import sys
    from gateway.metrics import GatewayMetrics
    sys.stdout.write(GatewayMetrics().exposition().decode())
    """
)


def run_python(code: str, folder: Path) -> str:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), MULTIPROC_ENV: str(folder)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_metrics_sum_every_worker_process(tmp_path, monkeypatch):
    monkeypatch.setenv(MULTIPROC_ENV, "")  # restored afterwards: prepare sets it
    folder = prepare_multiprocess_dir(tmp_path / "metrics")
    for n in (3, 4):  # two workers, each its own process (and pid)
        run_python(WORKER.format(n=n), folder)
    text = run_python(EXPOSE, folder)  # whichever worker answers /metrics
    assert 'gateway_requests_total{outcome="accepted",provider="stripe"} 7.0' in text
    assert 'gateway_request_duration_seconds_count{provider="stripe"} 2.0' in text
    assert "gateway_producer_restarts_total 2.0" in text
