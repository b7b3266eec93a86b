from enum import StrEnum


class PurchaseStatus(StrEnum):
    COMPLETED = "completed"
    DECLINED = "declined"
    HELD = "held"
    PENDING = "pending"
    REVERSED = "reversed"

    def __str__(self) -> str:
        return str(self.value)
