"""Validate response bodies against the reference's schemas (shared/spec/reference-openapi.json)."""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "spec" / "reference-openapi.json"
# A copy for a clone without ../shared beside it (CI); the service no longer ships it.
VENDORED = ROOT / "tests" / "reference" / "reference-openapi.json"
_URI = "urn:sartiq:reference-openapi"


@lru_cache(maxsize=1)
def reference() -> dict[str, Any]:
    source = SHARED if SHARED.exists() else VENDORED
    doc: dict[str, Any] = json.loads(source.read_text())
    return doc


@cache
def _validator(schema_name: str) -> Draft202012Validator:
    resource: Resource[Any] = DRAFT202012.create_resource(reference())
    registry: Registry[Any] = Registry().with_resource(_URI, resource)
    schema = {"$ref": f"{_URI}#/components/schemas/{schema_name}"}
    return Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())


def assert_valid(schema_name: str, body: Any) -> None:
    """Fail with every violation listed when `body` does not match the named reference schema."""
    errors = sorted(_validator(schema_name).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
