"""The baselines, measured right before the system in the same run: plain PostgreSQL (B_pg),
a bare Flask app under gunicorn (B_flask), kafka-python produce/consume (B_kafka), and a bare SQL
ledger's transfers under pgbench (B_ledger)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import requests
from kafka import KafkaConsumer, TopicPartition

from bench.load import LoadResult, run_load
from bench.pgcluster import bindir
from shared.kafka.admin import TopicPolicy
from shared.kafka.clients import client_options, make_producer
from shared.kafka.settings import KafkaSettings

SCHEMA = """
CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE events (id bigserial PRIMARY KEY, account int NOT NULL, amount bigint NOT NULL, payload text);
INSERT INTO accounts SELECT g, 0 FROM generate_series(1, 1000) g;
"""


def prepare_pg(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS events, accounts")
        conn.execute(SCHEMA)


def b_pg(url: str, *, concurrency: int, seconds: float, max_ops: int) -> LoadResult:
    def make_worker(_index):
        conn = psycopg.connect(url)

        def op(_i):
            account = random.randint(1, 1000)
            with conn.transaction():
                conn.execute("INSERT INTO events (account, amount, payload) VALUES (%s, 1, 'x')", (account,))
                conn.execute("UPDATE accounts SET balance = balance + 1 WHERE id = %s", (account,))
            return True

        return op

    return run_load(make_worker, concurrency=concurrency, seconds=seconds, max_ops=max_ops)


# A double-entry ledger in SQL alone, shaped as pgledger's pgledger_create_transfer: both accounts
# locked in id order, their balances and versions updated, a transfer row and an entry per account
# holding the balance after it. Driven by pgbench (C, prepared statements): what the gift API is set
# beside when it is said to move a fraction of what a bare SQL ledger does on the same PostgreSQL.
LEDGER_ACCOUNTS = 10_000
LEDGER_OPENING_BALANCE = 1_000_000_000_000  # each account's: no transfer of the run is refused
LEDGER_SCHEMA = f"""
DROP TABLE IF EXISTS ledger_entries, ledger_transfers, ledger_accounts;
DROP FUNCTION IF EXISTS ledger_transfer;
CREATE TABLE ledger_accounts (
  id int PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0), version bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE ledger_transfers (
  id bigserial PRIMARY KEY, from_account int NOT NULL REFERENCES ledger_accounts,
  to_account int NOT NULL REFERENCES ledger_accounts, amount bigint NOT NULL CHECK (amount > 0),
  created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE ledger_entries (
  id bigserial PRIMARY KEY, account int NOT NULL REFERENCES ledger_accounts,
  transfer bigint NOT NULL REFERENCES ledger_transfers, amount bigint NOT NULL, balance_after bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ix_ledger_entries_account ON ledger_entries (account, id);
INSERT INTO ledger_accounts (id, balance)
  SELECT g, {LEDGER_OPENING_BALANCE} FROM generate_series(1, {LEDGER_ACCOUNTS}) g;
CREATE FUNCTION ledger_transfer(a int, b int, amount bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  t bigint; a_after bigint; b_after bigint;
BEGIN
  PERFORM 1 FROM ledger_accounts WHERE id IN (a, b) ORDER BY id FOR UPDATE;
  UPDATE ledger_accounts SET balance = balance - amount, version = version + 1, updated_at = now()
    WHERE id = a RETURNING balance INTO a_after;
  UPDATE ledger_accounts SET balance = balance + amount, version = version + 1, updated_at = now()
    WHERE id = b RETURNING balance INTO b_after;
  INSERT INTO ledger_transfers (from_account, to_account, amount) VALUES (a, b, amount) RETURNING id INTO t;
  INSERT INTO ledger_entries (account, transfer, amount, balance_after)
    VALUES (a, t, -amount, a_after), (b, t, amount, b_after);
  RETURN t;
END $$;
"""
# Two different accounts at random: b = a + 1 + r (mod n) with r < n - 1 never wraps back to a.
LEDGER_SCRIPT = f"""\\set a random(1, {LEDGER_ACCOUNTS})
\\set b 1 + (:a + random(0, {LEDGER_ACCOUNTS - 2})) % {LEDGER_ACCOUNTS}
SELECT ledger_transfer(:a, :b, 1);
"""


def b_ledger(url: str, work: Path, *, concurrency: int, seconds: float) -> dict:
    """Transfers per second of the bare SQL ledger under pgbench at `concurrency` clients, for
    `seconds` (the accounts' balances checked to still sum to what they were given)."""
    found = bindir()
    pgbench = found / "pgbench" if found else None
    if pgbench is None or not pgbench.exists():
        return {"skipped": "pgbench not found (pg_config --bindir, /usr/lib/postgresql/*/bin)"}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(LEDGER_SCHEMA)
    script = work / "ledger.pgbench"
    script.write_text(LEDGER_SCRIPT)
    command = [str(pgbench), "-n", "-M", "prepared", "-f", str(script), "-c", str(concurrency)]
    command += ["-j", str(min(concurrency, os.cpu_count() or 1)), "-T", str(max(1, round(seconds))), url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed: {done.stderr[-2000:]}")
    with psycopg.connect(url, autocommit=True) as conn:
        total = conn.execute("SELECT sum(balance) FROM ledger_accounts").fetchone()[0]
        balanced = total == LEDGER_ACCOUNTS * LEDGER_OPENING_BALANCE
        transfers = conn.execute("SELECT count(*) FROM ledger_transfers").fetchone()[0]
    return {**pgbench_figures(done.stdout), "concurrency": concurrency, "transfers": transfers, "balanced": balanced}


def pgbench_figures(out: str) -> dict:
    """rate (tps without the connections' start), mean latency and failures from pgbench's report."""
    figures = {}
    for line in out.splitlines():
        name, _, value = line.partition(" = ")
        if name == "tps":
            figures["rate"] = round(float(value.split()[0]), 1)
        elif name == "latency average":
            figures["mean_ms"] = round(float(value.split()[0]), 2)
        elif line.startswith("number of failed transactions"):
            figures["failed"] = int(line.split(":")[1].split()[0])
    return figures


class BareFlask:
    def __init__(self, url: str, port: int, log: Path):
        env = {
            **os.environ,
            "BENCH_DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://"),
            "GUNICORN_BIND": f"127.0.0.1:{port}",
        }
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:shared.http.gunicorn_conf", "bench.bare_app:app"],
            env=env,
            stdout=open(log, "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.post(f"{self.url}/op", json={"amount": 1}, timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        os.killpg(self.proc.pid, 15)
        self.proc.wait(timeout=20)


def b_flask(app: BareFlask, *, concurrency: int, seconds: float, max_ops: int) -> LoadResult:
    def make_worker(_index):
        session = requests.Session()

        def op(_i):
            return session.post(f"{app.url}/op", json={"amount": 1, "note": "gift"}, timeout=10).status_code == 201

        return op

    return run_load(make_worker, concurrency=concurrency, seconds=seconds, max_ops=max_ops)


def b_kafka(
    kafka: KafkaSettings, *, messages: int, size: int = 450, steady_rate: float = 300.0, steady_seconds: float = 5.0
) -> dict:
    """kafka-python with event-sized messages: throughput on a burst of `messages`, then the
    produce-to-consume latency at a steady `steady_rate` (a burst's latency is mostly queueing,
    which would make the end-to-end budget too generous)."""
    from shared.kafka.admin import ensure_topics

    burst = _kafka_run(kafka, ensure_topics, messages=messages, size=size, pace_s=0.0)
    steady = _kafka_run(
        kafka, ensure_topics, messages=max(1, int(steady_rate * steady_seconds)), size=size, pace_s=1.0 / steady_rate
    )
    return {
        "messages": messages,
        "consumed": burst["consumed"],
        "produce_rate": burst["produce_rate"],
        "end_to_end_rate": burst["end_to_end_rate"],
        "burst_p50_ms": burst["p50_ms"],
        "burst_p99_ms": burst["p99_ms"],
        "steady_rate": steady_rate,
        "p50_ms": steady["p50_ms"],
        "p99_ms": steady["p99_ms"],
    }


def _kafka_run(kafka: KafkaSettings, ensure_topics, *, messages: int, size: int, pace_s: float) -> dict:
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka, TopicPolicy(partitions=6), topics=(topic,))
    consumer = KafkaConsumer(
        **client_options(kafka), enable_auto_commit=False, fetch_max_wait_ms=kafka.fetch_max_wait_ms
    )  # as the services' consumers
    partitions = [TopicPartition(topic, p) for p in range(6)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    latencies: list[float] = []

    def consume() -> None:  # concurrently with the producer, as a real consumer would
        deadline = time.monotonic() + 120
        while len(latencies) < messages and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                now = time.time()
                latencies.extend((now - json.loads(r.value)["t"]) * 1000 for r in records)

    reader = threading.Thread(target=consume)
    reader.start()
    producer = make_producer(kafka, client_id="bench")
    filler = "x" * size
    started = time.perf_counter()
    for i in range(messages):
        producer.send(topic, key=str(i % 1000).encode(), value=json.dumps({"t": time.time(), "pad": filler}).encode())
        if pace_s:
            time.sleep(max(0.0, started + (i + 1) * pace_s - time.perf_counter()))
    producer.flush()
    produced_s = time.perf_counter() - started
    reader.join()
    seen = len(latencies)
    total_s = time.perf_counter() - started
    producer.close()
    consumer.close()
    result = LoadResult(1, seen, messages - seen, total_s, latencies)
    return {
        "consumed": seen,
        "produce_rate": round(messages / produced_s, 1),
        "end_to_end_rate": round(seen / total_s, 1),
        "p50_ms": round(result.percentile(50), 2),
        "p99_ms": round(result.percentile(99), 2),
    }
