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


def test_ids_made_faster_than_one_a_millisecond_keep_to_the_clock():
    """A batch makes thousands of ids a second: their timestamps stay the clock's (uuid6's uuid7
    moved every id of a millisecond to the next one, running ahead by seconds per second)."""
    made = [new_id() for _ in range(20_000)]
    now_ms = time.time() * 1000
    assert made == sorted(made) and len(set(made)) == len(made)
    stamps = [int(uuid.UUID(m).hex[:12], 16) for m in made]
    assert now_ms - 60_000 < stamps[0] <= stamps[-1] <= now_ms + 5  # within the clock's millisecond
    assert all(uuid.UUID(m).version == 7 and uuid.UUID(m).variant == uuid.RFC_4122 for m in made[:100])
