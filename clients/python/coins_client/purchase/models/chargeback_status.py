from enum import StrEnum


class ChargebackStatus(StrEnum):
    PENDING = "pending"
    REVERSED = "reversed"
    VOID = "void"

    def __str__(self) -> str:
        return str(self.value)
