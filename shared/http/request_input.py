"""Reading a request's input: the raw body (size-limited, chunked or not), a JSON object body and
query arguments through a marshmallow schema, and the keyset page of a listing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from flask import g, request
from marshmallow import Schema, ValidationError, missing
from werkzeug.exceptions import RequestEntityTooLarge

from shared.errors import Problem, validation_problem
from shared.http.app import wiring


def request_body() -> bytes:
    """The raw body, refused with 413 past MAX_BODY_BYTES, chunked or not."""
    if "raw_body" not in g:
        if request.content_length is not None:
            g.raw_body = request.get_data(cache=True)  # Werkzeug refuses a Content-Length over the limit
        else:
            # Chunked: gunicorn has de-chunked wsgi.input; Werkzeug would read it as empty or truncate it.
            limit = wiring().settings.common.max_body_bytes
            g.raw_body = request.environ["wsgi.input"].read(limit + 1)
            if len(g.raw_body) > limit:
                raise RequestEntityTooLarge()
    return g.raw_body


def json_body(schema: Schema) -> dict:
    raw = request_body()
    if not raw.strip():
        raise Problem(
            400,
            "Body required",
            "Send a JSON object body.",
            code="malformed-body",
            errors={"body": ["A JSON object is required."]},
        )
    _refuse_deep_nesting(raw)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise Problem(
            400,
            "Malformed JSON",
            f"The body is not valid JSON: {exc}",
            code="malformed-body",
            errors={"body": ["Not valid JSON."]},
        ) from exc
    if not isinstance(data, dict):
        raise Problem(
            400,
            "Malformed body",
            "The body must be a JSON object.",
            code="malformed-body",
            errors={"body": ["Must be a JSON object."]},
        )
    # Only a \u escape or a byte past ASCII (json.loads lets surrogates through either way) can
    # make one; the walk costs as much as the parse on a big body.
    could_hold_surrogates = not raw.isascii() or b"\\u" in raw or b"\x00" in raw  # NULs: UTF-16/32
    unencodable = _lone_surrogates(data) if could_hold_surrogates else []
    if unencodable:  # JSON lets "\ud800" through; no database can store it
        raise validation_problem({name: ["Contains a lone UTF-16 surrogate."] for name in unencodable})
    return schema.load(data)


MAX_JSON_DEPTH = 32  # no body of this API nests more than 3 deep
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def _refuse_deep_nesting(raw: bytes) -> None:
    """400 for a body nested deeper than MAX_JSON_DEPTH, found on the bytes before any object is
    built (parsing and walking a deep body costs a frame per level, and the stack is finite)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return  # the common case: too few brackets to nest that deep
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub(b'""', raw)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        if depth > MAX_JSON_DEPTH:
            raise Problem(
                400,
                "Body nested too deeply",
                f"JSON bodies may nest at most {MAX_JSON_DEPTH} levels.",
                code="malformed-body",
                errors={"body": [f"Nested more than {MAX_JSON_DEPTH} levels."]},
            )


def _lone_surrogates(value, name: str = "") -> list[str]:
    """Dotted names of the fields (or keys) holding text that is not valid Unicode."""
    if isinstance(value, str):
        return [] if _encodable(value) else [name or "body"]
    if isinstance(value, dict):
        found = [name or "body"] if not all(_encodable(str(k)) for k in value) else []
        for key, item in value.items():
            found += _lone_surrogates(item, f"{name}.{key}" if name else str(key))
        return found
    if isinstance(value, list):
        return [f for i, item in enumerate(value) for f in _lone_surrogates(item, f"{name}.{i}" if name else str(i))]
    return []


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def query_args(schema: Schema) -> dict:
    """The query through `schema`; a parameter given twice is refused (which one would count?)."""
    repeated = sorted(name for name, values in request.args.lists() if len(values) > 1)
    if repeated:
        raise validation_problem({name: ["Given more than once."] for name in repeated})
    return schema.load(request.args.to_dict())


def keyset_page(rows: list, limit: int, cursor_of: Callable) -> tuple[list, str | None]:
    """Rows fetched with limit + 1: the page, and the cursor of the next page (None at the end)."""
    page = rows[:limit]
    return page, (cursor_of(page[-1]) if len(rows) > limit else None)


class ManyItems:
    """Loads the items of one batch with one schema, each distinct value of each field checked
    once: a batch's items repeat their values (the same gift, the same creator), and a marshmallow
    load per item costs more than all else done for it. The fields' own `deserialize` (type and
    validators) judges each new value; an item this cannot vouch for (not an object, a field unknown
    or missing, a value refused or unhashable) is loaded by the schema itself, so its errors are the
    schema's, word for word. For schemas without hooks (pre/post-load, schema validators) whose
    fields read only their own value (not Method, Function or Nested)."""

    def __init__(self, schema: Schema):
        if any(schema._hooks.values()):
            raise TypeError(f"{type(schema).__name__} has hooks: load its items one by one")
        self._schema = schema
        self._fields = {field.data_key or name: (name, field) for name, field in schema.load_fields.items()}
        self._required = frozenset(key for key, (_, field) in self._fields.items() if field.required)
        self._seen: dict[tuple, object] = {}  # (data key, type, value) -> the field's deserialized value

    def load(self, raw) -> dict:
        """The item as `schema.load(raw)` reads it; raises its ValidationError."""
        loaded = self._loaded(raw) if isinstance(raw, dict) and self._required <= raw.keys() else None
        return self._schema.load(raw) if loaded is None else loaded

    def _loaded(self, raw: dict) -> dict | None:
        loaded = {}
        for key, value in raw.items():
            if key not in self._fields:
                return None
            name, field = self._fields[key]
            seen = (key, type(value), value)
            try:
                loaded[name] = self._seen[seen]
            except KeyError:
                try:
                    loaded[name] = self._seen[seen] = field.deserialize(value, key, raw)
                except ValidationError:
                    return None
            except TypeError:  # unhashable: a list or an object where a value belongs
                return None
        for name, field in self._fields.values():
            if name not in loaded and field.load_default is not missing:
                default = field.load_default
                loaded[name] = default() if callable(default) else default
        return loaded
