"""marshmallow building blocks for money and identifiers, used by every schema."""

from __future__ import annotations

import numbers
from functools import cache

from marshmallow import Schema, ValidationError, fields, validate

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$"
# The largest amount an event or a user grant carries: a JSON integer every client reads exactly,
# far inside the databases' BIGINT (an event past it is malformed, not a failed write).
MAX_AMOUNT = 2**53
# An Idempotency-Key (shared.idempotency `is_valid_key`, with its 255-character bound): printable
# ASCII, no space at either end, the same as a header and as a batch item's field.
KEY_PATTERN = r"^[!-~](?:[ -~]*[!-~])?$"
KEY_RULE = "1-255 printable ASCII characters, not starting or ending with a space."
CURRENCY_PATTERN = r"^[A-Z]{3}$"


class Pattern(validate.Regexp):
    """A regular expression the whole value must match: `re.match` with `$` lets a trailing
    newline through ("ann\n" would be another wallet, and 64 characters and a newline a 500)."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


@cache
def schema(cls: type[Schema]) -> Schema:
    """The one shared instance of a schema class: building a marshmallow schema copies its
    fields and costs more than a load or dump, and the instances keep no per-call state."""
    return cls()


class StrictInteger(fields.Integer):
    """An integer and nothing else: refuses 1.0, "1" and true (money is never coerced)."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _validated(self, value):
        if type(value) is int:  # the common case, without the ABC checks below
            return value
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise self.make_error("invalid")
        return super()._validated(value)


def identifier(**kwargs) -> fields.String:
    """An opaque id from another system (user, creator, stream): 1-64 safe characters."""
    return fields.String(
        validate=Pattern(ID_PATTERN, error="Must be 1-64 characters: letters, digits, and _ . : @ - (not first)."),
        **kwargs,
    )


def text(max_length: int = 200, **kwargs) -> fields.String:
    """Free text without control characters (no NUL bytes reach the database)."""
    return fields.String(
        validate=[
            validate.Length(min=1, max=max_length),
            Pattern(r"^[^\x00-\x1f\x7f]*$", error="Must not contain control characters."),
        ],
        **kwargs,
    )


class MoneySchema(Schema):
    amount_minor = StrictInteger(required=True, metadata={"description": "Amount in the currency's minor unit"})
    currency = fields.String(
        required=True, validate=Pattern(CURRENCY_PATTERN), metadata={"description": "ISO 4217 code"}
    )


__all__ = ["Pattern", "StrictInteger", "identifier", "text", "MoneySchema", "ValidationError"]
