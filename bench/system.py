"""The system's figures: gift API throughput and latency, hot vs uniform creators, end-to-end and
purchase-to-spendable latency (from the services' own timestamps), consumer apply rate on a
backlog, and each process's peak memory."""

from __future__ import annotations

import json
import os
import random
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import requests
from kafka import KafkaProducer

from bench.load import LoadResult, run_load
from shared.clock import utcnow
from shared.contracts import GIFT_SENT, envelope_to_dict, new_event
from shared.kafka.clients import client_options
from shared.kafka.settings import KafkaSettings

TokenFor = Callable[[str], str]  # service -> a fresh bearer token meant for it


def gift_load(
    stack,
    token: TokenFor,
    viewers: list[str],
    *,
    concurrency: int,
    seconds: float,
    max_ops: int,
    hot_creator: str | None = None,
    pace_s: float = 0.0,
    accepted: dict | None = None,
) -> LoadResult:
    """Single gifts; `accepted`, when given, gets each created gift's id -> when its 201 arrived."""
    url = f"{stack.url('gifting')}/v1/gifts"

    def make_worker(index: int):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token('gifting')}"
        rnd = random.Random(index)
        sender = viewers[index % len(viewers)]

        def op(_i):
            creator = hot_creator or f"creator-{rnd.randrange(1000)}"
            response = session.post(
                url,
                json={"sender_id": sender, "creator_id": creator, "gift_id": "rose"},
                headers={"Idempotency-Key": uuid.uuid4().hex},
                timeout=30,
            )
            if response.status_code == 201 and accepted is not None:
                accepted[response.json()["gift_tx_id"]] = utcnow()
            if pace_s:
                time.sleep(pace_s)
            return response.status_code == 201

        return op

    return run_load(make_worker, concurrency=concurrency, seconds=seconds, max_ops=max_ops)


def _cpu_ticks(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _process_groups(roots: dict[str, int]) -> dict[str, list[int]]:
    """Every process that works for an operation, by role: each root with its children (gunicorn
    workers), every PostgreSQL server process, and this load generator."""
    groups = {name: [pid] + _children(pid) for name, pid in roots.items()}
    groups["postgresql"] = [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _cmdline(int(p.name)).startswith("postgres")
    ]
    groups["load generator"] = [os.getpid()]
    return groups


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0].decode(errors="replace")
    except OSError:
        return ""


def cpu_split(roots: dict[str, int], measure) -> tuple[LoadResult, dict[str, float]]:
    """Run `measure` (a load) and return it with the CPU milliseconds each role (`roots`: name ->
    pid, children included; PostgreSQL and the load generator are added) spent per successful
    operation, read from /proc: where the time of an operation goes."""
    hz = os.sysconf("SC_CLK_TCK")
    before = {pid: _cpu_ticks(pid) for pids in _process_groups(roots).values() for pid in pids}
    result = measure()
    # Processes started meanwhile (a new pooled connection's server process) count from zero.
    spent = {
        name: sum(_cpu_ticks(pid) - before.get(pid, 0) for pid in pids) for name, pids in _process_groups(roots).items()
    }
    ops = max(result.ops, 1)
    per_op = {name: round(ticks * 1000 / hz / ops, 3) for name, ticks in spent.items()}
    return result, {name: ms for name, ms in sorted(per_op.items(), key=lambda kv: -kv[1]) if ms > 0}


def stack_roots(stack, broker_pid: int) -> dict[str, int]:
    return {**{name: proc.pid for name, proc in stack.procs.items()}, "broker": broker_pid}


def fund(stack, token: TokenFor, viewers: list[str]) -> None:
    session = requests.Session()
    for viewer in viewers:
        response = session.post(
            f"{stack.url('purchase')}/v1/purchases",
            timeout=30,
            json={
                "user_id": viewer,
                "country": "US",
                "birth_date": "1990-01-01",
                "coins": 2_500_000,
                "payment": {"method": "card", "token": "tok_visa"},
            },
            headers={"Authorization": f"Bearer {token('purchase')}", "Idempotency-Key": uuid.uuid4().hex},
        )
        response.raise_for_status()


def with_relays_paused(stack, measure):
    """Run `measure` with every outbox relay stopped (SIGSTOP), so the web app and its database
    have the CPUs to themselves; the outboxes absorb the events and drain once resumed."""
    relays = [proc for name, proc in stack.procs.items() if name.endswith("-relay")]
    for proc in relays:
        proc.send_signal(signal.SIGSTOP)
    try:
        return measure()
    finally:
        for proc in relays:
            proc.send_signal(signal.SIGCONT)


def pipeline_drained(gifting_url: str, payout_url: str, injected: int = 0, *, check_unpublished: bool = True) -> bool:
    """Every gift event published and applied: nothing of an earlier load still uses the CPUs.
    `injected`: gift events applied that no outbox wrote (the backlog step's)."""
    with psycopg.connect(gifting_url) as src, psycopg.connect(payout_url) as dst:
        unpublished, sent = src.execute(
            "SELECT count(*) FILTER (WHERE published_at IS NULL), count(*) FROM outbox WHERE topic = %s",
            (GIFT_SENT.topic,),
        ).fetchone()
        (applied,) = dst.execute("SELECT count(*) FROM inbox WHERE topic = %s", (GIFT_SENT.topic,)).fetchone()
    return (unpublished == 0 or not check_unpublished) and applied - injected >= sent


def hop_latencies(source_url: str, sink_url: str, topic: str, since) -> list[float]:
    """ms from an event's outbox row (the business commit) to its inbox row in the consumer's database."""
    with psycopg.connect(source_url) as src, psycopg.connect(sink_url) as dst:
        written = dict(
            src.execute(
                "SELECT event_id, created_at FROM outbox WHERE topic = %s AND created_at >= %s", (topic, since)
            ).fetchall()
        )
        applied = dst.execute(
            "SELECT event_id, processed_at FROM inbox WHERE topic = %s AND processed_at >= %s", (topic, since)
        ).fetchall()
    return [(done - written[event_id]).total_seconds() * 1000 for event_id, done in applied if event_id in written]


def accepted_to_credited(gifting_url: str, payout_url: str, accepted: dict, since) -> list[float]:
    """ms from each gift's 201 at the client (`accepted`: gift id -> time) to its diamonds (its
    event's inbox row in payout's database): gift -> diamonds as the sender and creator see it."""
    with psycopg.connect(gifting_url) as src, psycopg.connect(payout_url) as dst:
        events = dict(
            src.execute(
                "SELECT event_id, payload::json -> 'data' ->> 'gift_tx_id' FROM outbox "
                "WHERE topic = %s AND created_at >= %s",
                (GIFT_SENT.topic, since),
            ).fetchall()
        )
        applied = dst.execute(
            "SELECT event_id, processed_at FROM inbox WHERE topic = %s AND processed_at >= %s", (GIFT_SENT.topic, since)
        ).fetchall()
    return [
        (done - accepted[events[event_id]]).total_seconds() * 1000
        for event_id, done in applied
        if events.get(event_id) in accepted
    ]


def relay_latencies(gifting_url: str, since) -> list[float]:
    """ms from each gift's outbox row to its publication (the relay's hop alone)."""
    with psycopg.connect(gifting_url) as conn:
        rows = conn.execute(
            "SELECT published_at - created_at FROM outbox WHERE topic = %s AND created_at >= %s "
            "AND published_at IS NOT NULL",
            (GIFT_SENT.topic, since),
        ).fetchall()
    return [delta.total_seconds() * 1000 for (delta,) in rows]


def backlog_apply_rate(stack, kafka: KafkaSettings, payout_url: str, events: int) -> dict:
    """Stop the payout consumer, queue `events` gift events, start it, and time the apply."""
    stack.stop_process("payout-consumer")
    produced_s = produce_gift_events(kafka, events)
    with psycopg.connect(payout_url) as conn:
        before = conn.execute("SELECT count(*) FROM inbox").fetchone()[0]
    stack.start_process("payout-consumer")
    deadline = time.monotonic() + 600 + events / 1000
    with psycopg.connect(payout_url, autocommit=True) as conn:
        while conn.execute("SELECT count(*) FROM inbox").fetchone()[0] < before + events:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the backlog of {events} was not applied in time")
            time.sleep(1.0)
        first, last = conn.execute(
            "SELECT min(processed_at), max(processed_at) FROM "
            "(SELECT processed_at FROM inbox ORDER BY processed_at DESC LIMIT %s) t",
            (events,),
        ).fetchone()
    seconds = max((last - first).total_seconds(), 1e-3)
    return {
        "events": events,
        "seconds": round(seconds, 2),
        "rate": round(events / seconds, 1),
        "produced_in_s": round(produced_s, 1),
    }


def gift_sent_data(sender_id: str, creator_id: str) -> dict:
    """A gift.sent event's data: one rose of one coin, a fresh gift id, sent now."""
    return {
        "gift_tx_id": str(uuid.uuid4()),
        "sender_id": sender_id,
        "creator_id": creator_id,
        "gift_id": "rose",
        "quantity": 1,
        "coins": 1,
        "diamonds": 1,
        "stream_id": None,
        "sent_at": utcnow(),
    }


def produce_gift_events(kafka: KafkaSettings, events: int) -> float:
    """`events` valid gift events (each its own event and gift id, 500 creators), produced in
    large batches: one envelope is validated, the rest are copies with fresh ids. Returns seconds."""
    envelope, _ = new_event(
        GIFT_SENT,
        source="bench",
        data=gift_sent_data("bench-sender", "backlog-0"),
    )
    template = envelope_to_dict(envelope)
    producer = KafkaProducer(
        **client_options(kafka),
        client_id="bench-backlog",
        acks=1,
        linger_ms=50,
        batch_size=1 << 20,
        max_request_size=8 << 20,
    )
    topic = kafka.topic(GIFT_SENT.topic)
    started = time.monotonic()
    for i in range(events):
        creator = f"backlog-{i % 500}"
        event = {**template, "event_id": str(uuid.uuid4())}
        event["data"] = {**template["data"], "gift_tx_id": str(uuid.uuid4()), "creator_id": creator}
        producer.send(topic, key=creator.encode(), value=json.dumps(event).encode())
    producer.flush(timeout=600)
    producer.close()
    return time.monotonic() - started


def pipeline_counts(gifting_url: str, payout_url: str, since) -> tuple[int, int]:
    """Gifts accepted (gifting's outbox rows) and credited (payout's inbox rows) since `since`."""
    with psycopg.connect(gifting_url) as src, psycopg.connect(payout_url) as dst:
        (accepted,) = src.execute(
            "SELECT count(*) FROM outbox WHERE topic = %s AND created_at >= %s", (GIFT_SENT.topic, since)
        ).fetchone()
        (credited,) = dst.execute(
            "SELECT count(*) FROM inbox WHERE topic = %s AND processed_at >= %s", (GIFT_SENT.topic, since)
        ).fetchone()
    return accepted, credited


def _status_mb(pid: int, field_name: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def memory_mb(stack, field_name: str = "VmHWM") -> dict[str, float]:
    """Resident memory of each process of the stack, the largest of it and its children (gunicorn
    workers): VmHWM is the peak so far, VmRSS the current figure."""
    return {
        name: round(
            max([_status_mb(proc.pid, field_name)] + [_status_mb(c, field_name) for c in _children(proc.pid)]), 1
        )
        for name, proc in stack.procs.items()
    }


def soak(
    stack, token: TokenFor, viewers: list[str], *, gifts: int, concurrency: int, rounds: int = 10, on_round=None
) -> dict:
    """Send `gifts` gifts in `rounds` equal rounds, reading every process's resident memory after
    each. Bounded means: over the second half of the run (warm caches, full pools) no process
    grew by more than 10% or 8 MB, whichever is larger."""
    per_round = max(1, gifts // rounds)
    samples: list[dict[str, float]] = []
    sent = errors = 0
    started = time.monotonic()
    for _ in range(rounds):
        result = gift_load(stack, token, viewers, concurrency=concurrency, seconds=3600, max_ops=per_round)
        sent += result.ops
        errors += result.errors
        samples.append(memory_mb(stack, "VmRSS"))
        if on_round:
            on_round()
    half = samples[len(samples) // 2 - 1] if len(samples) > 1 else samples[0]
    last = samples[-1]
    growth = {name: round(last[name] - half.get(name, 0.0), 1) for name in last}
    bounded = {name: growth[name] <= max(8.0, 0.10 * half.get(name, 0.0)) for name in last}
    return {
        "gifts": sent,
        "errors": errors,
        "seconds": round(time.monotonic() - started, 1),
        "rss_mb_by_round": samples,
        "growth_second_half_mb": growth,
        "bounded": bounded,
        "all_bounded": all(bounded.values()),
    }
