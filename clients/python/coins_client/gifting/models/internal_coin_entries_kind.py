from enum import StrEnum


class InternalCoinEntriesKind(StrEnum):
    CHARGEBACK = "chargeback"
    PURCHASE = "purchase"

    def __str__(self) -> str:
        return str(self.value)
