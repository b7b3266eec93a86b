"""The money flow as metrics: how many events of each type, and the coins, diamonds and money
they carry, counted by the outbox relay when the broker acknowledges them.

Every business fact of the platform (a purchase completed or reversed, a gift sent, a withdrawal
paid or failed) is one event written in the same transaction as the fact, so counting events is
counting facts, whichever code path made them (the gift's single statement included), in the
one process per service that sees them all. Counts are at least once, as publishing is: an
event sent again (a relay that died between the broker's ack and marking it published, or
`coinsctl outbox republish`) is counted again. Ledgers are the databases; these are for rates.
The counters are shared.observability.metrics' EVENTS, EVENT_COINS, EVENT_DIAMONDS and EVENT_MONEY_MINOR.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable

import orjson

from shared.observability import metrics

log = logging.getLogger(__name__)

MONEY_FIELDS = ("amount_minor", "net_minor")  # what a purchase charged, what a withdrawal paid


def count_published(service: str, topic: str, payload: str) -> None:
    """Count one acknowledged event (`payload` is the outbox row's JSON envelope)."""
    count_many(service, [(topic, payload)])


def count_many(service: str, events: Iterable[tuple[str, str]]) -> None:
    """Count acknowledged events, each (topic, payload): summed first, then one increment per
    counter and labels (a relay's batch: each increment looks its labels up and writes, in
    multiprocess mode, to a shared file)."""
    totals: Counter[tuple] = Counter()
    for topic, payload in events:
        event_type = topic.rsplit(".v", 1)[0]
        totals[(metrics.EVENTS, event_type)] += 1
        try:
            data = orjson.loads(payload)["data"]
        except (ValueError, KeyError, TypeError):  # published all the same; the consumers dead-letter it
            log.warning("a published event has no data to count", extra={"topic": topic})
            continue
        if not isinstance(data, dict):
            continue
        if _amount(data.get("coins")):
            totals[(metrics.EVENT_COINS, event_type)] += data["coins"]
        if _amount(data.get("diamonds")):
            totals[(metrics.EVENT_DIAMONDS, event_type)] += data["diamonds"]
        money = next((data[f] for f in MONEY_FIELDS if _amount(data.get(f))), None)
        if money is not None and isinstance(data.get("currency"), str):
            totals[(metrics.EVENT_MONEY_MINOR, event_type, data["currency"])] += money
    for (counter, *labels), amount in totals.items():
        counter.labels(service, *labels).inc(amount)


def _amount(value) -> bool:
    """An amount a counter can take: an integer, not negative (a counter only goes up)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
