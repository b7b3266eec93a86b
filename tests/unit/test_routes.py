"""A route's one declaration (shared.http.app): what `route` records and registers, and that
route metadata cannot be stacked back onto a view as decorators."""

from __future__ import annotations

import pytest
from flask import Blueprint, Flask

from shared.http.app import Doc, route, spec_of
from shared.idempotency.http import idempotent


def test_a_declared_route_is_registered_and_its_spec_recorded_under_its_endpoint():
    bp = Blueprint("routes_test", __name__, url_prefix="/v1")

    @route(bp, "POST /things", permission="things:make", keyed=idempotent(required=False), doc=Doc(summary="Make"))
    def make_thing(call):
        return "made"

    @route(bp, "GET /things/<thing_id>", permission="things:read", doc=Doc(summary="One"))
    def thing(thing_id):
        return thing_id

    app = Flask(__name__)
    app.register_blueprint(bp)
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    assert rules["routes_test.make_thing"].rule == "/v1/things"
    assert rules["routes_test.make_thing"].methods - {"OPTIONS"} == {"POST"}
    made = spec_of("routes_test.make_thing")
    assert (made.method, made.path, made.permission, made.idempotency_key) == (
        "POST",
        "/things",
        "things:make",
        "optional",
    )
    assert made.doc.summary == "Make"
    read = spec_of("routes_test.thing")
    assert (read.permission, read.idempotency_key) == ("things:read", None)
    assert app.view_functions["routes_test.make_thing"].__wrapped__.__name__ == "make_thing"  # run by the keyed wrapper
    assert spec_of("routes_test.undeclared") is None and spec_of(None) is None


def test_a_spec_cannot_be_changed_after_it_is_declared():
    bp = Blueprint("routes_frozen", __name__)

    @route(bp, "GET /x", permission="x:read", doc=Doc(summary="X"))
    def x():
        return "x"

    with pytest.raises(AttributeError):
        spec_of("routes_frozen.x").permission = "anything"


def test_idempotency_cannot_be_stacked_as_a_decorator():
    with pytest.raises(TypeError):

        @idempotent(required=True)
        def view(call):
            return "never"
