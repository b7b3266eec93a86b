"""problem+json responses (RFC 9457): rendering a refusal, and the app's error handlers that turn
every error (HTTP, domain, validation, database unavailable, unexpected) into one."""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from shared.db.engines import is_transient, safe_error
from shared.errors import PROBLEM_CONTENT_TYPE, DomainError, Problem, validation_problem
from shared.http.app import wiring
from shared.observability import metrics

log = logging.getLogger("shared.http.app")  # the edge's logger, as before the split


def problem_response(problem: Problem) -> Response:
    metrics.HTTP_REFUSALS.labels(wiring().settings.common.service, str(problem.status), problem.code or "unnamed").inc()
    response = Response(
        json.dumps(problem.to_dict(instance=request.path)), status=problem.status, content_type=PROBLEM_CONTENT_TYPE
    )
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def render_error(exc: Exception) -> Response:
    if isinstance(exc, Problem):
        return problem_response(exc)
    if isinstance(exc, DomainError):
        return problem_response(Problem.from_domain(exc))
    if isinstance(exc, ValidationError):
        return problem_response(
            validation_problem(exc.messages if isinstance(exc.messages, dict) else {"body": exc.messages})
        )
    raise exc


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(exc: Problem):
        return problem_response(exc)

    @app.errorhandler(DomainError)
    @app.errorhandler(ValidationError)
    def _domain(exc):
        return render_error(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        code = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(exc.code, "http-error")
        detail = (
            exc.description
            if exc.code != 413
            else f"The body is larger than {wiring().settings.common.max_body_bytes} bytes."
        )
        allow = dict(exc.get_headers()).get("Allow")  # a 405 names the methods it allows (RFC 9110)
        return problem_response(
            Problem(exc.code or 500, exc.name, detail, code=code, headers={"Allow": allow} if allow else None)
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if is_transient(exc):
            log.warning("database unavailable", extra={"error": safe_error(exc)[:300]})
            return problem_response(
                Problem(
                    503,
                    "Service unavailable",
                    "The database is unavailable; retry with the same Idempotency-Key.",
                    code="unavailable",
                    headers={"Retry-After": "1"},
                )
            )
        log.exception("unhandled error")
        return problem_response(Problem(500, "Internal error", "An unexpected error occurred.", code="internal"))
