"""Money under faults: crash, restart, duplicate, poison, race. After every case the auditor
(tests/faults/conftest.py) checks that no coin or diamond was created, lost or doubled."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests
from kafka.partitioner.default import murmur2

from coinsctl.recovery import dead_letters, replay, rewind_group
from shared.kafka.clients import publish
from shared.kafka.settings import KafkaSettings
from tests.faults.conftest import key, metric
from tests.support.stories import buy, dispute, earnings, send_gift, spendable, unique, wallet
from tests.support.waiting import wait_until

pytestmark = pytest.mark.faults


def funded(api, coins_package="coins_3500", coins=3_500) -> str:
    viewer = unique("viewer")
    buy(api, viewer, package_id=coins_package)
    spendable(api, viewer, coins)
    return viewer


def gifts(api, viewer: str, creator: str, n: int, gift_id="confetti") -> None:
    for _ in range(n):
        assert send_gift(api, viewer, creator, gift_id).status_code == 201


def kafka_of(stack) -> KafkaSettings:
    return stack.kafka_admin()


# 1
def test_consumer_killed_after_db_commit_before_offset_commit_applies_redeliveries_once(api, stack, faults):
    viewer, creator = funded(api), unique("creator")
    duplicates_before = metric(stack, "payout", "coins_consumer_messages_total", outcome="duplicate")
    faults.arm("payout-consumer", "consumer.after_db_commit")
    gifts(api, viewer, creator, 10)
    faults.crashed("payout-consumer")
    faults.heal("payout-consumer")
    wait_until(lambda: earnings(api, creator)["total"] == 1_000, message="every gift credited once")
    wait_until(
        lambda: metric(stack, "payout", "coins_consumer_messages_total", outcome="duplicate") > duplicates_before,
        message="the redelivered batch seen as duplicates",
    )


# 2
def test_consumer_killed_inside_a_batch_transaction_leaves_nothing_half_applied(api, stack, faults):
    viewer, creator = funded(api), unique("creator")
    faults.arm("payout-consumer", "consumer.mid_batch")
    gifts(api, viewer, creator, 10)
    faults.crashed("payout-consumer")
    faults.heal("payout-consumer")
    wait_until(lambda: earnings(api, creator)["total"] == 1_000, message="every gift credited once")


# 3
def test_relay_killed_after_the_broker_acked_publishes_again_and_consumers_absorb_it(api, stack, faults):
    viewer, creator = funded(api), unique("creator")
    duplicates_before = metric(stack, "payout", "coins_consumer_messages_total", outcome="duplicate")
    faults.arm("gifting-relay", "relay.after_ack")
    gifts(api, viewer, creator, 5)
    faults.crashed("gifting-relay")
    faults.heal("gifting-relay")
    wait_until(lambda: earnings(api, creator)["total"] == 500, message="every gift credited once")
    wait_until(
        lambda: metric(stack, "payout", "coins_consumer_messages_total", outcome="duplicate") > duplicates_before,
        message="the re-sent events seen as duplicates",
    )


# 4
def test_web_process_killed_right_after_a_commit_still_publishes_and_a_retry_has_no_second_effect(api, stack, faults):
    viewer, creator = funded(api, "coins_700", 700), unique("creator")
    faults.arm("gifting-web", "uow.after_commit")
    stack.wait_ready()
    gift_key = key()
    with pytest.raises(requests.ConnectionError):
        send_gift(api, viewer, creator, "concert", key=gift_key)  # the worker dies after its commit
    assert faults.fired("uow.after_commit")
    wait_until(lambda: earnings(api, creator)["total"] == 500, message="the committed gift published")
    retried = wait_until(
        lambda: (r := send_gift(api, viewer, creator, "concert", key=gift_key)).status_code != 409 and r,
        timeout=30,
        message="the stored response",
    )
    assert retried.status_code == 201 and retried.headers["Idempotent-Replayed"] == "true"
    assert wallet(api, viewer)["balance"] == 200


# 7
def test_a_connection_killed_mid_transaction_rolls_back_and_the_retry_takes_effect_once(api, stack, faults):
    # A chargeback is a transaction of several statements (a gift is one, which commits on its own).
    viewer = unique("viewer")
    purchase = buy(api, viewer, package_id="coins_700")
    spendable(api, viewer, 700)
    faults.arm("purchase-web", "uow.before_commit=sleep:3")
    stack.wait_ready()
    dispute(api, purchase["purchase_id"])
    chargeback_key, body = key(), {"purchase_id": purchase["purchase_id"], "reason": "fraud"}
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(api.post, "purchase", "/v1/chargebacks", body, "processor", chargeback_key)
        database = stack.env["PURCHASE_DATABASE_URL"].rsplit("/", 1)[1]
        admin = stack.env["PURCHASE_DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            killed = wait_until(
                lambda: conn.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s "
                    "AND state = 'idle in transaction'",
                    (database,),
                ).fetchone()[0],
                timeout=10,
                message="the chargeback's open transaction",
            )
        assert killed >= 1
        response = pending.result()
    while response.status_code in (409, 503):  # in flight, or the database hiccup: retry with the same key
        response = api.post("purchase", "/v1/chargebacks", body, "processor", chargeback_key)
    assert response.status_code == 202
    again = api.post("purchase", "/v1/chargebacks", body, "processor", chargeback_key)
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    spendable(api, viewer, 0)  # the 700 coins taken back once (twice would leave a debt: -700)


# 8
def test_the_consumers_database_down_30s_is_waited_out_not_dead_lettered(api, stack):
    viewer, creator = funded(api), unique("creator")
    url = stack.env["PAYOUT_DATABASE_URL"]
    database, admin = url.rsplit("/", 1)[1], url.rsplit("/", 1)[0] + "/postgres"
    letters_before = len(dead_letters(kafka_of(stack), ["gift.sent.v1"]))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,))
        try:
            gifts(api, viewer, creator, 5)
            threading.Event().wait(30)  # the outage lasts 30 seconds by design of the case
            assert earnings_unavailable(api, creator)
        finally:
            conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    wait_until(lambda: earnings(api, creator)["total"] == 500, timeout=60, message="applied after the outage")
    assert len(dead_letters(kafka_of(stack), ["gift.sent.v1"])) == letters_before


def earnings_unavailable(api, creator) -> bool:
    return api.get("payout", f"/v1/creators/{creator}/earnings").status_code == 503


# 9
def test_fifty_concurrent_requests_with_one_key_have_one_effect(api, stack):
    viewer, shared_key = unique("viewer"), key()
    body = {
        "user_id": viewer,
        "country": "GB",
        "birth_date": "1990-01-01",
        "package_id": "coins_1400",
        "payment": {"method": "card", "token": "tok_visa"},
    }
    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(lambda _: api.post("purchase", "/v1/purchases", body, key=shared_key), range(50)))
    assert {r.status_code for r in responses} <= {201, 409}
    assert len({r.json()["purchase_id"] for r in responses if r.status_code == 201}) == 1
    spendable(api, viewer, 1_400)
    assert len(api.get("purchase", f"/v1/users/{viewer}/purchases").json()["purchases"]) == 1


# 10
def test_a_hundred_gifts_racing_for_one_balance_never_take_it_below_zero(api, stack):
    viewer = funded(api, "coins_3500", 3_500)
    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(lambda i: send_gift(api, viewer, unique("creator"), "sunglasses"), range(100)))
    accepted = [r for r in responses if r.status_code == 201]
    assert {r.status_code for r in responses} <= {201, 409}
    assert len(accepted) == 3_500 // 199
    assert sum(r.json()["coins"] for r in accepted) <= 3_500
    assert wallet(api, viewer)["balance"] == 3_500 - 199 * len(accepted) >= 0


# 11
def test_a_hot_creator_gifted_by_many_at_once_gets_exact_totals(api, stack):
    creator = unique("hot-creator")
    viewers = [funded(api, "coins_350", 350) for _ in range(12)]
    with ThreadPoolExecutor(24) as pool:
        statuses = list(
            pool.map(
                lambda v: send_gift(api, v, creator, "perfume", quantity=1).status_code,
                [v for v in viewers for _ in range(10)],
            )
        )
    assert statuses.count(201) == 120
    wait_until(lambda: earnings(api, creator)["total"] == 120 * 20, message="all 120 gifts credited")


# 12
def test_a_poison_message_is_dead_lettered_the_partition_moves_on_and_a_replay_after_the_fix_applies_once(
    api, stack, faults
):
    kafka, partitions = kafka_of(stack), int(stack.env.get("KAFKA_PARTITIONS", "6"))
    victim = unique("creator")
    partition_of = lambda creator: (murmur2(creator.encode()) & 0x7FFFFFFF) % partitions  # noqa: E731
    neighbour = next(c for c in (unique("creator") for _ in range(1000)) if partition_of(c) == partition_of(victim))
    faults.arm("payout-consumer", f"consumer.handle=raise:{victim}")  # a bug that fails this creator's gifts
    viewer = funded(api)
    publish(
        kafka,
        [{"topic": kafka.topic("gift.sent.v1"), "key": victim.encode(), "value": b'{"event_id": 42, "oops"'}],
        client_id="poisoner",
    )  # acknowledged, or the test fails here
    gifts(api, viewer, victim, 1)
    gifts(api, viewer, neighbour, 2)  # same partition, after the poison: still applied
    wait_until(lambda: earnings(api, neighbour)["total"] == 200, message="the partition to move past the poison")
    letters = wait_until(
        lambda: (
            (d := dead_letters(kafka, ["gift.sent.v1"]))
            and {"malformed", "failed"} <= {x.header("dlq.reason") for x in d if x.key == victim.encode()}
            and d
        ),
        timeout=60,
        message="both poison messages dead-lettered",
    )
    failed = [d for d in letters if d.key == victim.encode() and d.header("dlq.reason") == "failed"]
    assert "injected fault" in failed[0].header("dlq.error")
    assert earnings(api, victim)["total"] == 0
    faults.heal("payout-consumer")  # the fix is deployed
    assert replay(kafka, failed).refused == []
    wait_until(lambda: earnings(api, victim)["total"] == 100, message="the replayed gift applied")
    assert not [
        d
        for d in dead_letters(kafka, ["gift.sent.v1"])
        if d.key == victim.encode() and d.header("dlq.reason") == "failed"
    ]  # replayed: resolved, listed no more
    replay(kafka, failed)  # replaying again changes nothing
    gifts(api, viewer, victim, 1)
    wait_until(lambda: earnings(api, victim)["total"] == 200, message="later gifts applied, the replay not twice")


# 13
def test_a_rebalance_mid_stream_loses_and_doubles_nothing(api, stack):
    # A member joins while gifts stream in; once the group has rebalanced (the newcomer applies
    # events), the first member leaves and the newcomer takes over every partition. (Tansu takes a
    # few seconds to rebalance, and a member that leaves in the middle of that rebalance can stick
    # the group for good; Apache Kafka does not. So the leave waits for the join to complete.)
    viewer = funded(api, "coins_17500", 17_500)
    buy(api, viewer, package_id="coins_17500")
    spendable(api, viewer, 35_000)
    creators = [unique("creator") for _ in range(12)]  # keys spread over every partition
    gifts(api, viewer, creators[0], 1)
    wait_until(lambda: earnings(api, creators[0])["total"] == 100, message="the first consumer applying")
    stop, sent = threading.Event(), []
    newcomer_log = stack.var_dir / "logs" / "payout-consumer-2.log"

    def stream():  # paced, so that gifts keep coming before, during and after each change
        while not stop.is_set() and len(sent) < 340:
            creator = creators[len(sent) % len(creators)]
            if send_gift(api, viewer, creator, "confetti").status_code == 201:
                sent.append(creator)
            time.sleep(0.1)

    def applied_by_newcomer() -> int:
        return newcomer_log.read_text().count('"event applied"') if newcomer_log.exists() else 0

    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(stream)
        try:
            wait_until(lambda: len(sent) >= 10, message="the stream to start")
            stack.add_process("payout-consumer-2", like="payout-consumer")  # a member joins
            wait_until(applied_by_newcomer, timeout=60, message="the group to rebalance onto the new member")
            before_leave, sent_at_leave = applied_by_newcomer(), len(sent)
            stack.stop_process("payout-consumer")  # a member leaves, with gifts still coming
            wait_until(lambda: len(sent) >= sent_at_leave + 20, message="gifts after the leave")
            wait_until(
                lambda: applied_by_newcomer() >= before_leave + 20,
                timeout=60,
                message="the new member to take over every partition",
            )
        finally:
            stop.set()
            running.result(timeout=60)
    expected = {c: 100 * (sent.count(c) + (c == creators[0])) for c in creators}
    wait_until(
        lambda: all(earnings(api, c)["total"] == n for c, n in expected.items()),
        timeout=90,
        message="every gift credited once across the rebalances",
    )


# 14
def test_a_full_replay_from_the_earliest_offset_changes_no_balance(api, stack):
    viewer, creator = funded(api), unique("creator")
    gifts(api, viewer, creator, 3)
    wait_until(lambda: earnings(api, creator)["total"] == 300, message="credited")
    before = (wallet(api, viewer), earnings(api, creator))
    duplicates = {
        s: metric(stack, s, "coins_consumer_messages_total", outcome="duplicate") for s in ("gifting", "payout")
    }
    kafka = kafka_of(stack)
    for service, topics in (
        ("gifting", ["purchase.completed.v1", "purchase.reversed.v1"]),
        ("payout", ["gift.sent.v1"]),
    ):
        stack.stop_process(f"{service}-consumer")
        assert rewind_group(kafka, f"{service}-consumer", topics) > 0
        stack.restart_process(f"{service}-consumer")
    wait_until(
        lambda: (
            metric(stack, "payout", "coins_consumer_messages_total", outcome="duplicate") >= duplicates["payout"] + 3
        ),
        timeout=60,
        message="the payout consumer re-reading its topic",
    )
    wait_until(
        lambda: (
            metric(stack, "gifting", "coins_consumer_messages_total", outcome="duplicate") >= duplicates["gifting"] + 1
        ),
        timeout=60,
        message="the gifting consumer re-reading its topics",
    )
    assert (wallet(api, viewer), earnings(api, creator)) == before
