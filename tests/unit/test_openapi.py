"""The served OpenAPI document is generated from the routes, documents every one of them, is
valid OpenAPI 3.1, and keeps every operation and component of the reference with compatible
types."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from openapi_spec_validator import validate

import app as application
from chalicelib.api.method_not_allowed import REFUSED_METHODS, is_refusal
from chalicelib.api.openapi import base_path, document
from chalicelib.api.openapi_document import UNDOCUMENTED, build_document
from tests.schema import reference

# Where the service refuses, on purpose, an input the reference allows (spec README: only a
# nullable field is cleared by an explicit null; a product keeps its name, visibility and state).
DEVIATIONS = {
    "ProductUpdate.name": "null refused: a product keeps a name",
    "ProductUpdate.public": "null refused: a product is public or not",
    "ProductUpdate.enabled": "null refused: a product is a draft or not",
}

JSON_TYPES = frozenset({"string", "integer", "number", "boolean", "object", "array", "null"})
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build_document(application.app)


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = root["components"]["schemas"][name]
        seen += 1
        assert seen < 20, "a $ref cycle"
    return schema


def types_of(schema: dict[str, Any], root: dict[str, Any]) -> frozenset[str]:
    """The JSON types a schema admits (any: all of them); integer counts as a number."""
    schema = _resolve(schema, root)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return frozenset().union(*(types_of(s, root) for s in schema[key]))
    if "allOf" in schema:
        return frozenset.intersection(*(types_of(s, root) for s in schema["allOf"]))
    if "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        names = {type(v).__name__ for v in values}
        mapping = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "NoneType": "null"}
        return frozenset(mapping[n] for n in names)
    declared = schema.get("type")
    if declared is None:
        return JSON_TYPES
    found = frozenset([declared] if isinstance(declared, str) else declared)
    return found | {"number"} if "integer" in found else found


def assert_compatible(
    ours: dict[str, Any], theirs: dict[str, Any], where: str, doc: dict[str, Any], accepts: bool = False
) -> None:
    """Ours fits the reference's declaration.

    An answer (`accepts=False`): every type of ours is one of the reference's, every property the
    reference requires is there and required, every other one it names is, where present, of a
    compatible type. An input (`accepts=True`): every type the reference allows is accepted
    (its enum-less strings stay strings, checked further by the service), every property it names
    is read, and nothing it leaves optional is required."""
    ours_types, their_types = types_of(ours, doc), types_of(theirs, reference())
    if accepts and where.rsplit(" ", 1)[-1] in DEVIATIONS:
        their_types = their_types - {"null"}
    if accepts:
        if their_types != JSON_TYPES:
            assert their_types <= ours_types, f"{where}: {sorted(their_types)} not accepted by {sorted(ours_types)}"
    else:
        assert ours_types <= their_types, f"{where}: {sorted(ours_types)} not within {sorted(their_types)}"
    ours_r, theirs_r = _resolve(ours, doc), _resolve(theirs, reference())
    their_props = theirs_r.get("properties", {})
    if not their_props:
        return
    our_props = ours_r.get("properties", {})
    for name, prop in their_props.items():
        if accepts:
            assert name in our_props, f"{where}: property {name!r} is not read"
        if name in our_props:
            assert_compatible(our_props[name], prop, f"{where}.{name}", doc, accepts)
    ours_required, their_required = set(ours_r.get("required", [])), set(theirs_r.get("required", []))
    if accepts:
        extra = (ours_required & set(their_props)) - their_required
        assert not extra, f"{where}: {sorted(extra)} required, optional in the reference"
    else:
        missing = their_required - ours_required
        assert not missing, f"{where}: the reference requires {sorted(missing)}"


def _component_name(name: str, doc: dict[str, Any]) -> str:
    # pydantic (like FastAPI) suffixes a name with -Output only when a model's input and output
    # schemas differ; the reference's TaskStatus-Output is the same enum both ways here.
    if name in doc["components"]["schemas"]:
        return name
    return re.sub(r"-(Output|Input)$", "", name)


def test_the_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    assert document() == doc


def _documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(re.sub(r"{\w+}", "{}", path.rstrip("/")), method) for path, ops in doc["paths"].items() for method in ops}


def test_every_registered_route_is_documented(doc: dict[str, Any]) -> None:
    routed = {
        (re.sub(r"{\w+}", "{}", path), method.lower())
        for path, methods in application.app.routes.items()
        for method, entry in methods.items()
        if method != "OPTIONS" and path not in UNDOCUMENTED and not is_refusal(entry.view_function)
    }
    assert routed == _documented(doc)
    assert all(set(ops) <= METHODS for ops in doc["paths"].values()), "a preflight (OPTIONS) was documented"


def test_every_path_answers_every_method_and_no_405_route_is_documented(doc: dict[str, Any]) -> None:
    """A method a path lacks is a 405 route of its own (chalicelib/api/method_not_allowed.py),
    which is no operation of the API."""
    refused = set()
    for path, methods in application.app.routes.items():
        assert set(methods) == {*REFUSED_METHODS, "OPTIONS"}, path
        own = {method for method, entry in methods.items() if not is_refusal(entry.view_function)}
        assert own - {"OPTIONS"}, f"{path} has no method of its own"
        refused |= {(re.sub(r"{\w+}", "{}", path), m.lower()) for m in methods if m not in own}
    assert refused, "no path lacks a method"
    assert not refused & _documented(doc)


def test_every_operation_has_a_unique_id_a_tag_and_its_status_codes(doc: dict[str, Any]) -> None:
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    used = {op["tags"][0] for ops in doc["paths"].values() for op in ops.values()}
    declared = [tag["name"] for tag in doc["tags"]]
    assert set(declared) == used and declared[0] == "products"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["tags"] and op["summary"], (method, path)
            codes = set(op["responses"])
            assert "429" in codes, (method, path)  # the stage's throttling
            if "security" in op:
                assert {"401", "404", "400"} <= codes, (method, path)
                assert op["responses"]["401"]["headers"]["WWW-Authenticate"]
            if op.get("parameters") or op.get("requestBody"):
                assert op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
                    "/HTTPValidationError"
                )
    assert doc["components"]["securitySchemes"] == reference()["components"]["securitySchemes"]


def test_reference_operations_are_present_named_as_the_reference_names_them(doc: dict[str, Any]) -> None:
    for path, ops in reference()["paths"].items():
        assert path in doc["paths"], path
        for method, theirs in ops.items():
            ours = doc["paths"][path][method]
            assert ours["summary"] == theirs["summary"]
            # The reference's summary in snake case: create_product, read_product_shots...
            expected = re.sub(r"\W+", "_", theirs["summary"].lower()).strip("_")
            if method == "put" or path.endswith("selected_shot/{product_id}"):
                expected = {"put": "update_product"}.get(method, expected)
            assert ours["operationId"] == expected, (method, path)


def test_reference_parameters_are_present_with_compatible_types(doc: dict[str, Any]) -> None:
    for path, ops in reference()["paths"].items():
        for method, theirs in ops.items():
            ours = doc["paths"][path][method]
            params = {(p["name"], p["in"]): p for p in ours.get("parameters", [])}
            for param in theirs.get("parameters", []):
                key = (param["name"], param["in"])
                where = f"{method.upper()} {path} {key}"
                assert key in params, where
                assert params[key]["required"] == param.get("required", False), where
                assert_compatible(params[key]["schema"], param["schema"], where, doc, accepts=True)
                if "default" in param["schema"]:
                    assert params[key]["schema"].get("default") == param["schema"]["default"], where


def test_reference_bodies_and_answers_are_compatible(doc: dict[str, Any]) -> None:
    for path, ops in reference()["paths"].items():
        for method, theirs in ops.items():
            ours = doc["paths"][path][method]
            where = f"{method.upper()} {path}"
            if "requestBody" in theirs:
                their_body = theirs["requestBody"]["content"]["application/json"]["schema"]
                our_body = ours["requestBody"]["content"]["application/json"]["schema"]
                body_name = our_body["$ref"].rsplit("/", 1)[-1]
                assert_compatible(our_body, their_body, f"{where} {body_name}", doc, accepts=True)
            their_ok = theirs["responses"]["200"].get("content")
            if their_ok is None:
                continue
            success = ours["responses"].get("200") or ours["responses"]["302"]
            assert_compatible(
                success["content"]["application/json"]["schema"],
                their_ok["application/json"]["schema"],
                f"{where} -> 200",
                doc,
            )


def _request_models(doc: dict[str, Any]) -> set[str]:
    return {
        content["schema"]["$ref"].rsplit("/", 1)[-1]
        for ops in doc["paths"].values()
        for op in ops.values()
        for content in op.get("requestBody", {}).get("content", {}).values()
    }


def test_reference_components_are_present_with_compatible_types(doc: dict[str, Any]) -> None:
    ours = doc["components"]["schemas"]
    inputs = _request_models(doc)
    for name, schema in reference()["components"]["schemas"].items():
        ours_name = _component_name(name, doc)
        assert ours_name in ours, name
        ref = {"$ref": f"#/components/schemas/{ours_name}"}
        assert_compatible(ref, schema, name, doc, accepts=ours_name in inputs)


def test_enums_and_bounds_are_declared(doc: dict[str, Any]) -> None:
    """What the service checks is what the document says: enums, UUIDs, bounds, booleans."""
    params = {p["name"]: p for p in doc["paths"]["/api/v1/products/"]["get"]["parameters"]}
    assert types_of(params["limit"]["schema"], doc) == {"integer", "number"}
    assert params["limit"]["schema"]["maximum"] >= 100 and params["limit"]["schema"]["minimum"] >= 0
    assert params["enabled"]["schema"]["type"] == "boolean"
    assert params["brand_collection"]["explode"] is True
    sort_order = _resolve(params["sort_order"]["schema"], doc)
    assert set(sort_order["enum"]) == {"asc", "desc"}
    path_param = doc["paths"]["/api/v1/products/{id}"]["get"]["parameters"][0]
    assert path_param["schema"] == {"type": "string", "format": "uuid"}
    gender = doc["components"]["schemas"]["ProductGender"]
    assert set(gender["enum"]) == {"MALE", "FEMALE", "UNISEX"}


def test_the_added_endpoints_are_documented(doc: dict[str, Any]) -> None:
    paths = doc["paths"]
    for path, method in [
        ("/api/v1/brands/", "post"),
        ("/api/v1/brand-collections/", "post"),
        ("/api/v1/products/{id}", "patch"),
        ("/api/v1/shootings/", "post"),
        ("/api/v1/uploads/", "post"),
        ("/api/v1/login/access-token", "post"),
    ]:
        assert method in paths[path], (method, path)
    login = paths["/api/v1/login/access-token"]["post"]
    assert "application/x-www-form-urlencoded" in login["requestBody"]["content"]
    assert "security" not in login
    download = paths["/api/v1/products/export-tasks/{task_id}/download"]["get"]
    assert "Location" in download["responses"]["302"]["headers"]
    start = paths["/api/v1/products/export-approved-shots/async"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in start["parameters"])


@pytest.mark.parametrize(
    ("path", "route", "prefix"),
    [
        ("/api/v1/openapi.json", "/api/v1/openapi.json", ""),
        ("/api/api/v1/openapi.json", "/api/v1/openapi.json", "/api"),
        ("/catalog/v2/api/v1/openapi.json", "/api/v1/openapi.json", "/catalog/v2"),
        ("", "", ""),
    ],
)
def test_behind_a_stage_the_document_names_its_base_path(path: str, route: str, prefix: str) -> None:
    assert base_path({"path": path, "resourcePath": route}) == prefix


def test_served_locally_the_document_has_no_servers(api: Any) -> None:
    r = api.get("/api/v1/openapi.json")
    assert r.status == 200 and "servers" not in r.json


def test_behind_a_stage_the_served_document_has_its_server(aws: None) -> None:
    """The Lambda handler given API Gateway's event for /api/api/v1/openapi.json (stage `api`)."""
    event = {
        "resource": "/api/v1/openapi.json",
        "path": "/api/v1/openapi.json",
        "httpMethod": "GET",
        "headers": {"Host": "abc.execute-api.us-east-1.amazonaws.com"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "body": None,
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": "/api/v1/openapi.json",
            "path": "/api/api/v1/openapi.json",
            "httpMethod": "GET",
            "stage": "api",
            "requestId": "c0ffee00-0000-4000-8000-000000000000",
        },
    }
    answer = application.app(event, None)
    assert answer["statusCode"] == 200
    doc = json.loads(answer["body"])
    assert doc["servers"] == [{"url": "/api"}]
    # Swagger UI's "Authorize" posts the sign-in form there.
    flow = doc["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]
    assert flow["tokenUrl"] == "/api/api/v1/login/access-token"
