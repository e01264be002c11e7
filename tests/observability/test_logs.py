"""Every service logs one JSON object per line, with the fields a call chooses and no more."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from contextlib import redirect_stderr

import pytest

from observability.logs import FIELDS, configure_json_logging, json_formatter


def render(record: logging.LogRecord) -> dict:
    return json.loads(json_formatter().format(record))


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("workflows.bridge", logging.INFO, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_a_record_is_one_json_object_with_its_fields():
    line = render(record("started %s (%d events)", "wf-1", 3, fields={"workflow_id": "wf-1"}))
    assert line["message"] == "started wf-1 (3 events)"
    assert line["level"] == "info"
    assert line["logger"] == "workflows.bridge"
    assert line["workflow_id"] == "wf-1"
    assert line["ts"].endswith("Z")


def test_attributes_a_call_did_not_choose_are_not_written():
    line = render(record("webhook accepted", body=b'{"secret": "whsec_x"}', fields={"status": 200}))
    assert "body" not in line
    assert "whsec_x" not in json.dumps(line)
    assert line["status"] == 200


def test_a_traceback_is_the_error_field():
    try:
        raise ValueError("broken")
    except ValueError:
        failed = record("could not score")
        failed.exc_info = sys.exc_info()
    line = render(failed)
    assert "ValueError: broken" in line["error"]


@pytest.mark.parametrize("module", ["workflows.worker", "workflows.bridge", "inference.__main__"])
def test_each_service_entrypoint_configures_json_logging(module: str):
    """The entrypoint's main() sets up JSON logs before anything runs (checked without
    starting the service: its main() is replaced after the logging call is made)."""
    probe = (
        "import logging, importlib, sys\n"
        "import observability.logs as logs\n"
        f"m = importlib.import_module({module!r})\n"
        "called = []\n"
        "orig = logs.configure_json_logging\n"
        "def spy(*a, **k):\n"
        "    orig(*a, **k); called.append(1); raise SystemExit(0)\n"
        "setattr(m, 'configure_json_logging', spy)\n"
        "try:\n"
        "    m.main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "logging.getLogger('x').info('ready', extra={'fields': {'k': 1}})\n"
        "sys.exit(0 if called else 3)\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    last = json.loads(run.stderr.strip().splitlines()[-1])
    assert last["message"] == "ready"
    assert last["k"] == 1


def test_configuring_twice_adds_one_handler():
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        configure_json_logging()
        configure_json_logging()
        added = [h for h in root.handlers if h not in before]
        assert len(added) <= 1
        stream = io.StringIO()
        with redirect_stderr(stream):
            logging.getLogger("tests.logs").info("x", extra={FIELDS: {"event_id": "e1"}})
        assert json.loads(stream.getvalue().splitlines()[-1])["event_id"] == "e1"
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
