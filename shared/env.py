"""Typed access to the environment, with errors that name the variable: the one reader of
`os.environ` in the code base. Every settings module reads through it (shared.settings,
shared.kafka_settings, shared.auth_settings, each service's settings.py, coinsctl.settings), once,
at start, into frozen objects; a missing or malformed setting is a `ConfigError`."""

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
