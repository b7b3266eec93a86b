from enum import StrEnum


class WithdrawalStatus(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    HELD = "held"
    PENDING = "pending"
    PROCESSING = "processing"

    def __str__(self) -> str:
        return str(self.value)
