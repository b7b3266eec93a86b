from enum import StrEnum


class InternalPurchaseChargebackStatusType3Type1(StrEnum):
    PENDING = "pending"
    REVERSED = "reversed"
    VOID = "void"

    def __str__(self) -> str:
        return str(self.value)
