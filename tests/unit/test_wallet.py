"""A wallet's money stories, with no database: spending, buying, chargebacks and freezing."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.gifting.domain.errors import InsufficientCoins, InvalidQuantity, SelfGift, UnknownGift, WalletFrozen
from services.gifting.domain.model import CATALOG, Wallet, find_gift, price_gift


def test_a_viewer_with_700_coins_cannot_afford_a_lion():
    wallet = Wallet("viewer", balance_coins=700)
    with pytest.raises(InsufficientCoins):
        wallet.spend(price_gift(gift=find_gift("lion"), quantity=1, sender_id="viewer", creator_id="c"))
    assert wallet.balance == 700


def test_a_combo_costs_coins_times_quantity():
    assert price_gift(gift=find_gift("corgi"), quantity=7, sender_id="v", creator_id="c") == 299 * 7


@pytest.mark.parametrize("quantity", [0, 100, -1])
def test_a_combo_is_1_to_99(quantity):
    with pytest.raises(InvalidQuantity):
        price_gift(gift=find_gift("rose"), quantity=quantity, sender_id="v", creator_id="c")


def test_no_gifts_to_oneself():
    with pytest.raises(SelfGift):
        price_gift(gift=find_gift("rose"), quantity=1, sender_id="same", creator_id="same")


def test_unknown_gift_names_the_field():
    with pytest.raises(UnknownGift) as err:
        find_gift("unicorn")
    assert err.value.field == "gift_id"


def test_the_catalog_prices_match_the_spec():
    expected = {
        "rose": 1,
        "tiktok": 1,
        "finger_heart": 5,
        "panda": 5,
        "perfume": 20,
        "doughnut": 30,
        "hat_and_mustache": 99,
        "sunglasses": 199,
        "corgi": 299,
        "confetti": 100,
        "galaxy": 1000,
        "concert": 500,
        "lion": 29_999,
        "universe": 44_999,
    }
    assert {g.gift_id: g.coins for g in CATALOG.values()} == expected


def test_a_chargeback_after_spending_freezes_the_wallet_until_repaid():
    wallet = Wallet("viewer")
    wallet.credit(700)
    wallet.spend(500)
    wallet.claw_back(700)  # the 700-coin purchase is charged back
    assert (wallet.balance, wallet.status) == (-500, "frozen")
    with pytest.raises(WalletFrozen):
        wallet.spend(1)
    wallet.credit(350)
    assert (wallet.balance, wallet.status) == (-150, "frozen")
    wallet.credit(350)
    assert (wallet.balance, wallet.status) == (200, "active")
    wallet.spend(200)
    assert wallet.balance == 0


@given(st.lists(st.tuples(st.sampled_from(["credit", "spend", "claw_back"]), st.integers(1, 10_000)), max_size=60))
def test_spending_never_takes_a_wallet_below_zero(operations):
    wallet, expected = Wallet("v"), 0
    for op, coins in operations:
        try:
            getattr(wallet, op)(coins)
        except (InsufficientCoins, WalletFrozen):
            assert op == "spend"
            continue
        expected += coins if op == "credit" else -coins
        assert wallet.balance_coins >= 0 and wallet.debt_coins >= 0
        assert wallet.balance_coins == 0 or wallet.debt_coins == 0
        if op == "spend":
            assert wallet.balance >= 0
    assert wallet.balance == expected
    assert wallet.frozen == (wallet.balance < 0)
