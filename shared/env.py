"""Typed access to the environment, with errors that name the variable (`ConfigError`).

The services and shared/ read the environment only through it: the settings modules
(shared.settings, shared.kafka.settings, shared.auth.policy, each service's settings.py) once,
at start, into frozen objects, and two switches where they act (shared.faults' COINS_FAULTS,
shared.observability.metrics' PROMETHEUS_MULTIPROC_DIR), and the OpenTelemetry variables
(OTEL_*) that shared.observability.tracing reads when a process configures its spans. The one
exception is shared.http.gunicorn_conf, gunicorn's own configuration file, read by gunicorn
before any of this code. coinsctl reads through
coinsctl.settings, the sandboxes through this class.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the process refuses to start."""


class Env:
    """Typed access to an environment mapping, with errors that name the variable."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        self._env = os.environ if environ is None else environ

    def str(self, name: str, default: str | None = None) -> str:
        value = self._env.get(name)
        if value is None or value == "":
            if default is None:
                raise ConfigError(f"{name} must be set")
            return default
        return value

    def optional(self, name: str) -> str | None:
        value = self._env.get(name)
        return value if value else None

    def int(self, name: str, default: int) -> int:
        raw = self._env.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc

    def list(self, name: str, default: str = "") -> tuple[str, ...]:
        """Comma-separated items; unset or empty means the default (an empty list is never implied)."""
        raw = self._env.get(name) or default
        return tuple(item.strip() for item in raw.split(",") if item.strip())

    def json(self, name: str, default):
        raw = self._env.get(name)
        if not raw:
            return default
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ConfigError(f"{name} must be JSON: {exc}") from exc
