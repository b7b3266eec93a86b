"""The pipeline's CPU per event: gifting's outbox relay, the broker and payout's consumer carrying
N gift events from gifting's outbox on PostgreSQL to creators' diamonds, on Apache Kafka.

The relay and the consumer run as the stack runs them (their own processes, each service its own
principal); once both are warm, N gift rows (each with a traceparent of its own, as single gifts
have) are committed at once, or in chunks at a rate (`SCENARIOS`), and the run ends when payout's inbox has
them all. CPU is read from /proc (utime + stime) for the relay, the consumer, the broker's JVM and
PostgreSQL's server processes for their databases, from the commit of the rows to the last apply.

    python -m bench.pipeline [--events 20000] [--scenarios backlog batches single] [--profile DIR]

`--profile DIR` records the relay and consumer under py-spy (when installed) into DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.system import gift_sent_data
from coinsctl.apache_kafka import ApacheKafka
from coinsctl.stack import SERVICES, Stack
from shared.contracts import GIFT_SENT, envelope_to_dict, new_events
from tests.support import postgres

ROLES = ("relay", "consumer", "broker", "postgresql")


def cpu_ticks(pid: int) -> int:
    return cpu_ticks_of(f"/proc/{pid}/stat")


def cpu_ticks_of(path: str) -> int:
    try:
        stat = Path(path).read_text()
    except OSError:
        return 0
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def thread_ticks(pid: int) -> dict[int, int]:
    """utime + stime of each thread of `pid`, by thread id."""
    try:
        tids = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:
        return {}
    return {tid: cpu_ticks_of(f"/proc/{pid}/task/{tid}/stat") for tid in tids}


def postgres_pids(databases: list[str]) -> list[int]:
    """The server processes of connections to `databases` (by their process title: "postgres:
    [cluster:] user database host ..."): not the cluster's shared background processes, nor other users'."""
    names = {name.encode() for name in databases}
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv0 = (entry / "cmdline").read_bytes().split(b"\0", 1)[0]
        except OSError:
            continue
        title = argv0.split()
        if title[:1] == [b"postgres:"] and names.intersection(title[1:5]):
            pids.append(int(entry.name))
    return pids


@dataclass
class Pipeline:
    """A broker, the three services' databases, gifting's relay and payout's consumer."""

    work: Path
    broker: ApacheKafka
    stack: Stack
    databases: dict[str, str]
    profile: Path | None = None

    @classmethod
    def start(cls, profile: Path | None = None, env: dict[str, str] | None = None) -> Pipeline:
        work = Path(tempfile.mkdtemp(prefix="coins-pipeline-"))
        databases = {s: postgres.create_database(f"pipe_{s}") for s in SERVICES}
        broker = ApacheKafka(work / "broker")
        broker.start()
        stack_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")},
            "KAFKA_TOPIC_PREFIX": "pipe.",
            "KAFKA_PARTITIONS": "6",
            "LOG_LEVEL": "WARNING",
            **{f"{s.upper()}_DATABASE_URL": databases[s] for s in SERVICES},
            **(env or {}),
        }
        stack = Stack(var_dir=work / "stack", env=stack_env, broker=broker, restart=False)
        stack.prepare()
        for service in SERVICES:
            (stack.var_dir / "metrics" / service).mkdir(parents=True, exist_ok=True)
        run = cls(work, broker, stack, databases, profile)
        for name in ("payout-consumer", "gifting-relay"):
            stack.start_process(name)
        return run

    def pids(self) -> dict[str, list[int]]:
        return {
            "relay": [self.stack.procs["gifting-relay"].pid],
            "consumer": [self.stack.procs["payout-consumer"].pid],
            "broker": [self.broker.proc.pid],
            "postgresql": postgres_pids([url.rsplit("/", 1)[1] for url in self.databases.values()]),
        }

    def applied(self) -> int:
        with psycopg.connect(self.databases["payout"], autocommit=True) as conn:
            return conn.execute("SELECT count(*) FROM inbox").fetchone()[0]

    def wait_applied(self, count: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.applied() < count:
            for name in ("payout-consumer", "gifting-relay"):
                if self.stack.procs[name].poll() is not None:
                    raise RuntimeError(f"{name} exited; see {self.stack.var_dir / 'logs'}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count} events not applied within {timeout_s:.0f}s ({self.applied()} were)")
            time.sleep(0.05)

    def insert_gifts(self, n: int, conn: psycopg.Connection) -> None:
        """n gift.sent rows in gifting's outbox (500 creators), each with its own traceparent."""
        datas = [gift_sent_data(f"sender-{i % 97}", f"creator-{i % 500}") for i in range(n)]
        rows = []
        for envelope, key in new_events(GIFT_SENT, source="gifting", datas=datas):
            trace_id = uuid.uuid4().hex
            rows.append(
                (
                    envelope.event_id,
                    GIFT_SENT.topic,
                    key,
                    json.dumps(envelope_to_dict(envelope), separators=(",", ":")),
                    GIFT_SENT.type,
                    trace_id,
                    f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01",
                    envelope.occurred_at,
                )
            )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO outbox (event_id, topic, message_key, payload, event_type, trace_id, traceparent,"
                " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )

    def measure(self, events: int, *, rate: float = 0.0, chunk: int = 200, timeout_s: float = 600.0) -> dict:
        """Commit `events` gift rows (at once, or `chunk` at a time at `rate` events/s) and wait for
        their apply; CPU ms per event by role, and the events/s end to end."""
        base = self.applied()
        hz = os.sysconf("SC_CLK_TCK")
        spies = self._spy()
        procs = {"relay": self.stack.procs["gifting-relay"].pid, "consumer": self.stack.procs["payout-consumer"].pid}
        threads_before = {role: thread_ticks(pid) for role, pid in procs.items()}
        with psycopg.connect(self.databases["gifting"]) as conn:
            if rate <= 0:
                self.insert_gifts(events, conn)
                before = {pid: cpu_ticks(pid) for pids in self.pids().values() for pid in pids}
                conn.commit()
                started = time.monotonic()
            else:
                before = {pid: cpu_ticks(pid) for pids in self.pids().values() for pid in pids}
                started = time.monotonic()
                for i, done in enumerate(range(0, events, chunk)):
                    self.insert_gifts(min(chunk, events - done), conn)
                    conn.commit()
                    pause = started + (i + 1) * chunk / rate - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
        self.wait_applied(base + events, timeout_s)
        seconds = time.monotonic() - started
        spent = {role: sum(cpu_ticks(pid) - before.get(pid, 0) for pid in pids) for role, pids in self.pids().items()}
        # Each Python process's main thread (the relay's loop, the consumer's apply) and the rest
        # (kafka-python's network thread, the consumer's lag monitor and watchdog).
        for role, pid in procs.items():
            threads = {tid: t - threads_before[role].get(tid, 0) for tid, t in thread_ticks(pid).items()}
            spent[f"{role} main thread"] = threads.get(pid, 0)
        self._stop_spies(spies)
        per_event = {role: round(ticks * 1000 / hz / events, 3) for role, ticks in spent.items()}
        latency = self.latencies_ms(events)
        # The rows' own insert (a chunked run commits them during the window) is PostgreSQL's too.
        return {
            "events": events,
            "rate": rate,
            "seconds": round(seconds, 2),
            "events_per_s": round(events / seconds),
            "cpu_ms_per_event": per_event,
            # row written -> inbox row in payout (its credit's transaction); with everything committed
            # at once, mostly the wait behind the earlier events
            "latency_ms": {"p50": latency[len(latency) // 2], "p99": latency[int(len(latency) * 0.99)]},
        }

    def latencies_ms(self, last: int) -> list[float]:
        """ms from each of the `last` applied events' outbox row to its inbox row, sorted."""
        with psycopg.connect(self.databases["payout"]) as conn:
            applied = dict(
                conn.execute(
                    "SELECT event_id, processed_at FROM inbox ORDER BY processed_at DESC LIMIT %s", (last,)
                ).fetchall()
            )
        with psycopg.connect(self.databases["gifting"]) as conn:
            written = conn.execute(
                "SELECT event_id, created_at FROM outbox WHERE event_id = ANY(%s)", (list(applied),)
            ).fetchall()
        return sorted(round((applied[e] - at).total_seconds() * 1000, 1) for e, at in written)

    def _spy(self) -> list[subprocess.Popen]:
        spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
        if self.profile is None or spy is None:
            return []
        self.profile.mkdir(parents=True, exist_ok=True)
        stamp = time.monotonic_ns()
        return [
            subprocess.Popen(
                [
                    spy,
                    "record",
                    "--pid",
                    str(self.stack.procs[name].pid),
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--gil",  # samples of the thread holding the GIL: where Python spends CPU, not waits
                    "--output",
                    str(self.profile / f"{name}-{stamp}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name in ("gifting-relay", "payout-consumer")
        ]

    @staticmethod
    def _stop_spies(spies: list[subprocess.Popen]) -> None:
        for spy in spies:
            spy.send_signal(2)  # SIGINT: py-spy writes what it recorded
        for spy in spies:
            spy.wait(timeout=60)

    def close(self) -> None:
        self.stack.stop()
        self.broker.stop()
        for url in self.databases.values():
            postgres.drop_database(url)
        shutil.rmtree(self.work, ignore_errors=True)


# name -> (share of --events, events/s committed (0: all at once), rows per commit)
SCENARIOS = {
    "backlog": (1.0, 0.0, 0),  # everything committed at once: the relay's and consumer's full batches
    "batches": (1.0, 3000.0, 1000),  # the batch API's sustained load: a 1,000-gift commit every third of a second
    "single": (0.2, 400.0, 2),  # single gifts at about the single-gift API's rate: small relay batches
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--warm-up", type=int, default=1000)
    parser.add_argument("--profile", type=Path, default=None, help="record py-spy profiles into this folder")
    parser.add_argument("--env", nargs="*", default=[], help="NAME=VALUE for the relay and consumer (KAFKA_* too)")
    args = parser.parse_args(argv)
    problem = postgres.ensure_running()
    if problem:
        raise SystemExit(problem)
    run = Pipeline.start(env=dict(item.split("=", 1) for item in args.env))
    try:
        run.measure(args.warm_up)  # the group's first join, the first connections: not measured
        run.profile = args.profile
        for _ in range(args.rounds):
            for name in args.scenarios:
                share, rate, chunk = SCENARIOS[name]
                result = run.measure(max(1, int(args.events * share)), rate=rate, chunk=chunk)
                print(json.dumps({"scenario": name, **result}), flush=True)
    finally:
        run.close()


if __name__ == "__main__":
    main()
