"""Events as their producing service would publish them, for tests that feed consumers directly."""

from __future__ import annotations

import json
import uuid

from shared.clock import utcnow
from shared.contracts import GIFT_SENT, envelope_to_dict, new_event


def gift_event(creator_id: str, diamonds: int, gift_tx_id: str | None = None) -> tuple[bytes, bytes, str]:
    """A gift.sent event as gifting publishes it: (key, value, event id)."""
    envelope, key = new_event(
        GIFT_SENT,
        source="gifting",
        data={
            "gift_tx_id": gift_tx_id or str(uuid.uuid4()),
            "sender_id": "viewer",
            "creator_id": creator_id,
            "gift_id": "rose",
            "quantity": 1,
            "coins": diamonds,
            "diamonds": diamonds,
            "stream_id": None,
            "sent_at": utcnow(),
        },
    )
    return key.encode(), json.dumps(envelope_to_dict(envelope)).encode(), envelope.event_id
