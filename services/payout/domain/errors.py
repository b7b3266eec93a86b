"""Why the payout service refuses a request, in the business's words."""

from shared.errors import DomainError


class CreatorNotRegistered(DomainError):
    code, kind, title, field = "creator-not-registered", "not_found", "Creator not registered", "creator_id"


class CreatorAlreadyRegistered(DomainError):
    code, kind, title, field = "creator-already-registered", "conflict", "Creator already registered", "creator_id"


class CreatorTooYoung(DomainError):
    code, kind, title, field = "age-restricted", "forbidden", "Creators must be 18 or older", "birth_date"


class CountryNotServed(DomainError):
    code, kind, title, field = "country-not-served", "forbidden", "Creators in this country cannot be paid", "country"


class InvalidBirthDate(DomainError):
    code, kind, title, field = "invalid-birth-date", "invalid", "Invalid birth date", "birth_date"


class BelowMinimumWithdrawal(DomainError):
    code, kind, title, field = "below-minimum", "invalid", "Below the minimum withdrawal", "amount_minor"


class DailyCapExceeded(DomainError):
    code, kind, title, field = "daily-cap-exceeded", "invalid", "Over the daily withdrawal cap", "amount_minor"


class InvalidWithdrawalAmount(DomainError):
    code, kind, title, field = "invalid-amount", "invalid", "Invalid withdrawal amount", "amount_minor"


class InsufficientEarnings(DomainError):
    code, kind, title, field = "insufficient-earnings", "conflict", "More than the available earnings", "amount_minor"


class WithdrawalNotFound(DomainError):
    code, kind, title = "withdrawal-not-found", "not_found", "Withdrawal not found"


class NoMethodHold(DomainError):
    code, kind, title = "no-method-hold", "conflict", "No payout method change hold to lift"


class WithdrawalNotHeld(DomainError):
    code, kind, title = "withdrawal-not-held", "conflict", "Withdrawal not held for review"


class HeldForGood(DomainError):
    """A held withdrawal no release can pay: the rule that held it holds for good (its destination
    moved since it was asked for). Failing it returns its diamonds; the creator asks again."""

    code, kind, title = "held-for-good", "conflict", "Releasing it would only hold it again"


class PayoutMayHaveBeenPaid(DomainError):
    """An operator's fail of a withdrawal sent before: the processor holds a payout of it (or cannot
    be asked), so returning its diamonds could pay the creator twice."""

    code, kind, title = "payout-may-have-been-paid", "conflict", "The processor may have paid it"
