"""Contains all the data models used in inputs/outputs"""

from .catalog import Catalog
from .gift_batch_item import GiftBatchItem
from .gift_batch_item_gift_id import GiftBatchItemGiftId
from .gift_batch_request import GiftBatchRequest
from .gift_batch_response import GiftBatchResponse
from .gift_batch_result import GiftBatchResult
from .gift_batch_result_outcome import GiftBatchResultOutcome
from .gift_catalog_item import GiftCatalogItem
from .gift_rules import GiftRules
from .gift_transaction import GiftTransaction
from .gifting_totals import GiftingTotals
from .gifting_totals_events_applied import GiftingTotalsEventsApplied
from .gifting_totals_events_published import GiftingTotalsEventsPublished
from .gifting_totals_events_written import GiftingTotalsEventsWritten
from .internal_coin_entries_kind import InternalCoinEntriesKind
from .internal_coin_entry import InternalCoinEntry
from .internal_coin_entry_page import InternalCoinEntryPage
from .internal_gift import InternalGift
from .internal_gift_page import InternalGiftPage
from .item_problem import ItemProblem
from .item_problem_errors import ItemProblemErrors
from .leaderboard import Leaderboard
from .leaderboard_entry import LeaderboardEntry
from .ledger_entry import LedgerEntry
from .ledger_entry_kind import LedgerEntryKind
from .ledger_page import LedgerPage
from .problem import Problem
from .problem_errors import ProblemErrors
from .send_gift_request import SendGiftRequest
from .send_gift_request_gift_id import SendGiftRequestGiftId
from .wallet import Wallet
from .wallet_status import WalletStatus

__all__ = (
    "Catalog",
    "GiftBatchItem",
    "GiftBatchItemGiftId",
    "GiftBatchRequest",
    "GiftBatchResponse",
    "GiftBatchResult",
    "GiftBatchResultOutcome",
    "GiftCatalogItem",
    "GiftingTotals",
    "GiftingTotalsEventsApplied",
    "GiftingTotalsEventsPublished",
    "GiftingTotalsEventsWritten",
    "GiftRules",
    "GiftTransaction",
    "InternalCoinEntriesKind",
    "InternalCoinEntry",
    "InternalCoinEntryPage",
    "InternalGift",
    "InternalGiftPage",
    "ItemProblem",
    "ItemProblemErrors",
    "Leaderboard",
    "LeaderboardEntry",
    "LedgerEntry",
    "LedgerEntryKind",
    "LedgerPage",
    "Problem",
    "ProblemErrors",
    "SendGiftRequest",
    "SendGiftRequestGiftId",
    "Wallet",
    "WalletStatus",
)
