"""gunicorn's own log lines in the services' JSON (shared.observability.logs): its error log (starting, listening,
booting and exiting workers, timeouts) on stderr, and its access log when GUNICORN_ACCESSLOG names
one ("-" for stdout, else a file). shared.http.gunicorn_conf sets `logconfig_dict` and `logger_class`
from here; each worker's app then configures the root logger the same way (shared.observability.logs)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from gunicorn import glogging

from shared.observability import logs, tracing

_APP = re.compile(r"\b(?:services|sandboxes)\.(\w+)\b")
_JSON = {"formatter": "json", "filters": ["context"]}


def service_of(argv: Sequence[str]) -> str:
    """The service a gunicorn command line serves (services.<name>...:app), for the `service`
    field of the lines the master writes before any app is loaded; "coins" if none is named."""
    found = next((m for arg in argv if (m := _APP.search(arg))), None)
    return found.group(1) if found else "coins"


def logconfig_dict(*, level: str, accesslog: str | None) -> dict:
    """gunicorn's `logconfig_dict`: the JSON formatter and the trace filter of shared.observability.logs for
    gunicorn.error, gunicorn.access (only if `accesslog`) and the master's root logger."""
    handlers = {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", **_JSON}}
    if accesslog == "-":
        handlers["access"] = {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", **_JSON}
    elif accesslog:
        handlers["access"] = {"class": "logging.FileHandler", "filename": accesslog, **_JSON}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "shared.observability.logs.json_formatter"}},
        "filters": {"context": {"()": "shared.observability.logs.ContextFilter"}},
        "handlers": handlers,
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["access"] if accesslog else [], "propagate": False},
        },
    }


class Logger(glogging.Logger):
    """gunicorn's logger, with the access log on only when GUNICORN_ACCESSLOG asks for it: gunicorn
    turns it on whenever `logconfig_dict` is set, and would build every request's log atoms."""

    @property
    def access_log_enabled(self) -> bool:
        return bool(self.cfg.accesslog)

    def access(self, resp, req, environ, request_time) -> None:
        """The request's line, in the request's span (its response's traceparent: the span ended
        before gunicorn logs)."""
        if not self.cfg.accesslog:
            return
        sent = next((value for name, value in resp.headers if name.lower() == "traceparent"), None)
        span = tracing.parse(sent)
        if span is None:
            super().access(resp, req, environ, request_time)
            return
        with tracing.running(span):
            super().access(resp, req, environ, request_time)


def configure(argv: Sequence[str], *, level: str, accesslog: str | None) -> dict:
    """Name the master's service (<service>.web) and return gunicorn's `logconfig_dict`."""
    logs.set_service(service_of(argv), "web")
    return logconfig_dict(level=level, accesslog=accesslog)
