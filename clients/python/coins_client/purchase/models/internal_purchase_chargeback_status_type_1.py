from enum import StrEnum


class InternalPurchaseChargebackStatusType1(StrEnum):
    PENDING = "pending"
    REVERSED = "reversed"
    VOID = "void"

    def __str__(self) -> str:
        return str(self.value)
