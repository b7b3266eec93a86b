from enum import StrEnum


class WithdrawalRequestCurrency(StrEnum):
    USD = "USD"

    def __str__(self) -> str:
        return str(self.value)
