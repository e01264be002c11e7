"""What the soak samples while it runs: CPU and RSS per process tree, consumer lag per group.

CPU is read from /proc (utime + stime of a process and its descendants) and given as a
share of one core over the interval between two samples; RSS is footprint's. Lag is a
consumer group's committed offsets against the topics' end offsets: the Flink Kafka source
commits its offsets on each checkpoint, the bridge after it has started the workflows, so
a lag that stays level is a job that keeps up (its sawtooth is a checkpoint's worth of
messages) and a lag that grows through the run is one that does not.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from bench.footprint import children_by_parent, descendants, rss_kib

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> int:
    """utime + stime of one process; 0 if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    # Fields after the command name (which may hold spaces): utime, stime are 14 and 15.
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


@dataclass(frozen=True)
class TreeUsage:
    cpu_seconds: float
    rss_mib: float


def tree_usage(pids: Mapping[str, int]) -> dict[str, TreeUsage]:
    """CPU seconds used so far and RSS now, per named process tree."""
    tree = children_by_parent()
    usage = {}
    for name, pid in pids.items():
        members = descendants(pid, tree)
        usage[name] = TreeUsage(
            cpu_seconds=sum(cpu_ticks(p) for p in members) / CLOCK_TICKS,
            rss_mib=sum(rss_kib(p) for p in members) / 1024,
        )
    return usage


@dataclass(frozen=True)
class Group:
    """A consumer group and the topics it reads."""

    name: str
    group_id: str
    topics: tuple[str, ...]


@dataclass
class LagProbe:
    """Reads committed and end offsets of some consumer groups, with one consumer each
    (committed offsets are asked of the group a consumer is configured with). The
    consumers never subscribe, so they never join the groups they read."""

    bootstrap: str
    groups: Sequence[Group]
    _consumers: dict[str, Consumer] = field(default_factory=dict)
    _partitions: dict[str, list[TopicPartition]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for group in self.groups:
            consumer = Consumer(
                {
                    "bootstrap.servers": self.bootstrap,
                    "group.id": group.group_id,
                    "enable.auto.commit": False,
                    "log_level": 0,
                }
            )
            self._consumers[group.name] = consumer
            self._partitions[group.name] = [
                TopicPartition(topic, p)
                for topic in group.topics
                for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions
            ]

    def offsets(self, name: str) -> tuple[int, int]:
        """(sum of end offsets, sum of committed offsets) over the group's partitions; a
        partition the group has not committed yet counts from its start."""
        consumer = self._consumers[name]
        partitions = self._partitions[name]
        committed = consumer.committed(partitions, timeout=10)
        end = done = 0
        for tp, mark in zip(partitions, committed, strict=True):
            low, high = consumer.get_watermark_offsets(tp, timeout=10, cached=False)
            end += high
            done += mark.offset if mark.offset >= 0 else low
        return end, done

    def sample(self) -> dict[str, tuple[int, int]]:
        return {group.name: self.offsets(group.name) for group in self.groups}

    def close(self) -> None:
        for consumer in self._consumers.values():
            consumer.close()


def mean_cpu_percent(samples: Sequence[tuple[float, Mapping[str, TreeUsage]]]) -> dict[str, float]:
    """Each tree's mean CPU (% of one core) from the first sample to the last one in which
    it was still alive (a process that has exited reads as no time at all)."""
    if not samples:
        return {}
    t0, first = samples[0]
    result = {}
    for name, start in first.items():
        end_at, used = t0, start.cpu_seconds
        for at, usage in samples[1:]:
            if name in usage and usage[name].cpu_seconds >= used:
                end_at, used = at, usage[name].cpu_seconds
        result[name] = 100 * (used - start.cpu_seconds) / (end_at - t0) if end_at > t0 else 0.0
    return result


def peak_rss_mib(samples: Sequence[Mapping[str, TreeUsage]]) -> dict[str, float]:
    peak: dict[str, float] = {}
    for usage in samples:
        for name, tree in usage.items():
            peak[name] = max(peak.get(name, 0.0), tree.rss_mib)
    return peak
