from enum import StrEnum


class PaymentMethod(StrEnum):
    APPLE_PAY = "apple_pay"
    CARD = "card"
    GOOGLE_PAY = "google_pay"
    PAYPAL = "paypal"

    def __str__(self) -> str:
        return str(self.value)
