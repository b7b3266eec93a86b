from enum import StrEnum


class GiftBatchItemGiftId(StrEnum):
    CONCERT = "concert"
    CONFETTI = "confetti"
    CORGI = "corgi"
    DOUGHNUT = "doughnut"
    FINGER_HEART = "finger_heart"
    GALAXY = "galaxy"
    HAT_AND_MUSTACHE = "hat_and_mustache"
    LION = "lion"
    PANDA = "panda"
    PERFUME = "perfume"
    ROSE = "rose"
    SUNGLASSES = "sunglasses"
    TIKTOK = "tiktok"
    UNIVERSE = "universe"

    def __str__(self) -> str:
        return str(self.value)
