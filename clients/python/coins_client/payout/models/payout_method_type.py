from enum import StrEnum


class PayoutMethodType(StrEnum):
    BANK = "bank"
    PAYPAL = "paypal"

    def __str__(self) -> str:
        return str(self.value)
