"""Inbox rows are kept at least as long as any copy of an event can come back (the topics' events,
the dead letters, the outbox that `outbox republish` sends again): settings that would prune them
sooner are refused when a process starts, with the setting and the reason named."""

from datetime import timedelta

import pytest

from shared.db.retention import RetentionError, Windows
from shared.env import ConfigError
from shared.kafka.admin import HOUR_MS, TopicPolicy
from shared.kafka.settings import kafka_settings
from shared.settings import common_settings, retention_windows


def start(**env: str):
    """What every process does first: read its settings (gifting's, say)."""
    return common_settings("gifting", {}, {"COINS_ENV": "test", **env})


def test_the_defaults_keep_inbox_rows_as_long_as_dead_letters_are_kept():
    windows = retention_windows({})
    assert windows.inbox >= max(windows.dead_letters, windows.topics, windows.outbox)
    assert windows.dead_letters == timedelta(days=90) and windows.inbox == timedelta(days=90)
    start()  # starts


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RETENTION_INBOX_HOURS": "336"}, "dead letters' retention (2160 h"),  # the old default
        ({"KAFKA_DLQ_RETENTION_HOURS": "3000"}, "dead letters' retention (3000 h"),
        ({"KAFKA_RETENTION_HOURS": "2500"}, "topics' retention (2500 h)"),
        ({"RETENTION_OUTBOX_HOURS": "2200"}, "outbox window (2200 h"),
        (
            {
                "RETENTION_INBOX_HOURS": "12",
                "KAFKA_DLQ_RETENTION_HOURS": "1",
                "KAFKA_RETENTION_HOURS": "1",
                "RETENTION_OUTBOX_HOURS": "1",
            },
            "24 hours",
        ),
    ],
)
def test_a_process_refuses_to_start_with_an_inbox_window_shorter_than_a_way_back(env, named):
    with pytest.raises(ConfigError, match="RETENTION_INBOX_HOURS") as refused:
        start(**env)
    assert named in str(refused.value)
    assert "applied twice" in str(refused.value)


def test_a_shorter_inbox_window_is_accepted_when_everything_that_comes_back_is_kept_less():
    env = {"RETENTION_INBOX_HOURS": "720", "KAFKA_DLQ_RETENTION_HOURS": "720", "KAFKA_RETENTION_HOURS": "168"}
    assert retention_windows(env).inbox == timedelta(hours=720)
    start(**env)


def test_a_republished_copy_counts_its_time_on_the_topics_after_the_outbox_window():
    """`outbox republish` can send a row until the outbox window after it was written, and the
    copy then stays on its topic for the topics' retention: the inbox must outlast both together."""
    week = timedelta(hours=168)
    with pytest.raises(RetentionError, match=r"outbox window \(168 h, `outbox republish`\) and the topics' retention"):
        Windows(outbox=week, inbox=week, topics=week, dead_letters=week)
    assert Windows(outbox=week, inbox=2 * week, topics=week, dead_letters=week).inbox == 2 * week


def test_prune_windows_are_checked_the_same_way():
    with pytest.raises(RetentionError, match="dead letters"):
        Windows(inbox=timedelta(days=14))
    with pytest.raises(RetentionError, match="topics"):
        Windows(topics=timedelta(days=100))


def test_topics_are_created_with_the_retention_the_check_counts_on():
    settings = kafka_settings({"KAFKA_RETENTION_HOURS": "200", "KAFKA_DLQ_RETENTION_HOURS": "2400"})
    policy = TopicPolicy.of(settings, partitions=3)
    assert policy.configs("gift.sent.v1")["retention.ms"] == str(200 * HOUR_MS)
    assert policy.configs("gift.sent.v1.dlq")["retention.ms"] == str(2400 * HOUR_MS)
    assert TopicPolicy().configs("gift.sent.v1.dlq")["retention.ms"] == str(2160 * HOUR_MS)
