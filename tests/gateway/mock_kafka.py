"""librdkafka's built-in mock cluster (`test.mock.num.brokers`): a Kafka of the test's own.

A client handle of the test's holds the cluster (it lives in that handle's process and
threads); the gateway connects to it as to any broker, through its bootstrap servers.
librdkafka's mock API (make a broker fail requests, take it down) has no Python binding,
so it is called through ctypes on the librdkafka that confluent-kafka loaded, and the
handle's `rd_kafka_t *` is read from the confluent-kafka object (`Handle.rk`, the first
field after the Python object header). `rk_of` checks what it read before it is used.

librdkafka's test hook `rd_kafka_test_fatal_error` is here too: it makes any producer
(also one on the real broker) raise a fatal error, as if the broker had answered so.
"""

from __future__ import annotations

import ctypes
import functools
import uuid
from pathlib import Path

import confluent_kafka
from confluent_kafka import KafkaError, Producer

# Kafka protocol API keys (https://kafka.apache.org/protocol#protocol_api_keys).
PRODUCE = 0
INIT_PRODUCER_ID = 22


@functools.cache
def librdkafka() -> ctypes.CDLL:
    """The librdkafka confluent-kafka's wheel ships (loaded already: the same instance)."""
    libs = Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs"
    [path] = sorted(libs.glob("librdkafka*.so*"))
    lib = ctypes.CDLL(str(path))
    pointer, text, integer = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    signatures = {
        "rd_kafka_name": ([pointer], text),
        "rd_kafka_handle_mock_cluster": ([pointer], pointer),
        "rd_kafka_mock_cluster_bootstraps": ([pointer], text),
        "rd_kafka_mock_topic_create": ([pointer, text, integer, integer], integer),
        "rd_kafka_mock_push_request_errors_array": (
            [pointer, ctypes.c_int16, ctypes.c_size_t, ctypes.POINTER(integer)],
            None,
        ),
        "rd_kafka_mock_broker_set_down": ([pointer, ctypes.c_int32], integer),
        "rd_kafka_mock_broker_set_up": ([pointer, ctypes.c_int32], integer),
        "rd_kafka_test_fatal_error": ([pointer, integer, text], integer),
    }
    for name, (arguments, result) in signatures.items():
        function = getattr(lib, name)
        function.argtypes, function.restype = arguments, result
    return lib


def rk_of(handle: Producer, client_id: str) -> int:
    """The `rd_kafka_t *` of a confluent-kafka handle created with `client.id` client_id."""
    rk = ctypes.c_void_p.from_address(id(handle) + object.__basicsize__).value
    name = librdkafka().rd_kafka_name(rk).decode() if rk else ""
    if not name.startswith(f"{client_id}#producer-"):
        raise AssertionError(f"not the handle's rd_kafka_t (named {name!r}): layout changed?")
    return int(rk)


def raise_fatal_error(producer: Producer, client_id: str, code: int, reason: str) -> None:
    """librdkafka's test hook: `producer` fails fatally with `code`, as a broker can make
    an idempotent producer do."""
    result = librdkafka().rd_kafka_test_fatal_error(
        rk_of(producer, client_id), code, reason.encode()
    )
    assert result == 0, f"rd_kafka_test_fatal_error: {KafkaError(result).str()}"


class MockKafka:
    """One mock broker (id 1) for as long as the object lives; `close()` ends it."""

    def __init__(self) -> None:
        self._client_id = f"mock-kafka-{uuid.uuid4().hex[:8]}"
        self._owner = Producer(
            {"test.mock.num.brokers": 1, "client.id": self._client_id, "log_level": 0}
        )
        self._cluster = librdkafka().rd_kafka_handle_mock_cluster(
            rk_of(self._owner, self._client_id)
        )
        assert self._cluster, "librdkafka made no mock cluster"
        self.bootstrap_servers: str = (
            librdkafka().rd_kafka_mock_cluster_bootstraps(self._cluster).decode()
        )

    def create_topics(self, names: list[str], partitions: int = 3) -> None:
        for name in names:
            result = librdkafka().rd_kafka_mock_topic_create(
                self._cluster, name.encode(), partitions, 1
            )
            assert result == 0, f"mock topic {name}: {KafkaError(result).str()}"

    def fail_next_requests(self, api_key: int, *errors: int) -> None:
        """The broker answers the next len(errors) requests of `api_key` with these errors."""
        codes = (ctypes.c_int * len(errors))(*errors)
        librdkafka().rd_kafka_mock_push_request_errors_array(
            self._cluster, api_key, len(errors), codes
        )

    def broker_down(self) -> None:
        """The broker closes its connections and refuses new ones, as a stopped one does."""
        assert librdkafka().rd_kafka_mock_broker_set_down(self._cluster, 1) == 0

    def broker_up(self) -> None:
        assert librdkafka().rd_kafka_mock_broker_set_up(self._cluster, 1) == 0

    def close(self) -> None:
        # Destroying the owning handle destroys its mock cluster.
        del self._owner
