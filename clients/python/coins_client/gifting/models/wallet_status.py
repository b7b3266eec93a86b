from enum import StrEnum


class WalletStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"

    def __str__(self) -> str:
        return str(self.value)
