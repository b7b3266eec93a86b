"""The three services keep one shape: the same files and names for the same roles, handlers
that take their unit of work by keyword, the environment read only in settings, Flask only in
the web layer."""

from __future__ import annotations

import ast
import inspect
import re
from importlib import import_module
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"purchase": "Purchase", "gifting": "Gifting", "payout": "Payout"}
COMMON = {
    "settings.py",
    "bootstrap.py",
    "api/views.py",
    "api/schemas.py",
    "domain/model.py",
    "domain/commands.py",
    "domain/errors.py",
    "domain/rules.py",
    "service_layer/handlers.py",
    "service_layer/unit_of_work.py",
    "adapters/orm.py",
    "adapters/repository.py",
    "adapters/queries.py",
    "entrypoints/wsgi.py",
    "entrypoints/relay.py",
}


def modules(service: str) -> set[str]:
    package = ROOT / "services" / service
    return {
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if p.name != "__init__.py" and "migrations" not in p.parts
    }


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_common_files_and_names_its_extras_in_its_docstring(service):
    found = modules(service)
    assert COMMON <= found, f"missing: {COMMON - found}"
    docstring = import_module(f"services.{service}").__doc__
    assert [extra for extra in sorted(found - COMMON) if f"`{extra}`" not in docstring] == []


@pytest.mark.parametrize(("service", "name"), SERVICES.items())
def test_the_same_roles_have_the_same_names(service, name):
    bootstrap = import_module(f"services.{service}.bootstrap")
    uow = import_module(f"services.{service}.service_layer.unit_of_work")
    rules = getattr(import_module(f"services.{service}.domain.rules"), f"{name}Rules")
    assert inspect.signature(bootstrap.bootstrap).return_annotation in (
        f"{name}Service",
        getattr(bootstrap, f"{name}Service"),
    )
    assert issubclass(uow.SqlAlchemyUnitOfWork, uow.AbstractUnitOfWork)
    settings = import_module(f"services.{service}.settings").load_settings({"COINS_ENV": "test"})
    assert isinstance(settings.rules, rules)


@pytest.mark.parametrize("service", SERVICES)
def test_handlers_take_what_is_asked_then_their_unit_of_work_by_keyword(service):
    handlers = import_module(f"services.{service}.service_layer.handlers")
    public = [
        f
        for name, f in inspect.getmembers(handlers, inspect.isfunction)
        if f.__module__ == handlers.__name__ and not name.startswith("_")
    ]
    for handler in public:
        params = inspect.signature(handler).parameters
        assert "uow_factory" not in params, handler.__name__
        assert [p.name for p in params.values() if p.kind is not p.KEYWORD_ONLY and p.name == "uow"] == [], (
            handler.__name__
        )
        assert sum(p.kind is not p.KEYWORD_ONLY for p in params.values()) <= 1, handler.__name__


@pytest.mark.parametrize(("service", "name"), SERVICES.items())
def test_views_are_module_level_functions_on_one_blueprint_with_the_service_from_the_app(service, name):
    from flask import Blueprint

    views = import_module(f"services.{service}.api.views")
    assert isinstance(views.bp, Blueprint) and views.bp.name == service
    assert inspect.signature(views.service).return_annotation in (f"{name}Service", getattr(views, f"{name}Service"))
    tree = ast.parse(Path(views.__file__).read_text())
    nested = [
        inner.name
        for outer in tree.body
        if isinstance(outer, ast.FunctionDef)
        for inner in ast.walk(outer)
        if inner is not outer and isinstance(inner, ast.FunctionDef)
    ]
    assert nested == []


def sources(*folders: str):
    for folder in folders:
        yield from ((p, p.read_text()) for p in (ROOT / folder).rglob("*.py"))


def test_the_environment_is_read_only_in_settings_modules():
    readers = [
        str(p.relative_to(ROOT))
        for p, text in sources("services", "coinsctl")
        if p.name != "settings.py" and re.search(r"os\.environ|os\.getenv|getenv\(", text)
    ]
    assert readers == []


def test_flask_and_its_request_state_stay_in_the_web_layer():
    flask = re.compile(r"^\s*(from|import) flask", re.M)
    below_views = [
        str(p.relative_to(ROOT))
        for p, text in sources("services")
        if "api" not in p.parts and p.name != "wsgi.py" and flask.search(text)
    ]
    assert below_views == []


def test_no_handler_commits_nor_opens_a_transaction_but_the_processes_steps():
    """One owner per transaction: `commit` is no name a handler can call, and only the steps of a
    process around an outside call (buying coins, reconciling, paying out, an operator's verdict that
    asks the processor first) open one of their own."""
    processes = {"purchase/service_layer/handlers.py", "purchase/service_layer/reconcile.py"}
    processes |= {"purchase/service_layer/settlement.py"}
    processes |= {"payout/service_layer/payouts.py"}
    committing, opening = [], []
    for path, text in sources("services"):
        name = str(path.relative_to(ROOT / "services"))
        if "service_layer" not in path.parts:
            continue
        committing += [name] if re.search(r"\.commit\(|\._commit\(", text) else []
        opening += [name] if "with uow" in text or ("transaction(uow)" in text and name not in processes) else []
    assert (committing, opening) == ([], [])
