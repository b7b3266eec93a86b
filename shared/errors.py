"""Typed errors and their RFC 9457 problem+json rendering.

Domain code raises `DomainError` subclasses that carry a business `code` and a `kind`
(not an HTTP status); the web layer maps the kind to a status. `Problem` is the
HTTP-level error for things that only exist at the edge (auth, idempotency, bad JSON).
"""

from __future__ import annotations

from collections.abc import Mapping

PROBLEM_BASE = "https://coins.example/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

# What kind of refusal a domain error is, and the HTTP status that says it.
KIND_STATUS = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "payment_required": 402,
    "unavailable": 503,  # an outside party's answer is unknown for now: retry with the same key
}


def keepable(text: str, limit: int) -> bool:
    """Whether text from outside (a processor's reference) can be kept as it is: at most `limit`
    characters, all printable (PostgreSQL refuses a NUL; a terminal acts on controls)."""
    return len(text) <= limit and text.isprintable()


def kept_reason(text: str, limit: int) -> str:
    """A reason from outside (a processor's decline code or failure reason) as its column keeps
    it: printable characters only (PostgreSQL refuses a NUL; a terminal acts on controls), cut
    to `limit`."""
    return "".join(c for c in text if c.isprintable())[:limit]


class DomainError(Exception):
    """A business rule refused the request. Subclasses set `code`, `kind` and a message."""

    code = "domain-error"
    kind = "invalid"
    title = "Request refused"
    field: str | None = None

    def __init__(self, detail: str | None = None, *, field: str | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if field is not None:
            self.field = field


class PermanentMessageError(Exception):
    """A consumed message can never be applied (malformed, or breaks a rule): dead-letter it."""


class Problem(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail or title
        self.code = code or title.lower().replace(" ", "-")
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers) if headers else {}

    def to_dict(self, instance: str | None = None) -> dict:
        body = {"type": PROBLEM_BASE + self.code, "title": self.title, "status": self.status, "detail": self.detail}
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        return body

    @classmethod
    def from_domain(cls, exc: DomainError) -> Problem:
        errors = {exc.field: [exc.detail]} if exc.field else None
        return cls(KIND_STATUS.get(exc.kind, 422), exc.title, exc.detail, code=exc.code, errors=errors)


def validation_problem(errors: Mapping, *, status: int = 422, detail: str | None = None) -> Problem:
    return Problem(
        status,
        "Validation failed",
        detail or "The request has invalid fields: " + ", ".join(sorted(flatten_errors(errors))),
        code="validation-error",
        errors=flatten_errors(errors),
    )


def flatten_errors(errors: Mapping, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error map as dotted field names: {"payment.token": [...]}."""
    flat: dict[str, list[str]] = {}
    for key, value in errors.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_errors(value, name + "."))
        elif isinstance(value, str):
            flat[name] = [value]
        else:
            flat[name] = [str(m) for m in value]
    return flat
