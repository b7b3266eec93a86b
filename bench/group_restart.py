"""How long a consumer group stops applying when one member restarts, on Apache Kafka, per
group setting: eager (range) vs cooperative-sticky assignment, dynamic vs static membership.

`python -m bench.group_restart` prints, per setting, the longest time a partition went without
an applied record around a member's restart (two members, six partitions, a steady ~150
records/s), and how many partitions paused over a second. Bounded: a
few hundred records and ~20 s per setting.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

from kafka import KafkaConsumer
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.coordinator.assignors.range import RangePartitionAssignor

from coinsctl.apache_kafka import ApacheKafka
from shared.kafka.admin import TopicPolicy, ensure_topics
from shared.kafka.clients import client_options, make_producer

SETTINGS = {
    "eager, dynamic": {"partition_assignment_strategy": [RangePartitionAssignor]},
    "cooperative, dynamic": {"partition_assignment_strategy": [CooperativeStickyAssignor]},
    "eager, static": {"partition_assignment_strategy": [RangePartitionAssignor], "static": True},
    "cooperative, static": {"partition_assignment_strategy": [CooperativeStickyAssignor], "static": True},
}


class Member(threading.Thread):
    def __init__(self, settings, topic, group, name, options, applied):
        super().__init__(daemon=True)
        extra = {k: v for k, v in options.items() if k != "static"}
        if options.get("static"):
            extra["group_instance_id"] = name
        self.consumer = KafkaConsumer(
            topic,
            **client_options(settings),
            group_id=group,
            client_id=name,
            enable_auto_commit=True,
            auto_offset_reset="earliest",
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            fetch_max_wait_ms=100,
            **extra,
        )
        self.applied, self.stop = applied, threading.Event()

    def run(self):
        while not self.stop.is_set():
            for tp, batch in self.consumer.poll(200).items():
                self.applied.extend((tp.partition, time.monotonic()) for _ in batch)
        self.consumer.close()


def measure(broker, label, options) -> dict:
    settings = broker.settings("admin", topic_prefix=f"g{abs(hash(label)) % 10**6}.")
    topic = settings.topic("purchase.completed.v1")
    ensure_topics(settings, TopicPolicy(partitions=6), topics=("purchase.completed.v1",))
    applied: list[float] = []
    producer = make_producer(settings, client_id="steady")
    group = f"g-{label.replace(', ', '-')}"
    members = [Member(settings, topic, group, f"m{i}", options, applied) for i in range(2)]
    for m in members:
        m.start()
    stop = threading.Event()

    def produce():
        i = 0
        while not stop.is_set():
            producer.send(topic, key=str(i).encode(), value=b"x")
            i += 1
            time.sleep(0.005)

    feeder = threading.Thread(target=produce, daemon=True)
    feeder.start()
    time.sleep(8)  # both joined and steady
    restart_at = time.monotonic()
    members[0].stop.set()
    members[0].join()
    members[0] = Member(settings, topic, group, "m0", options, applied)
    members[0].start()
    time.sleep(12)
    stop.set()
    feeder.join()
    for m in members:
        m.stop.set()
        m.join()
    producer.close()
    gaps = {}  # per partition: the longest time nothing of it was applied around the restart
    for partition in range(6):
        times = sorted(t for p, t in applied if p == partition and t >= restart_at - 1)
        gaps[partition] = max((b - a for a, b in zip(times, times[1:], strict=False)), default=float("inf"))
    return {
        "setting": label,
        "longest_partition_gap_s": round(max(gaps.values()), 2),
        "partitions_paused_over_1s": sum(g > 1 for g in gaps.values()),
        "applied_after_restart": sum(1 for _, t in applied if t >= restart_at),
    }


def main() -> None:
    broker = ApacheKafka(Path(tempfile.mkdtemp(prefix="coins-group-")) / "kafka")
    broker.start()
    try:
        for label, options in SETTINGS.items():
            print(measure(broker, label, options), flush=True)
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
