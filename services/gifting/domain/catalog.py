"""The gift catalog: what each gift costs in coins."""

from __future__ import annotations

from dataclasses import dataclass

from services.gifting.domain.errors import UnknownGift


@dataclass(frozen=True)
class Gift:
    gift_id: str
    name: str
    coins: int


CATALOG: dict[str, Gift] = {
    g.gift_id: g
    for g in (
        Gift("rose", "Rose", 1),
        Gift("tiktok", "TikTok", 1),
        Gift("finger_heart", "Finger Heart", 5),
        Gift("panda", "Panda", 5),
        Gift("perfume", "Perfume", 20),
        Gift("doughnut", "Doughnut", 30),
        Gift("hat_and_mustache", "Hat and Mustache", 99),
        Gift("confetti", "Confetti", 100),
        Gift("sunglasses", "Sunglasses", 199),
        Gift("corgi", "Corgi", 299),
        Gift("concert", "Concert", 500),
        Gift("galaxy", "Galaxy", 1_000),
        Gift("lion", "Lion", 29_999),
        Gift("universe", "Universe", 44_999),
    )
}

MAX_COMBO = 99


def find_gift(gift_id: str) -> Gift:
    try:
        return CATALOG[gift_id]
    except KeyError:
        raise UnknownGift(f"There is no gift {gift_id!r} in the catalog.") from None
