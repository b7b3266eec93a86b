"""The outbox relay and the idempotent consumer against a real broker and PostgreSQL.

Purchases become wallet credits through Kafka exactly once, whatever is redelivered; poison
messages go to the dead-letter topic and the partition keeps moving; a database outage is
waited out, not dead-lettered.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import psycopg
import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy.exc import OperationalError

from services.gifting.entrypoints.consumer import event_handlers
from services.payout.entrypoints.consumer import event_handlers as payout_handlers
from services.purchase.adapters.orm import tables as purchase_tables
from shared.contracts import GIFT_SENT, PURCHASE_COMPLETED, PURCHASE_REVERSED, envelope_to_dict, new_event
from shared.db.engines import snapshot
from shared.db.infra_migrations import OUTBOX_CHANNEL, RELAY_WAITING_LOCK
from shared.errors import PermanentMessageError
from shared.kafka.clients import client_options, make_consumer, make_producer
from shared.messaging.consumer import InboxConsumer
from shared.messaging.inbox import Apply, Inbox
from shared.messaging.relay import OutboxRelay
from shared.messaging.relay_wakeup import CDC_CHANNEL, Wakeup, libpq_url, relay_lock_key
from shared.messaging.uow import Outbox
from tests.support.events import gift_event
from tests.support.producers import AcksTheFirst
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def auth(auth_for):
    """Tokens meant for purchase (their `aud`)."""
    return auth_for("purchase")


@pytest.fixture
def gifting(make_service):
    svc, client = make_service("gifting")
    return svc


@pytest.fixture
def run_consumer(kafka):
    """Start gifting's consumer loop in a thread on this test's topics; stopped at teardown."""
    started = []

    def start(svc, handlers=None, group="gifting-test"):
        consumer, resume = make_consumer(
            kafka, group_id=group, topics=list(handlers or event_handlers(svc)), client_id="test-consumer"
        )
        producer = make_producer(kafka, client_id="test-dlq")
        inbox = InboxConsumer(
            engine=svc.engine,
            inbox=svc.tables["inbox"],
            consumer=consumer,
            resume=resume,
            producer=producer,
            handlers=handlers or event_handlers(svc),
            group=group,
            service="gifting",
            topic_name=kafka.topic,
            max_backoff_s=0.5,
        )
        stop = threading.Event()
        thread = threading.Thread(target=inbox.run, args=(stop,), daemon=True)
        thread.start()
        started.append((stop, thread, consumer, producer))
        return inbox

    yield start
    for stop, thread, consumer, producer in started:
        stop.set()
        thread.join(timeout=10)
        consumer.close(autocommit=False)
        producer.close(timeout=5)


def purchase_event(user_id: str, coins: int) -> tuple[bytes, bytes, str]:
    envelope, key = new_event(
        PURCHASE_COMPLETED,
        source="purchase",
        data={
            "purchase_id": str(uuid.uuid4()),
            "user_id": user_id,
            "coins": coins,
            "amount_minor": 99,
            "currency": "USD",
            "country": "US",
        },
    )
    return key.encode(), json.dumps(envelope_to_dict(envelope)).encode(), envelope.event_id


def send(kafka, messages: list[tuple[bytes, bytes]], topic=PURCHASE_COMPLETED.topic) -> None:
    producer = make_producer(kafka, client_id="test-producer")
    for key, value in messages:
        producer.send(kafka.topic(topic), key=key, value=value)
    producer.flush()
    producer.close()


def balance(svc, user_id: str) -> int | None:
    with svc.engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT balance_coins - debt_coins FROM wallets WHERE user_id = :u"), {"u": user_id}
        ).scalar()


def dead_letters(kafka, topic=PURCHASE_COMPLETED.topic, expected=1) -> list:
    consumer = KafkaConsumer(
        **client_options(kafka), auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=15_000
    )
    consumer.assign([TopicPartition(kafka.topic(topic) + ".dlq", 0)])
    found = []
    for record in consumer:
        found.append(record)
        if len(found) >= expected:
            break
    consumer.close()
    return found


def test_the_relay_publishes_the_outbox_and_the_consumer_credits_the_wallet(
    make_service, gifting, kafka, run_consumer, auth
):
    purchase_svc, client = make_service("purchase")
    for _ in range(3):
        buy(client, auth)
    producer = make_producer(kafka, client_id="test-relay")
    relay = OutboxRelay(
        engine=purchase_svc.engine,
        table=purchase_tables["outbox"],
        producer=producer,
        topic_name=kafka.topic,
        service="purchase",
    )
    assert relay.publish(relay.fetch_batch()) == 3
    assert relay.fetch_batch() == []  # marked published only after the broker acknowledged
    producer.close()
    relay.close()
    run_consumer(gifting)
    wait_until(lambda: balance(gifting, "viewer") == 1_050, message="three purchases credited")


def buy(client, auth) -> None:
    """One purchase by "viewer": a purchase.completed row in the outbox."""
    client.post(
        "/v1/purchases",
        headers=auth(**{"Idempotency-Key": str(uuid.uuid4())}),
        json={
            "user_id": "viewer",
            "country": "US",
            "birth_date": "1990-01-01",
            "package_id": "coins_350",
            "payment": {"method": "card", "token": "tok_visa"},
        },
    )


@contextmanager
def running(relay: OutboxRelay) -> Iterator[OutboxRelay]:
    """The relay's loop in a thread for the block; stopped, its producer and connections closed after."""
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield relay
    finally:
        stop.set()
        thread.join(timeout=10)
        relay.producer.close()
        relay.close()


def purchase_relay(svc, kafka, **options) -> OutboxRelay:
    """Purchase's relay on this test's topics; polls 60 s apart unless `options` say otherwise."""
    options = {"idle_wait_s": 60, "listen_idle_s": 60, **options}
    producer = make_producer(kafka, client_id="test-relay")
    return OutboxRelay(
        engine=svc.engine,
        table=purchase_tables["outbox"],
        producer=producer,
        topic_name=kafka.topic,
        service="purchase",
        **options,
    )


def test_the_relay_wakes_on_the_commit_not_on_its_poll(make_service, kafka, auth):
    """Its safety-net poll is 60 s away: only the outbox's NOTIFY can bring the purchase out in time."""
    purchase_svc, client = make_service("purchase")
    with running(purchase_relay(purchase_svc, kafka)) as relay:
        wait_until(lambda: relay._wakeup.held, timeout=10, message="the relay listens")
        wait_until(lambda: published(purchase_svc) == (0, 0), timeout=10, message="its first poll found nothing")
        buy(client, auth)
        wait_until(lambda: published(purchase_svc) == (1, 1), timeout=20, message="published on the commit's NOTIFY")


def add_purchase_event(svc, conn=None) -> None:
    data = {"purchase_id": str(uuid.uuid4()), "user_id": "u", "coins": 1, "amount_minor": 99, "currency": "USD"}
    if conn is not None:
        Outbox(conn, purchase_tables["outbox"], "purchase").add(PURCHASE_COMPLETED, {**data, "country": "US"})
        return
    with svc.engine.begin() as conn:
        add_purchase_event(svc, conn)


def test_a_commit_notifies_only_while_the_relay_waits_and_the_relay_waits_only_after_every_silent_commit(
    make_service,
):
    """A NOTIFY holds the server's notify lock through the commit's flush, so the outbox notifies
    only while its relay waits. A writer that did not notify keeps the relay from starting to wait
    until its commit is visible: the relay's fetch after that sees its row."""
    purchase_svc, _client = make_service("purchase")
    libpq = libpq_url(purchase_svc.engine)
    with psycopg.connect(libpq, autocommit=True) as listener:
        listener.execute(f"LISTEN {OUTBOX_CHANNEL}")

        def notified() -> int:
            return len(list(listener.notifies(timeout=0.5)))

        add_purchase_event(purchase_svc)
        assert notified() == 0  # nobody waits
        relay = Wakeup(libpq, relay_lock_key("outbox"))
        try:
            with purchase_svc.engine.connect() as writer:
                with writer.begin():
                    add_purchase_event(purchase_svc, writer)  # its trigger ran, found the relay busy
                    assert relay.start_waiting() is False  # until that commit is visible
                assert relay.start_waiting() is True
            add_purchase_event(purchase_svc)
            add_purchase_event(purchase_svc)
            assert notified() == 2  # while it waits, every commit
            relay.stop_waiting()
            add_purchase_event(purchase_svc)
            assert notified() == 0
            relay.start_waiting()
            relay.close()  # a relay gone: its session, and the lock with it
            add_purchase_event(purchase_svc)
            assert notified() == 0
        finally:
            relay.close()
    with psycopg.connect(libpq, autocommit=True) as conn:
        assert conn.execute("SELECT pg_try_advisory_lock(%s)", (RELAY_WAITING_LOCK,)).fetchone()[0]


def test_a_commit_between_the_relays_last_fetch_and_its_wait_is_fetched_not_left_to_the_poll(make_service, kafka):
    """The commit lands after the relay found the outbox empty and before it said it waits, so it
    did not notify: the relay fetches once more after saying so (its poll is 60 s away)."""
    purchase_svc, _client = make_service("purchase")
    relay = purchase_relay(purchase_svc, kafka)
    start_waiting, slipped_in = relay._wakeup.start_waiting, []

    def a_commit_first(**options):
        if not slipped_in:
            add_purchase_event(purchase_svc)
            slipped_in.append(True)
        return start_waiting(**options)

    relay._wakeup.start_waiting = a_commit_first
    with running(relay):
        wait_until(lambda: published(purchase_svc) == (1, 1), timeout=10, message="fetched once the relay waits")


def test_a_writer_sitting_in_its_transaction_makes_the_relay_poll_backing_off_not_spin(make_service, kafka):
    """Its outbox row keeps the relay from saying it waits (the writer holds the lock shared until
    it ends): the relay polls, backing off to idle_wait_s, instead of queueing for the lock again
    and again; once the writer commits, its row goes out."""
    purchase_svc, _client = make_service("purchase")
    relay = purchase_relay(purchase_svc, kafka, idle_wait_s=0.1)
    fetches = []

    def count(conn, cursor, statement, *args):
        if "FROM outbox" in statement and "published_at IS NULL" in statement:
            fetches.append(time.monotonic())

    sa.event.listen(purchase_svc.engine, "before_cursor_execute", count)
    try:
        with purchase_svc.engine.connect() as writer:
            transaction = writer.begin()
            add_purchase_event(purchase_svc, writer)  # no relay waits: it holds the lock shared
            with running(relay):
                wait_until(lambda: len(fetches) >= 3, timeout=10, message="the relay polls")
                time.sleep(0.3)
                started = len(fetches)
                time.sleep(1.0)
                assert len(fetches) - started <= 15  # ~10 a second at idle_wait_s; spinning: ~100
                assert not relay._wakeup.waiting
                transaction.commit()
                wait_until(lambda: published(purchase_svc) == (1, 1), timeout=5, message="the row, once committed")
    finally:
        sa.event.remove(purchase_svc.engine, "before_cursor_execute", count)


def test_no_commit_waits_for_the_safety_net_poll_while_the_relay_goes_from_busy_to_waiting(make_service, kafka):
    """Writers commit at random moments around the relay's switches between publishing and waiting;
    its poll is 60 s away, so an event whose commit neither notified nor was fetched would be late."""
    purchase_svc, _client = make_service("purchase")
    writers, each = 4, 40
    with running(purchase_relay(purchase_svc, kafka)) as relay:
        wait_until(lambda: relay._wakeup.held, timeout=10, message="the relay listens")

        def write() -> None:
            for _ in range(each):
                time.sleep(random.choice((0, 0.001, 0.005, 0.02, 0.05)))
                add_purchase_event(purchase_svc)

        threads = [threading.Thread(target=write) for _ in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wait_until(
            lambda: published(purchase_svc) == (writers * each,) * 2, timeout=15, message="every event published"
        )
        wait_until(lambda: relay._wakeup.waiting, timeout=10, message="idle again: the next commit notifies")


def test_a_relay_standing_aside_for_cdc_runs_no_query_per_commit_and_resumes_on_the_switch(make_service, kafka, auth):
    """Under CDC a commit's NOTIFY wakes the relay, which must not ask the database again whether it
    is in charge; the switch back notifies, and the relay publishes without waiting for a re-read."""
    purchase_svc, client = make_service("purchase")
    libpq = libpq_url(purchase_svc.engine)
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute("INSERT INTO outbox_cdc (slot, switched_at) VALUES ('test', now())")
    relay = purchase_relay(purchase_svc, kafka, cdc_recheck_s=600)
    statements, waits, wakes, real_wait = [], [], [], relay._wakeup.wait

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def counted_wait(timeout_s, stop):
        waits.append(relay._wakeup.held)
        woken = real_wait(timeout_s, stop)
        wakes.append(woken)
        return woken

    relay._wakeup.wait = counted_wait
    sa.event.listen(purchase_svc.engine, "before_cursor_execute", count)
    try:
        with running(relay):
            wait_until(lambda: waits, timeout=10, message="the relay waits for commits")
            assert waits == [False]  # standing aside: its lock let go
            before = len(statements)
            with psycopg.connect(libpq, autocommit=True) as other:
                for commits in range(1, 4):  # what the outbox's trigger sends at each commit
                    other.execute(f"SELECT pg_notify('{OUTBOX_CHANNEL}', '')")
                    wait_until(lambda n=commits: wakes.count(True) >= n, timeout=10, message="woken by the commit")
            assert statements[before:] == []  # standing aside costs no query per commit
            buy(client, auth)
            assert published(purchase_svc) == (1, 0)  # CDC's to publish
            with psycopg.connect(libpq) as switch, switch.transaction():  # what coinsctl.cdc.to_relay commits
                switch.execute("DELETE FROM outbox_cdc")
                switch.execute(f"SELECT pg_notify('{CDC_CHANNEL}', '')")
            wait_until(
                lambda: published(purchase_svc) == (1, 1), timeout=20, message="published on the switch's NOTIFY"
            )
    finally:
        sa.event.remove(purchase_svc.engine, "before_cursor_execute", count)


def published(svc) -> tuple[int, int]:
    """(outbox rows, of which published)."""
    with svc.engine.connect() as conn:
        return tuple(conn.execute(sa.text("SELECT count(*), count(published_at) FROM outbox")).one())


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_the_relay_marks_only_the_acknowledged_prefix_published(make_service, kafka, auth, backend):
    purchase_svc, client = make_service("purchase", backend=backend)
    for _ in range(5):
        buy(client, auth)
    relay = OutboxRelay(
        engine=purchase_svc.engine,
        table=purchase_tables["outbox"],
        producer=AcksTheFirst(3),
        topic_name=kafka.topic,
        service="purchase",
    )
    batch = relay.fetch_batch()
    assert relay.publish(batch) == 3
    assert [row.id for row in relay.fetch_batch()] == [row.id for row in batch[3:]]  # the rest: sent again
    relay.producer = AcksTheFirst(5)
    assert relay.publish(relay.fetch_batch()) == 2 and relay.fetch_batch() == []
    relay.close()


def test_the_relay_keeps_one_connection_and_opens_another_when_it_is_lost(make_service, kafka):
    purchase_svc, _ = make_service("purchase")
    relay = OutboxRelay(
        engine=purchase_svc.engine,
        table=purchase_tables["outbox"],
        producer=None,
        topic_name=kafka.topic,
        service="purchase",
    )
    backend = lambda: relay._conn.connection.driver_connection.info.backend_pid  # noqa: E731
    assert relay.fetch_batch() == []
    first = backend()
    assert relay.fetch_batch() == [] and backend() == first  # the same connection, no checkout per poll
    with purchase_svc.engine.connect() as admin:
        admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    with pytest.raises(OperationalError):
        relay.fetch_batch()
    assert relay.fetch_batch() == [] and backend() != first
    relay.close()


def test_redelivered_events_are_applied_once(gifting, kafka, run_consumer):
    key, value, event_id = purchase_event("viewer", 700)
    send(kafka, [(key, value)] * 3)  # the same event three times, as a relay retry would
    marker_key, marker, _ = purchase_event("viewer", 1)
    send(kafka, [(marker_key, marker)])
    run_consumer(gifting)
    wait_until(lambda: balance(gifting, "viewer") == 701, message="the event and the marker applied")
    with gifting.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM inbox WHERE event_id = :e"), {"e": event_id}).scalar() == 1


def test_poison_messages_are_dead_lettered_and_the_partition_moves_on(gifting, kafka, run_consumer):
    good_key, good, _ = purchase_event("viewer", 350)
    _, breaks_rule, _ = purchase_event("viewer", 70)
    broken = json.loads(breaks_rule)
    broken["data"]["coins"] = -70
    send(kafka, [(good_key, b"{not json"), (good_key, json.dumps(broken).encode()), (good_key, good)])
    run_consumer(gifting)
    wait_until(lambda: balance(gifting, "viewer") == 350, message="the good event after two poison ones")
    letters = dead_letters(kafka, expected=2)
    reasons = sorted(dict(r.headers)["dlq.reason"].decode() for r in letters)
    assert reasons == ["malformed", "malformed"]
    assert all("dlq.error" in dict(r.headers) for r in letters)


def test_an_event_is_applied_only_by_the_handler_of_its_declared_type(gifting, kafka, run_consumer):
    """A reversal (or a type no one knows) published on the purchases' topic is dead-lettered, never
    credited by the purchase handler; a purchase on the reversals' topic is not clawed back."""
    reversal, key = new_event(
        PURCHASE_REVERSED,
        source="purchase",
        data={"purchase_id": "p-1", "chargeback_id": "cb-1", "user_id": "viewer", "coins": 700, "reason": "fraud"},
    )
    unknown = {**envelope_to_dict(reversal), "event_id": str(uuid.uuid4()), "type": "purchase.refunded"}
    marker_key, marker, _ = purchase_event("viewer", 1)
    send(kafka, [(key.encode(), json.dumps(envelope_to_dict(reversal)).encode())])
    send(kafka, [(key.encode(), json.dumps(unknown).encode()), (marker_key, marker)])
    misplaced_key, misplaced, _ = purchase_event("viewer", 350)
    send(kafka, [(misplaced_key, misplaced)], topic=PURCHASE_REVERSED.topic)
    run_consumer(gifting)
    wait_until(lambda: balance(gifting, "viewer") == 1, message="the marker applied after the misplaced events")
    letters = dead_letters(kafka, expected=2)
    assert sorted(dict(r.headers)["dlq.reason"] for r in letters) == [b"malformed", b"wrong_type"]
    wrong = next(r for r in letters if dict(r.headers)["dlq.reason"] == b"wrong_type")
    assert b"purchase.reversed.v1" in dict(wrong.headers)["dlq.error"]
    [misplaced_letter] = dead_letters(kafka, topic=PURCHASE_REVERSED.topic)
    assert dict(misplaced_letter.headers)["dlq.reason"] == b"wrong_type"
    assert balance(gifting, "viewer") == 1  # neither credited nor clawed back
    with gifting.engine.connect() as conn:  # none is in the inbox: a replay to its own topic applies it
        assert conn.execute(sa.text("SELECT count(*) FROM inbox")).scalar() == 1


def test_an_amount_past_the_contracts_bound_or_a_value_its_column_cannot_hold_is_dead_lettered_at_once(
    gifting, kafka, run_consumer
):
    """Past 2**53 coins the event is malformed (the contract's bound, on every database); a purchase id
    longer than its column is refused by PostgreSQL (DataError): dead-lettered, not retried."""

    def edited(value: bytes, **data) -> bytes:  # as a producer without our contracts could write it
        event = json.loads(value)
        return json.dumps({**event, "data": {**event["data"], **data}}).encode()

    huge_key, huge, _ = purchase_event("viewer", 5)
    huge = edited(huge, coins=2**70)
    long_key, long, _ = purchase_event("viewer", 5)
    long = edited(long, purchase_id="p" * 500)
    marker_key, marker, _ = purchase_event("viewer", 1)
    send(kafka, [(huge_key, huge), (long_key, long), (marker_key, marker)])
    run_consumer(gifting)
    wait_until(lambda: balance(gifting, "viewer") is not None, message="the marker applied")
    reasons = sorted(dict(r.headers)["dlq.reason"] for r in dead_letters(kafka, expected=2))
    long_is_refused = gifting.engine.dialect.name == "postgresql"  # SQLite keeps text of any length
    assert reasons == ([b"malformed", b"rejected"] if long_is_refused else [b"malformed"])
    assert balance(gifting, "viewer") == (1 if long_is_refused else 6)


def test_an_event_that_breaks_a_rule_is_dead_lettered_with_the_reason(gifting, kafka, run_consumer):
    def refuse(conn, envelope, data):
        raise PermanentMessageError("wallet closed")

    key, value, _ = purchase_event("viewer", 70)
    send(kafka, [(key, value)])
    run_consumer(gifting, handlers={PURCHASE_COMPLETED.topic: refuse}, group="refusing")
    [letter] = dead_letters(kafka)
    assert dict(letter.headers)["dlq.reason"] == b"rejected"
    assert b"wallet closed" in dict(letter.headers)["dlq.error"]
    with gifting.engine.connect() as conn:  # not in the inbox, so replaying it after a fix applies it
        assert conn.execute(sa.text("SELECT count(*) FROM inbox")).scalar() == 0


def test_a_database_outage_is_retried_not_dead_lettered(gifting, kafka, run_consumer):
    real = event_handlers(gifting)[PURCHASE_COMPLETED.topic]
    failures = {"left": 3}

    def flaky(conn, envelope, data):
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
        real(conn, envelope, data)

    key, value, _ = purchase_event("viewer", 700)
    send(kafka, [(key, value)])
    run_consumer(gifting, handlers={PURCHASE_COMPLETED.topic: flaky}, group="flaky")
    wait_until(lambda: balance(gifting, "viewer") == 700, message="applied after the outage")
    assert failures["left"] == 0
    consumer = KafkaConsumer(**client_options(kafka))
    dlq = TopicPartition(kafka.topic(PURCHASE_COMPLETED.topic) + ".dlq", 0)
    assert consumer.end_offsets([dlq])[dlq] == 0
    consumer.close()


# -- the set-wise fast path (payout's gift events) ---------------------------------------------------
@pytest.fixture
def payout(make_service):
    svc, _client = make_service("payout")
    return svc


def credited(svc) -> dict[str, int]:
    with snapshot(svc.engine) as conn:  # both figures from one state, however the consumer races
        accounts = dict(conn.execute(sa.text("SELECT creator_id, credited_diamonds FROM creator_accounts")).all())
        earned = dict(conn.execute(sa.text("SELECT creator_id, sum(diamonds) FROM earnings GROUP BY creator_id")).all())
    assert accounts == {c: int(n) for c, n in earned.items()}, "accounts differ from the sum of their earnings"
    return accounts


def test_a_batch_of_gift_events_is_credited_set_wise_once_each(payout, kafka, run_consumer):
    events = [gift_event(f"creator-{i % 7}", 1 + i % 5) for i in range(200)]
    repeated_key, repeated, _ = events[3]
    republished_gift = gift_event("creator-0", 40)  # the same gift under a second event id
    same_gift_again = gift_event("creator-0", 40, gift_tx_id=json.loads(republished_gift[1])["data"]["gift_tx_id"])
    send(
        kafka,
        [(k, v) for k, v, _ in events] + [(repeated_key, repeated)] * 3 + [republished_gift[:2], same_gift_again[:2]],
        topic=GIFT_SENT.topic,
    )
    inbox = run_consumer(payout, handlers=payout_handlers(payout), group="payout-set")
    expected: dict[str, int] = {}
    for i in range(200):
        expected[f"creator-{i % 7}"] = expected.get(f"creator-{i % 7}", 0) + 1 + i % 5
    expected["creator-0"] += 40
    wait_until(lambda: credited(payout) == expected, message="every gift credited once")
    with payout.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM inbox")).scalar() == 202
    # The thread counts a batch after its commit (and its log lines): the credits can be seen first.
    wait_until(lambda: inbox.set_wise_batches >= 1, timeout=10, message="a batch applied set-wise")


def test_a_set_wise_batch_with_a_bad_event_is_applied_one_by_one_and_only_that_event_dead_lettered(
    payout, kafka, run_consumer
):
    real = payout_handlers(payout)[GIFT_SENT.topic]

    def one(conn, envelope, data):
        if data["creator_id"] == "banned":
            raise PermanentMessageError("creator banned")
        real.one(conn, envelope, data)

    def many(conn, events):
        if any(data["creator_id"] == "banned" for _, data in events):
            raise PermanentMessageError("a creator in this batch is banned")
        real.many(conn, events)

    events = (
        [gift_event("fine", 10) for _ in range(5)]
        + [gift_event("banned", 99)]
        + [gift_event("fine", 10) for _ in range(5)]
    )
    send(kafka, [(k, v) for k, v, _ in events], topic=GIFT_SENT.topic)
    run_consumer(payout, handlers={GIFT_SENT.topic: Apply(one=one, many=many)}, group="payout-banned")
    wait_until(lambda: credited(payout) == {"fine": 100}, message="the good events around the bad one")
    [letter] = dead_letters(kafka, topic=GIFT_SENT.topic)
    assert dict(letter.headers)["dlq.reason"] == b"rejected"
    assert b"creator banned" in dict(letter.headers)["dlq.error"]


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_earnings_that_would_take_an_account_past_64_bits_are_refused_on_both_databases(make_service, backend):
    """PostgreSQL raises on a BIGINT sum past 2**63 - 1; SQLite would store an inexact REAL and mark
    the event applied. On both the event is dead-lettered (rejected) and the account is unchanged."""
    svc, _client = make_service("payout", backend=backend)
    top = 2**63 - 1
    with svc.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO creator_accounts (creator_id, credited_diamonds, reserved_diamonds, withdrawn_diamonds,"
                " version) VALUES ('cara', :c, 0, 0, 0)"
            ),
            {"c": top - 5},
        )
    key, value, _ = gift_event("cara", 10)
    inbox = Inbox(
        engine=svc.engine,
        table=svc.tables["inbox"],
        group="payout-consumer",
        handlers=payout_handlers(svc),
        topic_name=str,
        max_attempts=3,
    )
    record = SimpleNamespace(topic=GIFT_SENT.topic, partition=0, offset=0, key=key, value=value, headers=[])
    [poisoned] = inbox.apply_batch([record]).poisoned
    assert poisoned.reason == "rejected"
    with svc.engine.connect() as conn:
        credited = conn.execute(sa.text("SELECT credited_diamonds FROM creator_accounts")).scalar()
        assert (credited, conn.execute(sa.text("SELECT count(*) FROM earnings")).scalar()) == (top - 5, 0)
