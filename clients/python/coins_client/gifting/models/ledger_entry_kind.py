from enum import StrEnum


class LedgerEntryKind(StrEnum):
    CHARGEBACK = "chargeback"
    GIFT = "gift"
    PURCHASE = "purchase"

    def __str__(self) -> str:
        return str(self.value)
