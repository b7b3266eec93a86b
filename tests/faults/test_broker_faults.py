"""The broker under faults: away for a minute, restarted with its data, restarted empty. After
every case the auditor (tests/faults/conftest.py) checks that nothing was created, lost or doubled."""

from __future__ import annotations

import time

import pytest

from coinsctl.kafka_acls import apply_acls, platform_acls
from coinsctl.recovery import republish
from shared.clock import utcnow
from shared.kafka.admin import TopicPolicy, consumed_topics, consumer_lag, ensure_topics
from tests.faults.conftest import metric
from tests.faults.test_faults import funded, gifts
from tests.support.stories import buy, earnings, send_gift, spendable, unique, wallet
from tests.support.waiting import wait_until

pytestmark = pytest.mark.faults


def test_a_broker_away_for_a_minute_under_load_loses_nothing(api, stack):
    viewers = [funded(api) for _ in range(3)]
    creator, late_buyer = unique("creator"), unique("viewer")
    stack.broker.pause()  # unreachable: connections hang, nothing answers
    try:
        away_until, sent = time.monotonic() + 60, 0
        buy(api, late_buyer, package_id="coins_350")
        while time.monotonic() < away_until:  # HTTP keeps taking money the whole minute
            assert send_gift(api, viewers[sent % 3], creator, "rose").status_code == 201
            sent += 1
            time.sleep(0.5)
        assert metric(stack, "gifting", "coins_outbox_backlog_events") >= 1
    finally:
        stack.broker.resume()
    wait_until(lambda: earnings(api, creator)["total"] == sent, timeout=120, message="the backlog drained")
    spendable(api, late_buyer, 350, timeout=90)


def test_a_broker_killed_and_restarted_keeps_its_data_and_offsets(api, stack):
    viewer, creator = funded(api), unique("creator")
    gifts(api, viewer, creator, 3)
    wait_until(lambda: earnings(api, creator)["total"] == 300, message="credited before the crash")
    # Applied is not committed: a member evicted while the broker was away (the case before) applies
    # records but commits nothing until it has rejoined. The offsets the restart must keep come first.
    kafka = stack.kafka_admin()
    wait_until(
        lambda: not any(consumer_lag(kafka, "payout-consumer", consumed_topics("payout")).values()),
        timeout=60,
        message="payout's offsets committed before the crash",
    )
    duplicates = metric(stack, "payout", "coins_consumer_messages_total", outcome="duplicate")
    stack.restart_broker()  # SIGKILL, then the same log directory
    gifts(api, viewer, creator, 2)
    wait_until(lambda: earnings(api, creator)["total"] == 500, timeout=90, message="gifts after the restart")
    # The committed offsets survived: the consumers did not re-read the topic from its start.
    assert metric(stack, "payout", "coins_consumer_messages_total", outcome="duplicate") - duplicates < 3


def test_a_broker_restarted_empty_is_recovered_by_republishing_the_outboxes(api, stack):
    since = utcnow()
    viewer, creator = funded(api), unique("creator")
    gifts(api, viewer, creator, 4)
    wait_until(lambda: earnings(api, creator)["total"] == 400, message="credited before the crash")
    stack.restart_broker(lose_data=True)  # every topic, message, committed offset (and ACL) is gone
    late = unique("viewer")
    buy(api, late, package_id="coins_700")
    for service in ("purchase", "gifting"):
        republish(service, stack.env[f"{service.upper()}_DATABASE_URL"], since)
    spendable(api, late, 700, timeout=120)
    gifts(api, late, creator, 2)
    wait_until(lambda: earnings(api, creator)["total"] == 600, timeout=120, message="effects after recovery")
    assert wallet(api, viewer)["balance"] == 3_100  # replayed purchases were not credited twice


def test_consumers_that_saw_their_topics_refused_while_the_broker_was_remade_are_given_every_partition(api, stack):
    """An empty broker is made anew in two steps (topics, then ACLs). A consumer whose metadata was
    refreshed in between (topics "not authorized": no partitions, and no refresh asked for again)
    then leads its new group; kafka-python's range assignor gave it none of those partitions, and
    as they came back with the same numbers the lost cluster had, no rebalance ever followed:
    whatever was published next was never applied (the flake of the case above: 2 of 129 gifts).
    Here that window is held open until both consumers have been refused."""
    viewer, creator = funded(api), unique("creator")
    gifts(api, viewer, creator, 1)
    wait_until(lambda: earnings(api, creator)["total"] == 100, message="credited before the crash")
    consumers = ("gifting-consumer", "payout-consumer")
    logs = {name: stack.var_dir / "logs" / f"{name}.log" for name in consumers}
    mark = {name: path.stat().st_size for name, path in logs.items()}

    def refused(name: str) -> bool:
        with open(logs[name], "rb") as f:
            f.seek(mark[name])
            return b"is not authorized for this client" in f.read()

    stack.broker.wipe()
    stack.broker.start()
    admin = stack.kafka_admin()
    ensure_topics(admin, TopicPolicy(partitions=int(stack.env["KAFKA_PARTITIONS"])), timeout_s=60)
    wait_until(lambda: all(refused(n) for n in consumers), timeout=60, message="both consumers refused their topics")
    apply_acls(admin, platform_acls(topic_prefix=admin.topic_prefix))
    late = unique("viewer")
    buy(api, late, package_id="coins_700")
    spendable(api, late, 700, timeout=90)
    gifts(api, late, creator, 2)
    wait_until(lambda: earnings(api, creator)["total"] == 300, timeout=90, message="gifts after the broker came back")
