"""Why the purchase service refuses a request, in the business's words."""

from shared.errors import DomainError


class CountryNotServed(DomainError):
    code, kind, title, field = "country-not-served", "forbidden", "Country not served", "country"


class NoPriceList(DomainError):
    code, kind, title, field = "no-price-list", "invalid", "No prices for this country", "country"


class AgeRestricted(DomainError):
    code, kind, title, field = "age-restricted", "forbidden", "Too young to buy coins", "birth_date"


class InvalidBirthDate(DomainError):
    code, kind, title, field = "invalid-birth-date", "invalid", "Invalid birth date", "birth_date"


class UnknownPackage(DomainError):
    code, kind, title, field = "unknown-package", "invalid", "Unknown coin package", "package_id"


class InvalidCoinAmount(DomainError):
    code, kind, title, field = "invalid-coin-amount", "invalid", "Invalid number of coins", "coins"


class PurchaseLimitExceeded(DomainError):
    code, kind, title, field = "purchase-limit-exceeded", "invalid", "24-hour purchase limit exceeded", "coins"


class PaymentDeclined(DomainError):
    code, kind, title, field = "payment-declined", "payment_required", "Payment declined", "payment"


class ChargeOutcomeUnknown(DomainError):
    code, kind, title = "charge-outcome-unknown", "unavailable", "Payment outcome not known yet"


class PurchaseNotFound(DomainError):
    code, kind, title, field = "purchase-not-found", "not_found", "Purchase not found", "purchase_id"


class NonRefundable(DomainError):
    code, kind, title = "non-refundable", "invalid", "Coins are non-refundable"


class NotReversible(DomainError):
    code, kind, title, field = "not-reversible", "conflict", "Purchase charged back already", "purchase_id"


class NotHeld(DomainError):
    code, kind, title = "not-held", "conflict", "Purchase not held for review"


class ChargeNotConfirmed(DomainError):
    code, kind, title = "charge-not-confirmed", "conflict", "The processor does not confirm the charge"
