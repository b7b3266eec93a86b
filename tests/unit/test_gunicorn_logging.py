"""gunicorn's logging configuration: the JSON formatter for its error log always, for its access
log only when one is asked for (the running process: tests/e2e/test_gunicorn_logs.py)."""

from __future__ import annotations

import json
import logging.config
from types import SimpleNamespace

from shared.http import gunicorn_logging


def test_the_service_is_named_by_the_app_on_the_command_line():
    argv = ["gunicorn", "-c", "python:shared.http.gunicorn_conf", "services.payout.entrypoints.wsgi:create_app()"]
    assert gunicorn_logging.service_of(argv) == "payout"
    assert gunicorn_logging.service_of(["gunicorn", "sandboxes.card:app"]) == "card"
    assert gunicorn_logging.service_of(["gunicorn", "bench.bare_app:app"]) == "coins"


def test_the_access_log_has_a_handler_only_when_asked_for(tmp_path):
    off = gunicorn_logging.logconfig_dict(level="info", accesslog=None)
    assert off["loggers"]["gunicorn.access"]["handlers"] == [] and "access" not in off["handlers"]
    assert off["loggers"]["gunicorn.error"] == {"level": "INFO", "handlers": ["stderr"], "propagate": False}
    assert (
        gunicorn_logging.logconfig_dict(level="info", accesslog="-")["handlers"]["access"]["stream"]
        == "ext://sys.stdout"
    )
    path = tmp_path / "access.log"
    config = gunicorn_logging.logconfig_dict(level="debug", accesslog=str(path))
    assert config["root"]["level"] == "DEBUG"
    only_access = {"gunicorn.access": config["loggers"]["gunicorn.access"]}
    logging.config.dictConfig({**{k: v for k, v in config.items() if k != "root"}, "loggers": only_access})
    access = logging.getLogger("gunicorn.access")
    try:
        access.info("%(r)s", {"r": "GET / HTTP/1.1"})
        line = json.loads(path.read_text())
    finally:
        for handler in access.handlers[:]:
            access.removeHandler(handler)
            handler.close()
        access.propagate, access.level = True, logging.NOTSET
    assert line["message"] == "GET / HTTP/1.1" and line["logger"] == "gunicorn.access" and "trace_id" in line


def test_gunicorns_logger_builds_no_access_line_unless_asked_for():
    logger = gunicorn_logging.Logger.__new__(gunicorn_logging.Logger)
    logger.cfg = SimpleNamespace(accesslog=None, logconfig_dict={"version": 1})
    assert logger.access_log_enabled is False
    logger.access(None, None, None, None)  # returns before touching the response
    logger.cfg = SimpleNamespace(accesslog="-")
    assert logger.access_log_enabled is True
