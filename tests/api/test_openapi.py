"""The OpenAPI document: valid OpenAPI 3, and the committed copy is what the code serves."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from api.openapi import document, render
from tests.worker_fixtures import ROOT

COMMITTED = ROOT / "docs" / "schema" / "openapi.json"


def test_the_openapi_document_is_valid_openapi() -> None:
    validate(document())  # raises naming the first problem


def test_the_committed_openapi_document_is_the_one_the_api_serves() -> None:
    assert COMMITTED.read_text() == render(), "regenerate: python -m api.openapi > docs/schema/openapi.json"


def test_every_route_but_health_declares_the_refusal_shape() -> None:
    doc = json.loads(render())
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            if path in ("/healthz", "/readyz"):
                continue
            assert "401" in op["responses"], (method, path)
            assert "404" in op["responses"] or path == "/metrics", (method, path)
            assert op["responses"]["401"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Refusal"
            }
