"""Why gifting refuses a request, in the business's words."""

from shared.errors import DomainError


class UnknownGift(DomainError):
    code, kind, title, field = "unknown-gift", "invalid", "Unknown gift", "gift_id"


class InvalidQuantity(DomainError):
    code, kind, title, field = "invalid-quantity", "invalid", "Invalid combo quantity", "quantity"


class SelfGift(DomainError):
    code, kind, title, field = "self-gift", "invalid", "Cannot send a gift to oneself", "creator_id"


class WalletFrozen(DomainError):
    code, kind, title = "wallet-frozen", "forbidden", "Wallet frozen"


class InsufficientCoins(DomainError):
    code, kind, title = "insufficient-coins", "conflict", "Not enough coins"


class GiftNotFound(DomainError):
    code, kind, title = "gift-not-found", "not_found", "Gift not found"
