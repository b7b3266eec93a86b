"""A consumer group's leader hands out every partition of the topics its members subscribe to, or
none yet: with a topic missing from its metadata it joins again instead of leaving that topic's
partitions to no one (after a broker restarted empty, for good: events never applied)."""

from types import SimpleNamespace

import pytest
from kafka import TopicPartition
from kafka.coordinator.assignors.abstract import ConsumerProtocolSubscription
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.errors import RetriableError

from shared.kafka.clients import ASSIGNORS

TOPICS = ["purchase.completed.v1", "purchase.reversed.v1"]


class LeaderMetadata:
    """The group leader's cluster metadata: topic -> partition ids (a topic its last refresh was
    refused, "not authorized", is absent, as in kafka-python's ClusterMetadata)."""

    def __init__(self, partitions: dict[str, set[int]]):
        self.partitions = partitions

    def partitions_for_topic(self, topic):
        return self.partitions.get(topic)


def member(member_id: str):
    return SimpleNamespace(
        member_id=member_id, group_instance_id=None, metadata=ConsumerProtocolSubscription(0, TOPICS, b"")
    )


def assigned(assignment) -> set[TopicPartition]:
    return {tp for a in assignment.values() for tp in a.partitions()}


def test_the_library_range_assignor_leaves_a_topic_missing_from_the_leaders_metadata_to_no_one():
    """The defect the consumers' assignor exists for: no error, an assignment without the topic."""
    metadata = LeaderMetadata({"purchase.reversed.v1": {0, 1, 2}})
    assignment = RangePartitionAssignor.assign(metadata, [member("a")])
    assert {tp.topic for tp in assigned(assignment)} == {"purchase.reversed.v1"}


@pytest.mark.parametrize("assignor", ASSIGNORS, ids=lambda a: a.__name__)
def test_a_leader_missing_a_topics_partitions_joins_again_rather_than_assign_without_them(assignor):
    after_not_authorized = LeaderMetadata({"purchase.reversed.v1": {0, 1, 2}})
    with pytest.raises(RetriableError, match="purchase.completed.v1"):  # kafka-python retries the join
        assignor.assign(after_not_authorized, [member("a"), member("b")])


@pytest.mark.parametrize("assignor", ASSIGNORS, ids=lambda a: a.__name__)
def test_with_every_topic_known_each_partition_goes_to_exactly_one_member(assignor):
    metadata = LeaderMetadata({t: {0, 1, 2} for t in TOPICS})
    assignment = assignor.assign(metadata, [member("a"), member("b")])
    partitions = [tp for a in assignment.values() for tp in a.partitions()]
    assert sorted(partitions) == sorted(TopicPartition(t, p) for t in TOPICS for p in range(3))
    assert assignor.name == "range"  # members still on the library's range assignor agree with it
