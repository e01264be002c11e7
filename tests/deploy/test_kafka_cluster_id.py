"""The KRaft cluster id `make up` formats Kafka's storage with."""

from __future__ import annotations

import base64
import uuid

from deploy.local import stack
from deploy.local.stack import kafka_cluster_id


def test_an_id_that_would_read_as_an_option_is_drawn_again(monkeypatch):
    # The first draw encodes to an id starting with '-' (0xf8 -> '-' in URL-safe base64).
    draws = iter([uuid.UUID(bytes=b"\xf8" + b"\x00" * 15), uuid.UUID(int=1)])
    monkeypatch.setattr(stack.uuid, "uuid4", lambda: next(draws))
    assert base64.urlsafe_b64encode(b"\xf8").decode().startswith("-")
    cluster_id = kafka_cluster_id()
    assert cluster_id == base64.urlsafe_b64encode(uuid.UUID(int=1).bytes).decode().rstrip("=")


def test_ids_are_22_url_safe_characters_and_never_start_with_a_dash():
    ids = {kafka_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
