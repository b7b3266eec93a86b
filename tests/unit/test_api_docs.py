"""The committed OpenAPI documents (docs/openapi) are what the apps serve, valid, and say what every
route shares (token, refusals, headers, tags, examples); /docs serves Swagger UI without a token,
from this origin only."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from coinsctl.api_docs import documents, service_app
from shared.credentials import SERVICES

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "openapi"
CLIENT = ROOT / "clients" / "python"
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def built() -> dict[str, dict]:
    return documents()


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield path, method, op


def test_the_committed_documents_are_what_the_apps_serve(built):
    assert sorted(p.name for p in DOCS.glob("*.json")) == sorted(built)
    for name, document in built.items():
        assert json.loads((DOCS / name).read_text()) == document, f"run `make openapi`: docs/openapi/{name} is stale"


def test_each_committed_document_is_valid_openapi():
    for service in SERVICES:
        validate(json.loads((DOCS / f"{service}.json").read_text()))


def test_every_route_documents_its_token_refusals_headers_and_tag(built):
    for document in built.values():
        assert document["components"]["securitySchemes"]["bearer"]["bearerFormat"] == "JWT"
        assert document["security"] == [{"bearer": []}]
        declared_tags = {tag["name"] for tag in document["tags"]}
        assert all(tag.get("description") for tag in document["tags"]), document["tags"]
        for path, method, op in operations(document):
            where = f"{method.upper()} {path}"
            assert len(op["tags"]) == 1 and op["tags"][0] in declared_tags, where
            assert {"401", "403", "503"} <= set(op["responses"]), where
            assert "Retry-After" in op["responses"]["503"]["headers"], where
            assert "WWW-Authenticate" in op["responses"]["401"]["headers"], where
            for status, response in op["responses"].items():
                assert "traceparent" in response["headers"], f"{where} {status}"
                if status >= "400":
                    assert response["content"]["application/problem+json"]["schema"] == {
                        "$ref": "#/components/schemas/Problem"
                    }
            if "{" in path:
                assert "404" in op["responses"], where
            if "requestBody" in op:
                assert {"400", "413", "422"} <= set(op["responses"]), where
                assert op["requestBody"]["content"]["application/json"]["example"], where
            names = {p.get("name") for p in op["parameters"]}
            if "Idempotency-Key" in names:
                assert {"400", "409", "422"} <= set(op["responses"]), where
                assert "Retry-After" in op["responses"]["409"]["headers"], where
                success = [r for s, r in op["responses"].items() if s < "300"]
                assert success and all("Idempotent-Replayed" in r["headers"] for r in success), where
                assert "Idempotent-Replayed" not in op["responses"]["401"]["headers"], where


def test_the_main_responses_carry_examples_and_the_routes_that_act_for_a_user_take_a_grant(built):
    paths = {name.removesuffix(".json"): document["paths"] for name, document in built.items()}
    buy = paths["purchase"]["/v1/purchases"]["post"]
    gift = paths["gifting"]["/v1/gifts"]["post"]
    withdraw = paths["payout"]["/v1/withdrawals"]["post"]
    for op in (buy, gift, withdraw):
        assert "X-User-Grant" in {p["name"] for p in op["parameters"]}
        assert op["responses"]["201"]["content"]["application/json"]["example"]
    assert gift["requestBody"]["content"]["application/json"]["example"]["gift_id"] == "rose"
    assert set(buy["responses"]["202"]["headers"]) >= {"Location", "Idempotent-Replayed", "traceparent"}
    assert "Location" in withdraw["responses"]["201"]["headers"]
    wallet = paths["gifting"]["/v1/wallets/{user_id}"]["get"]
    assert wallet["tags"] == ["wallets"] and "X-User-Grant" not in {p["name"] for p in wallet["parameters"]}
    assert wallet["responses"]["200"]["content"]["application/json"]["example"]["status"] == "active"
    assert paths["gifting"]["/v1/internal/totals"]["get"]["tags"] == ["audit"]


@pytest.mark.parametrize("service", SERVICES)
def test_docs_is_served_without_a_token_from_this_origin_only(service):
    with service_app(service) as app:
        client = app.test_client()
        page = client.get("/docs")
        assert page.status_code == 200 and page.content_type.startswith("text/html")
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "default-src 'none'" in csp and "connect-src 'self'" in csp
        html = page.get_data(as_text=True)
        assert "<script>" not in html  # no inline script: the CSP allows files from here only
        referenced = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert referenced and all(url.startswith("/docs/") for url in referenced)
        for url in referenced:
            asset = client.get(url)
            assert asset.status_code == 200 and asset.get_data(), url
            assert asset.headers["Content-Security-Policy"] == csp
        init = client.get("/docs/init.js").get_data(as_text=True)
        assert '"/openapi.json"' in init and "validatorUrl: null" in init  # no call to validator.swagger.io
        assert client.get("/docs/../../pyproject.toml").status_code == 404
        assert client.get("/docs/oauth2-redirect.html").status_code == 404  # only the listed assets
        assert client.get("/v1/internal/totals").status_code == 401  # the API still wants its token


def test_an_app_builds_its_document_once_and_serves_it_on_every_request(monkeypatch):
    import shared.http.ops_views

    built = []
    build = shared.http.ops_views.build_openapi
    monkeypatch.setattr(shared.http.ops_views, "build_openapi", lambda *a, **kw: built.append(1) or build(*a, **kw))
    with service_app("payout") as app:
        client = app.test_client()
        first, second = client.get("/openapi.json"), client.get("/openapi.json")
    assert (first.status_code, first.content_type, len(built)) == (200, "application/json", 1)
    assert second.get_data() == first.get_data() and first.get_json()["info"]["title"]


def test_the_committed_client_is_what_the_committed_documents_generate(tmp_path):
    """clients/python/coins_client/<service> as `make client` writes it (run it if this fails)."""
    spec = importlib.util.spec_from_file_location("generate", CLIENT / "generate.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    # inside the repository, so that the post-generation ruff reads this project's settings
    out = Path(tempfile.mkdtemp(prefix=".generated-", dir=CLIENT))
    try:
        generator.generate(out)
        for service in SERVICES:
            made, committed = _tree(out / service), _tree(CLIENT / "coins_client" / service)
            assert sorted(made) == sorted(committed), f"run `make client`: coins_client/{service} lists other files"
            stale = [name for name in made if made[name] != committed[name]]
            assert not stale, f"run `make client`: coins_client/{service} differs in {stale}"
    finally:
        shutil.rmtree(out)


def _tree(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): path.read_text()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_a_document_the_app_fails_to_build_is_an_error_not_a_file(monkeypatch):
    """`coinsctl openapi` never writes an error body as a document."""
    from contextlib import contextmanager

    import pytest
    from flask import Flask

    from coinsctl import api_docs

    @contextmanager
    def broken_app(service):
        app = Flask(service)
        app.add_url_rule("/openapi.json", "openapi", lambda: ({"title": "boom"}, 500))
        yield app

    monkeypatch.setattr(api_docs, "service_app", broken_app)
    with pytest.raises(RuntimeError, match="500"):
        api_docs.document("gifting")
