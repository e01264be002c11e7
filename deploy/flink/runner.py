"""How a job's script reaches the cluster: one interface, `Runner`, over the SQL client.

The submitter (`policy.py`) decides what runs and from which restore point; a runner only
runs a script it is given and says which job it started. Every job is a SQL script
(`flink_jobs.job.SqlJob`), so the SQL client is the only runner.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Protocol

from deploy.local.clients import flink_sql_command
from deploy.local.render import render_all
from deploy.local.settings import StackSettings
from flink_jobs.ddl import literal
from flink_jobs.job import JobSettings, SqlJob
from lakehouse.settings import LakehouseSettings

# The Flink 2.x key (1.x's `execution.savepoint.path` still works, deprecated); it takes a
# savepoint folder or a retained checkpoint's `chk-N` folder alike.
RESTORE_PATH_KEY = "execution.state-recovery.path"

JOB_ID = re.compile(r"Job ID:\s*([0-9a-f]{32})")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
PIPELINE_NAME = re.compile(r"SET\s+'pipeline\.name'\s*=\s*'((?:[^']|'')*)'", re.IGNORECASE)


# What Flink says when a savepoint's operators are not in the job's new plan.
UNMAPPABLE_STATE = "Cannot map checkpoint/savepoint state"


def unmappable_state_hint(output: str) -> str:
    """What to do when the job's SQL changed shape since its savepoint or checkpoint."""
    if UNMAPPABLE_STATE not in output:
        return ""
    return (
        "\nThe job's SQL changed shape since that state was taken (its operators differ). "
        "After `make stop-jobs` (a savepoint commits the sources' Kafka offsets and the "
        "sinks' last data), `make submit FRESH=1` starts the new SQL from those offsets; "
        "the normalisation job's redelivery numbering starts empty."
    )


class SubmitError(RuntimeError):
    """A job could not be submitted or controlled; the message says why and what to do."""


def render_submission(job: SqlJob, settings: JobSettings, restore_from: str | None) -> str:
    """The script the SQL client runs: the job's own, after its name and restore path."""
    script = job.render(settings)
    declared_names = PIPELINE_NAME.findall(script)
    for declared in declared_names:
        if declared.replace("''", "'") != job.name:
            raise SubmitError(
                f"job {job.name!r} sets 'pipeline.name' to {declared!r}: the submitter "
                "recognises a running copy by its name, so they must be equal"
            )
    header = [
        f"-- {job.name}: {job.description}",
        "-- Written by the submitter (deploy/flink); run after the catalog's init file.",
    ]
    if not declared_names:  # the job's own configuration block usually sets it already
        header.append(f"SET 'pipeline.name' = {literal(job.name)};")
    if restore_from:
        header.append(f"SET '{RESTORE_PATH_KEY}' = {literal(restore_from)};")
    return "\n".join(header) + "\n\n" + script.strip() + "\n"


def sql_client_error(output: str) -> str | None:
    """The SQL client's first error and the lines that explain it (it exits 0 on errors)."""
    lines = ANSI_ESCAPE.sub("", output).splitlines()
    for index, line in enumerate(lines):
        if "[ERROR]" in line:
            block = [line[line.index("[ERROR]") :]]
            for following in lines[index + 1 : index + 12]:
                if not following.strip() or following.startswith("Flink SQL>"):
                    break
                block.append(following)
            return "\n".join(block)
    return None


def parse_job_id(output: str) -> str:
    """The id of the job the SQL client submitted."""
    ids = JOB_ID.findall(ANSI_ESCAPE.sub("", output))
    if len(ids) != 1:
        raise SubmitError(
            f"expected one 'Job ID:' in the SQL client's output, found {len(ids)}:\n"
            + "\n".join(ANSI_ESCAPE.sub("", output).strip().splitlines()[-15:])
        )
    return str(ids[0])


class Runner(Protocol):
    def run(self, script: Path) -> str:
        """Starts the job of `script` (detached) and returns its job id."""
        ...


class SqlClientRunner:
    """`sql-client.sh -i <catalog init> -f <script>` against the local cluster."""

    def __init__(
        self, stack: StackSettings, lakehouse: LakehouseSettings, timeout_seconds: float
    ) -> None:
        self.stack = stack
        self.lakehouse = lakehouse
        self.timeout_seconds = timeout_seconds

    def run(self, script: Path) -> str:
        # The init file registers the catalog; rendering keeps it in step with the settings.
        render_all(self.stack, self.lakehouse)
        command, env = flink_sql_command(self.stack, ["-f", str(script)])
        try:
            result = subprocess.run(
                command,
                env=env,
                capture_output=True,
                text=True,
                timeout=self.timeout_seconds,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SubmitError(
                f"the SQL client did not finish {script} in {self.timeout_seconds:.0f}s"
            ) from exc
        output = result.stdout + result.stderr
        error = sql_client_error(output)
        if result.returncode != 0 or error:
            raise SubmitError(
                f"the SQL client failed on {script} (exit {result.returncode}):\n"
                + (error or output[-3000:])
                + unmappable_state_hint(output)
            )
        return parse_job_id(output)
