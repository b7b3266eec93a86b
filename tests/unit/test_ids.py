"""The ids the services make are UUIDs of version 7: unique, and ordered by when they were made."""

import time
import uuid

from shared.ids import new_id


def test_ids_are_version_7_uuids_in_their_canonical_text_form():
    made = new_id()
    assert str(uuid.UUID(made)) == made
    assert uuid.UUID(made).version == 7


def test_ids_made_later_sort_after_earlier_ones():
    first = [new_id() for _ in range(1000)]
    time.sleep(0.002)
    later = new_id()
    assert len(set(first)) == 1000
    assert first == sorted(first)  # within a millisecond too: the next id takes the next millisecond
    assert later > max(first)
    stamp_ms = int(uuid.UUID(later).hex[:12], 16)
    assert abs(stamp_ms - time.time() * 1000) < 60_000  # the leading 48 bits are the creation time
