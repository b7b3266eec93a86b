from enum import StrEnum


class InternalPurchaseChargebackStatusType2Type1(StrEnum):
    PENDING = "pending"
    REVERSED = "reversed"
    VOID = "void"

    def __str__(self) -> str:
        return str(self.value)
