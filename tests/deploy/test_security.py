"""Secrets of the local platform: generated, private, read through settings, never a
committed one; the catalog database asks every client for its password; the gateway's
logs hold no secret and no body. (The checks on the running platform are in
test_security_platform.py.)"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pydantic import ValidationError

from contracts.paths import REPO_ROOT
from deploy.local.secret_files import ensure_platform_secrets, read_env_file
from deploy.local.services import postgres_bin_dir, running_as_root
from deploy.local.settings import StackSettings
from deploy.local.stack import PG_HBA, Stack
from gateway.main import create_app
from gateway.providers.square import sign_square
from gateway.providers.stripe import sign_stripe
from gateway.settings import GatewaySettings
from lakehouse.settings import LakehouseSettings
from tests.deploy.sockets import Listener, decode_address, parse_proc_net_tcp
from tests.gateway.doubles import RecordingPublisher
from tests.workflows.harness import free_port
from tests.workflows.private_services import PrivateProcess
from workflows.settings import WorkflowSettings

# What gateway/dev.env held until it was removed: committed, so public.
OLD_STRIPE_SECRETS = (
    "whsec_rJI7nlN3oaGfy5VIDcqhVx1TbmyUO1Vk",
    "whsec_esv9BI3vJxOsjQaxzGEmd5xsCTWfKhPY",
)
OLD_SQUARE_KEY = "C9uXUQIMZnjCTaw0sOgJa0"
OLD_DEV_ENV = (
    f"GATEWAY_STRIPE_WEBHOOK_SECRETS={','.join(OLD_STRIPE_SECRETS)}\n"
    f"GATEWAY_SQUARE_SIGNATURE_KEY={OLD_SQUARE_KEY}\n"
    "GATEWAY_SQUARE_NOTIFICATION_URL=http://127.0.0.1:8000/webhooks/square\n"
)


def generated(tmp_path: Path) -> tuple[Path, Path, Path]:
    postgres, catalog, gateway = ensure_platform_secrets(
        8000, tmp_path / "s" / "postgres.env", tmp_path / "s" / "catalog.env",
        tmp_path / "s" / "gateway.env",
    )  # fmt: skip
    return postgres, catalog, gateway


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- generated secrets -----------------------------------------------------------------------


def test_secrets_are_generated_owner_only_and_kept_across_ups(tmp_path):
    files = generated(tmp_path)
    assert mode(tmp_path / "s") == 0o700
    assert all(mode(path) == 0o600 for path in files)
    first = [read_env_file(path) for path in files]
    values = [value for env in first for key, value in env.items() if "URL" not in key]
    assert len(values) == 4 and len(set(values)) == 4  # all different
    assert all(len(value) >= 43 for value in values)  # >= 32 random bytes each
    # A second `make up` keeps every value; a key lost from a file is generated again.
    files[1].write_text("# emptied\n")
    files[0].chmod(0o644)
    again = [read_env_file(path) for path in generated(tmp_path)]
    assert again[0] == first[0] and again[2] == first[2]
    assert again[1].keys() == first[1].keys() and again[1] != first[1]
    assert mode(files[0]) == 0o600


def test_two_checkouts_get_different_secrets(tmp_path):
    a, b = generated(tmp_path / "a"), generated(tmp_path / "b")
    assert read_env_file(a[2]) != read_env_file(b[2])
    assert read_env_file(a[0]) != read_env_file(b[0])


def test_every_client_reads_its_password_through_settings(tmp_path, monkeypatch):
    postgres, catalog, gateway = generated(tmp_path)
    catalog_password = read_env_file(catalog)["LAKEHOUSE_CATALOG_DB_PASSWORD"]
    monkeypatch.delenv("LAKEHOUSE_CATALOG_DB_PASSWORD", raising=False)
    lakehouse = LakehouseSettings(_env_file=catalog)  # type: ignore[call-arg]
    assert lakehouse.catalog_db_password == catalog_password
    assert f":{catalog_password}@" in lakehouse.sqlalchemy_uri  # PyIceberg
    stack = StackSettings(_env_file=postgres)  # type: ignore[call-arg]
    assert stack.postgres_password == read_env_file(postgres)["PAYSTREAM_POSTGRES_PASSWORD"]
    gateway_settings = GatewaySettings(_env_file=gateway)  # type: ignore[call-arg]
    assert gateway_settings.stripe_secrets == tuple(
        read_env_file(gateway)["GATEWAY_STRIPE_WEBHOOK_SECRETS"].split(",")
    )
    monkeypatch.setenv("LAKEHOUSE_CATALOG_DB_PASSWORD", catalog_password)
    assert f":{catalog_password}@" in WorkflowSettings().postgres_dsn  # the workflows' stores


def test_a_first_up_gives_the_stack_the_passwords_it_generated(tmp_path, monkeypatch):
    """A fresh clone: the settings were read before the secret files existed."""
    import deploy.local.stack as stack_module

    files = (tmp_path / "s" / "postgres.env", tmp_path / "s" / "catalog.env")
    monkeypatch.setitem(StackSettings.model_config, "env_file", files[0])
    monkeypatch.setitem(LakehouseSettings.model_config, "env_file", files[1])
    monkeypatch.delenv("PAYSTREAM_POSTGRES_PASSWORD", raising=False)
    monkeypatch.delenv("LAKEHOUSE_CATALOG_DB_PASSWORD", raising=False)
    monkeypatch.setattr(
        stack_module, "ensure_platform_secrets",
        lambda gateway_port: ensure_platform_secrets(gateway_port, *files, tmp_path / "g.env"),
    )  # fmt: skip
    stack = Stack(StackSettings(run_dir=tmp_path / "run"), LakehouseSettings())
    assert stack.settings.postgres_password == stack.lakehouse.catalog_db_password == ""
    stack.ensure_secrets()
    assert (
        stack.settings.postgres_password == read_env_file(files[0])["PAYSTREAM_POSTGRES_PASSWORD"]
    )
    assert (
        stack.lakehouse.catalog_db_password
        == read_env_file(files[1])["LAKEHOUSE_CATALOG_DB_PASSWORD"]
    )
    assert stack.settings.run_dir == tmp_path / "run"  # the caller's settings are kept


def test_flink_and_trino_configuration_carry_the_catalog_password_owner_only(tmp_path):
    password = secrets.token_urlsafe(32)
    stack = Stack(
        StackSettings(run_dir=tmp_path / "run", postgres_password="x"),
        LakehouseSettings(catalog_db_password=password, warehouse=(tmp_path / "w").as_uri()),
    )
    stack.render()
    trino = stack.settings.conf_dir / "trino" / "catalog" / "lakehouse.properties"
    flink = stack.settings.conf_dir / "flink" / "init.sql"
    assert f"iceberg.jdbc-catalog.connection-password={password}\n" in trino.read_text()
    assert f"'jdbc.password' = '{password}'" in flink.read_text()
    assert mode(trino) == 0o600 and mode(flink) == 0o600


def test_the_secrets_folder_is_ignored_by_git():
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".run/secrets/gateway.env"], cwd=REPO_ROOT, check=False
    )
    assert ignored.returncode == 0
    assert not (REPO_ROOT / "gateway" / "dev.env").exists()


# -- committed secrets are refused -----------------------------------------------------------


@pytest.mark.parametrize(
    "secrets_",
    [
        {"stripe_webhook_secrets": OLD_STRIPE_SECRETS[0]},
        {"stripe_webhook_secrets": f"whsec_{secrets.token_urlsafe(24)},{OLD_STRIPE_SECRETS[1]}"},
        {"square_signature_key": OLD_SQUARE_KEY},
    ],
    ids=["stripe-current", "stripe-previous", "square"],
)
def test_the_gateway_refuses_a_committed_secret(secrets_):
    with pytest.raises(ValidationError, match="committed"):
        GatewaySettings(**secrets_)


def test_the_gateway_does_not_start_with_the_old_dev_env(tmp_path):
    env_file = tmp_path / "dev.env"
    env_file.write_text(OLD_DEV_ENV)
    env = {**os.environ, "GATEWAY_PORT": str(free_port())}
    for name in ("GATEWAY_STRIPE_WEBHOOK_SECRETS", "GATEWAY_SQUARE_SIGNATURE_KEY"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--env-file", str(env_file)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"the gateway started with the committed secrets:\n{output[-2000:]}")
    assert process.returncode != 0
    assert "committed" in output


def test_the_committed_catalog_password_is_refused(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_CATALOG_DB_PASSWORD", "lakehouse-dev")
    with pytest.raises(ValidationError, match="committed"):
        LakehouseSettings()


# -- the gateway's logs ------------------------------------------------------------------------


def test_the_gateway_logs_no_secret_and_no_body(capsys):
    from fastapi.testclient import TestClient

    stripe_secrets = (f"whsec_{secrets.token_urlsafe(24)}", f"whsec_{secrets.token_urlsafe(24)}")
    square_key = secrets.token_urlsafe(24)
    square_url = "http://127.0.0.1:8000/webhooks/square"
    settings = GatewaySettings(
        stripe_webhook_secrets=",".join(stripe_secrets),
        square_signature_key=square_key,
        square_notification_url=square_url,
        max_body_bytes=4096,
        # Every answer logged, accepted ones too (off by default, for throughput).
        log_accepted=True,
    )
    marker = f"card_holder_{uuid.uuid4().hex}"
    event = {"id": "evt_1", "type": "charge.succeeded", "account": "acct_1", "note": marker}
    stripe_body = json.dumps(event).encode()
    square_body = json.dumps({"merchant_id": "M1", "event_id": "e1", "note": marker}).encode()
    sent_signatures: list[str] = []

    def stripe(body: bytes, secret: str = stripe_secrets[0]) -> dict[str, str]:
        headers = sign_stripe(body, (secret,), int(time.time()))
        sent_signatures.append(headers["Stripe-Signature"].split("v1=")[1])
        return headers

    capsys.readouterr()
    with TestClient(create_app(settings, RecordingPublisher())) as client:
        answers = [
            client.post("/webhooks/stripe", content=stripe_body, headers=stripe(stripe_body)),
            client.post(
                "/webhooks/stripe", content=stripe_body,
                headers=stripe(stripe_body, secret=f"whsec_{marker}"),
            ),
            client.post(
                "/webhooks/stripe", content=marker.encode(), headers=stripe(marker.encode())
            ),
            client.post("/webhooks/stripe", content=b"[" + stripe_body + b"]",
                        headers=stripe(b"[" + stripe_body + b"]")),
            client.post("/webhooks/stripe", content=stripe_body * 100,
                        headers=stripe(stripe_body * 100)),
            client.post("/webhooks/square", content=square_body,
                        headers=sign_square(square_body, square_key, square_url)),
            client.post("/webhooks/square", content=square_body,
                        headers={"X-Square-Hmacsha256-Signature": marker}),
            client.post("/webhooks/stripe", content=stripe_body,
                        headers={"Stripe-Signature": f"t=1,v1={marker}"}),
        ]  # fmt: skip
    statuses = [answer.status_code for answer in answers]
    assert statuses == [202, 400, 202, 202, 413, 202, 400, 400]
    logs = capsys.readouterr().err
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert sum(line.get("message") == "webhook" for line in lines) == len(answers)
    square_signature = sign_square(square_body, square_key, square_url)
    forbidden = [
        *stripe_secrets, square_key, marker, *sent_signatures, *square_signature.values(),
        hmac.new(stripe_secrets[0].encode(), b"", hashlib.sha256).hexdigest()[:16],
    ]  # fmt: skip
    leaked = [value for value in forbidden if value in logs]
    assert leaked == [], f"in the gateway's logs: {leaked}"


# -- the catalog database asks for passwords ---------------------------------------------------


@pytest.fixture
def pg_folder() -> Iterator[Path]:
    # Not pytest's tmp_path: the `postgres` user cannot enter root's pytest folders.
    folder = Path(tempfile.mkdtemp(prefix="paystream-sec-pg-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def private_stack(folder: Path) -> Stack:
    port = free_port()
    return Stack(
        StackSettings(run_dir=folder / "run", postgres_password=secrets.token_urlsafe(32)),
        LakehouseSettings(
            catalog_db_port=port,
            catalog_db_password=secrets.token_urlsafe(32),
            warehouse=(folder / "warehouse").as_uri(),
        ),
    )


def private_server(stack: Stack, folder: Path) -> PrivateProcess:
    service = stack.service("postgres")
    return PrivateProcess(
        "postgres", service.command, None, stack.lakehouse.catalog_db_port, folder,
        user=service.user, stop_signal=signal.SIGINT,
    )  # fmt: skip


def connects(stack: Stack, user: str, password: str | None, dbname: str = "postgres") -> bool:
    try:
        with psycopg.connect(
            host="127.0.0.1", port=stack.lakehouse.catalog_db_port, user=user,
            password=password, dbname=dbname, connect_timeout=5,
        ):  # fmt: skip
            return True
    except psycopg.OperationalError as exc:
        assert "password" in str(exc), exc  # refused for its password, not for being down
        return False


def wait_until_connects(stack: Stack, user: str, password: str, dbname: str) -> None:
    deadline = time.monotonic() + 20
    while not connects(stack, user, password, dbname):
        assert time.monotonic() < deadline, "the server never accepted the right password"
        time.sleep(0.3)


def assert_passwords_required(stack: Stack) -> None:
    lh = stack.lakehouse
    superuser = stack.settings.postgres_password
    wait_until_connects(stack, "postgres", superuser, "postgres")
    wait_until_connects(stack, lh.catalog_db_user, lh.catalog_db_password, lh.catalog_db_name)
    assert not connects(stack, "postgres", None)
    assert not connects(stack, "postgres", "")
    assert not connects(stack, "postgres", "lakehouse-dev")
    assert not connects(stack, lh.catalog_db_user, None, lh.catalog_db_name)
    assert not connects(stack, lh.catalog_db_user, "lakehouse-dev", lh.catalog_db_name)
    with psycopg.connect(
        host="127.0.0.1", port=lh.catalog_db_port, user="postgres", password=superuser,
        dbname="postgres",
    ) as conn:  # fmt: skip
        hashes = conn.execute(
            "select rolname, rolpassword from pg_authid where rolname in (%s, %s)",
            ("postgres", lh.catalog_db_user),
        ).fetchall()
        methods = conn.execute("select distinct auth_method from pg_hba_file_rules").fetchall()
    assert len(hashes) == 2 and all(h.startswith("SCRAM-SHA-256$") for _, h in hashes)
    assert methods == [("scram-sha-256",)]


@pytest.mark.integration
def test_a_new_catalog_database_asks_every_client_for_its_password(pg_folder):
    """A fresh clone (CI): initialised with scram-sha-256 from the start."""
    stack = private_stack(pg_folder)
    stack.prepare_postgres()
    server = private_server(stack, pg_folder)
    server.start()
    try:
        assert not connects(stack, "postgres", None)
        stack.bootstrap_catalog()
        assert_passwords_required(stack)
    finally:
        server.stop()


@pytest.mark.integration
def test_a_trust_catalog_database_is_upgraded_in_place(pg_folder):
    """A data folder made before the passwords (initdb --auth=trust, no role passwords in
    use) is given them at `make up`: its data stays, every client then needs its password."""
    stack = private_stack(pg_folder)
    data = stack.postgres_data
    data.mkdir(parents=True)
    command = [str(postgres_bin_dir() / "initdb"), "-D", str(data), "-U", "postgres",
               "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"]  # fmt: skip
    if running_as_root():
        shutil.chown(data.parent, "postgres")
        shutil.chown(data, "postgres")
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True)
    server = private_server(stack, pg_folder)
    server.start()
    try:
        assert connects(stack, "postgres", None)  # trust: the state being upgraded
        with psycopg.connect(
            host="127.0.0.1", port=stack.lakehouse.catalog_db_port, user="postgres",
            dbname="postgres", autocommit=True,
        ) as conn:  # fmt: skip
            conn.execute("create database kept")
        # A `make up` on a running platform leaves trust to the next start: its running
        # clients do not know the generated passwords.
        stack.bootstrap_catalog(switch_auth=False)
        assert connects(stack, "postgres", None)
        stack.bootstrap_catalog()
        assert (data / "pg_hba.conf").read_text() == PG_HBA
        assert_passwords_required(stack)
        assert connects(stack, "postgres", stack.settings.postgres_password, "kept")
        stack.bootstrap_catalog()  # the next `make up`: nothing to upgrade, still fine
        assert_passwords_required(stack)
    finally:
        server.stop()


# -- listening sockets (the parsing; the platform's check is in test_security_platform) ------


def test_proc_net_tcp_addresses_are_decoded():
    cases = {
        "0100007F": "127.0.0.1",
        "00000000": "0.0.0.0",
        "0000000000000000FFFF00000100007F": "::ffff:127.0.0.1",
        "00000000000000000000000001000000": "::1",
        "00000000000000000000000000000000": "::",
    }
    for hex_address, address in cases.items():
        assert decode_address(hex_address) == ipaddress.ip_address(address)


def test_only_listening_sockets_are_read_and_wildcards_are_not_loopback():
    table = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n"
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 111 1\n"
        "   1: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 222 1\n"
        "   2: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000 0 0 333 1\n"
    )
    listeners = parse_proc_net_tcp(table)
    assert [(str(x.address), x.port, x.inode) for x in listeners] == [
        ("127.0.0.1", 8080, 111),
        ("0.0.0.0", 2024, 222),
    ]
    assert [x.loopback for x in listeners] == [True, False]
    wildcard6 = Listener(decode_address("00000000000000000000000000000000"), 1, 1)
    mapped = Listener(decode_address("0000000000000000FFFF00000100007F"), 1, 1)
    assert not wildcard6.loopback and mapped.loopback
