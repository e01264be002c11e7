"""Security checks on the running platform (`make up`): nothing listens beyond loopback,
PostgreSQL refuses a connection without its password, the gateway refuses what the old
committed dev secrets sign and its log holds neither a secret nor a body. Read-only: no
service is stopped or reconfigured, and nothing is written to a topic."""

from __future__ import annotations

import json
import stat
import time
import uuid

import httpx
import psycopg
import pytest

from deploy.local.secret_files import read_env_file
from deploy.local.settings import StackSettings
from deploy.local.stack import Stack
from gateway.providers.square import sign_square
from gateway.providers.stripe import sign_stripe
from gateway.settings import LOCAL_SECRETS_FILE
from lakehouse.settings import CATALOG_SECRETS_FILE, POSTGRES_SECRETS_FILE, LakehouseSettings
from tests.deploy.sockets import command_line, listeners_of, process_tree
from tests.deploy.test_security import OLD_SQUARE_KEY, OLD_STRIPE_SECRETS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack() -> Stack:
    stack = Stack(StackSettings(), LakehouseSettings())
    if not stack.supervisord_running():
        pytest.fail("the local platform is not running: `make up` first")
    return stack


def supervisord_pid(stack: Stack) -> int:
    return int(stack.supervisorctl("pid").stdout.strip())


def test_nothing_listens_beyond_loopback(stack):
    tree = process_tree(supervisord_pid(stack))
    listeners = listeners_of(tree)
    exposed = sorted(
        f"{listener.address}:{listener.port} ({command_line(pid)})"
        for listener, pid in listeners.items()
        if not listener.loopback
    )
    assert exposed == [], "listening beyond loopback:\n" + "\n".join(exposed)
    # Not vacuous: every port the platform declares is among what its processes hold.
    held = {listener.port for listener in listeners}
    missing = sorted(set(stack.ports()) - held)
    assert missing == [], f"ports of the platform not found among its sockets: {missing}"


def connects(lakehouse: LakehouseSettings, user: str, password: str | None, db: str) -> bool:
    try:
        with psycopg.connect(
            host=lakehouse.catalog_db_host, port=lakehouse.catalog_db_port, user=user,
            password=password, dbname=db, connect_timeout=5,
        ):  # fmt: skip
            return True
    except psycopg.OperationalError as exc:
        assert "password" in str(exc), exc  # refused for the password, not for being down
        return False


def test_postgres_refuses_a_connection_without_the_password(stack):
    lh, superuser = stack.lakehouse, stack.settings.postgres_password
    for user, db, right in (
        ("postgres", "postgres", superuser),
        (lh.catalog_db_user, lh.catalog_db_name, lh.catalog_db_password),
    ):
        assert not connects(lh, user, None, db), f"{user} got in without a password"
        assert not connects(lh, user, "", db)
        assert not connects(lh, user, "lakehouse-dev", db)  # the old committed one
        assert connects(lh, user, right, db)


def test_the_generated_secrets_are_private(stack):
    files = [POSTGRES_SECRETS_FILE, CATALOG_SECRETS_FILE, LOCAL_SECRETS_FILE]
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(POSTGRES_SECRETS_FILE.parent.stat().st_mode) == 0o700
    for name in ("trino/catalog/lakehouse.properties", "flink/init.sql"):
        assert stat.S_IMODE((stack.settings.conf_dir / name).stat().st_mode) == 0o600


def test_the_gateway_refuses_a_request_signed_with_the_old_committed_dev_secret(stack):
    url = f"http://127.0.0.1:{stack.settings.gateway_port}"
    marker = f"sec_it_{uuid.uuid4().hex}"
    body = json.dumps(
        {"id": f"evt_{marker}", "type": "charge.succeeded", "account": "acct_sec", "note": marker}
    ).encode()
    log = stack.log_file("gateway")
    log_start = log.stat().st_size
    request_ids = []
    for secret in OLD_STRIPE_SECRETS:
        request_id = f"{marker}-stripe-{len(request_ids)}"
        headers = {**sign_stripe(body, (secret,), int(time.time())), "X-Request-Id": request_id}
        answer = httpx.post(f"{url}/webhooks/stripe", content=body, headers=headers, timeout=10)
        assert answer.status_code == 400, answer.text
        request_ids.append(request_id)
    square_url = read_env_file(LOCAL_SECRETS_FILE)["GATEWAY_SQUARE_NOTIFICATION_URL"]
    headers = {**sign_square(body, OLD_SQUARE_KEY, square_url), "X-Request-Id": f"{marker}-sq"}
    answer = httpx.post(f"{url}/webhooks/square", content=body, headers=headers, timeout=10)
    assert answer.status_code == 400, answer.text
    request_ids.append(f"{marker}-sq")

    # The gateway's log tells of the refusals, without the body or any secret.
    deadline = time.monotonic() + 10
    while True:
        with log.open("rb") as file:
            file.seek(log_start)
            written = file.read().decode(errors="replace")
        if all(request_id in written for request_id in request_ids):
            break
        assert time.monotonic() < deadline, f"no log line for {request_ids}:\n{written[-2000:]}"
        time.sleep(0.3)
    secrets_ = [
        value
        for key, value in read_env_file(LOCAL_SECRETS_FILE).items()
        if key != "GATEWAY_SQUARE_NOTIFICATION_URL"
    ]
    values = [*secrets_, *secrets_[0].split(","), body.decode(), f'"note": "{marker}"']
    whole_log = log.read_text(errors="replace")
    assert [value for value in values if value in whole_log] == []
