from enum import StrEnum


class GiftBatchResultOutcome(StrEnum):
    CREATED = "created"
    FROZEN = "frozen"
    GRANT_REFUSED = "grant-refused"
    INSUFFICIENT_COINS = "insufficient-coins"
    INVALID = "invalid"
    IN_FLIGHT = "in-flight"
    KEY_REUSED = "key-reused"
    REPLAYED = "replayed"

    def __str__(self) -> str:
        return str(self.value)
