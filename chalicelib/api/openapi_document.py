"""The OpenAPI document, generated from the routes (served by chalicelib/api/openapi.py).

Every registered route carries its `Operation` (chalicelib/api/contract.py): the pydantic models
that read its query and body and render its answer, its status codes and its names. The document
is built from those: paths, typed parameters (formats, enums, bounds and defaults come from the
models' JSON schemas), bodies, every status code with its error shape, the security scheme, and
an operationId and a tag per operation. Component names are the models' own, which are the
reference's where it names them (ProductPublic, ExportTaskPublic...).

A module of its own: imported by the first request for the document, not by every cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, cast

from chalicelib.api.contract import Operation, operation_of, resolve
from chalicelib.api.method_not_allowed import is_refusal

if TYPE_CHECKING:
    from chalice.app import Chalice
    from pydantic import BaseModel

TITLE = "Sartiq Backend Server - Products"
VERSION = "0.1.0"
PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"
SECURITY_SCHEME = "OAuth2PasswordBearer"

# Routes that serve the documentation itself, CORS preflights and the 405 answers to the methods a
# path lacks (method_not_allowed.py): not operations of the API.
UNDOCUMENTED = frozenset({f"{PREFIX}/openapi.json", f"{PREFIX}/docs", f"{PREFIX}/docs/{{asset}}"})

Mode = Literal["validation", "serialization"]

# The tags in the order a reader meets them (the reference's groups first), with what each holds.
TAGS: tuple[tuple[str, str], ...] = (
    ("products", "Products, their shots, shooting looks and generations, and exports of approved shots"),
    ("brands", "Brand names from products, and registered brands"),
    ("brand-collections", "Collection names from products, and registered collections"),
    ("seasons", "Season names from products"),
    ("years", "Years from products"),
    ("uploads", "Presigned uploads of images, checked by the service before a product takes them"),
    ("shootings", "Shootings and their looks"),
    ("shots", "Shots of a look: review, revisions and pushes to external systems"),
    ("generations", "Generation batches, predictions and refines, as the generation service records them"),
    ("organizations", "Organizations and their members"),
    ("users", "Users"),
    ("login", "Sign-in (OAuth2 password flow)"),
)

_ERROR_SCHEMAS: dict[str, Any] = {
    "HTTPError": {
        "title": "HTTPError",
        "type": "object",
        "properties": {"detail": {"type": "string", "title": "Detail"}},
        "required": ["detail"],
    },
    "ValidationError": {
        "title": "ValidationError",
        "type": "object",
        "properties": {
            "loc": {
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "title": "Location",
            },
            "msg": {"type": "string", "title": "Message"},
            "type": {"type": "string", "title": "Error Type"},
            "input": {"title": "Input"},
        },
        "required": ["loc", "msg", "type"],
    },
    "HTTPValidationError": {
        "title": "HTTPValidationError",
        "type": "object",
        "properties": {
            "detail": {"type": "array", "items": {"$ref": REF.format(model="ValidationError")}, "title": "Detail"}
        },
        "required": ["detail"],
    },
}

_ERROR_DESCRIPTIONS = {
    400: "Bad request (an inactive user, wrong credentials, an email already registered)",
    401: "Not authenticated, or the token could not be validated",
    403: "Not enough permissions (not a member of the organization named, or a record read-only to the caller)",
    404: "Not found, or not visible to the caller",
    409: "Conflict: the record changed since it was read, a name is taken, or the state does not allow it",
    422: "Validation Error",
    503: "Busy: nothing was written, retry after the time given",
}

_HEADER_STRING = {"schema": {"type": "string"}}

# API Gateway's answer when the stage's throttling refuses a request, in the service's shape
# (its THROTTLED gateway response, ops/gateway_responses.py).
_THROTTLED: dict[str, Any] = {
    "description": "Too many requests: the stage's throttling refused it (API Gateway's answer); retry later",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}},
    "content": {"application/json": {"schema": {"$ref": REF.format(model="HTTPError")}}},
}


# A route that refuses on its own when asked too often (sign-in: per account, services/login_throttle.py).
_REFUSED_TOO_OFTEN: dict[str, Any] = {
    **_THROTTLED,
    "description": (
        "Too many requests: too many failed attempts for this account in the current window, or the stage's "
        "throttling; retry after the time given"
    ),
}


def _error_response(code: int) -> dict[str, Any]:
    schema = "HTTPValidationError" if code == 422 else "HTTPError"
    response: dict[str, Any] = {
        "description": _ERROR_DESCRIPTIONS[code],
        "content": {"application/json": {"schema": {"$ref": REF.format(model=schema)}}},
    }
    if code == 401:
        response["headers"] = {"WWW-Authenticate": {**_HEADER_STRING, "description": "Bearer"}}
    if code == 503:
        response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}}
    return response


class _Builder:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = dict(_ERROR_SCHEMAS)
        self._uses: dict[tuple[type[BaseModel], Mode], None] = {}
        self._refs: dict[tuple[type[BaseModel], Mode], dict[str, Any]] = {}

    def use(self, model: type[BaseModel], mode: Mode) -> None:
        self._uses[(model, mode)] = None

    def build_components(self) -> None:
        from pydantic.json_schema import models_json_schema

        refs, top = models_json_schema(list(self._uses), ref_template=REF)
        self._refs = {(cast("type[BaseModel]", model), mode): ref for (model, mode), ref in refs.items()}
        self.schemas.update(top.get("$defs", {}))

    def ref(self, model: type[BaseModel], mode: Mode) -> dict[str, Any]:
        return self._refs[(model, mode)]

    def query_params(self, model: type[BaseModel], multi: tuple[str, ...]) -> list[dict[str, Any]]:
        schema = model.model_json_schema(ref_template=REF, mode="validation")
        for name, definition in schema.pop("$defs", {}).items():
            self.schemas.setdefault(name, definition)
        required = set(schema.get("required", []))
        params: list[dict[str, Any]] = []
        for name, prop in schema["properties"].items():
            prop = _without_null(prop)
            param: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": {k: v for k, v in prop.items() if k not in ("title", "description")},
            }
            if "description" in prop:
                param["description"] = prop["description"]
            if name in multi:
                param["style"] = "form"
                param["explode"] = True
            params.append(param)
        return params


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter cannot be sent as null (absent is its default): `X | None` is X."""
    options = [o for o in prop.get("anyOf", []) if o != {"type": "null"}]
    if not options or len(options) == len(prop["anyOf"]):
        return prop
    rest = {k: v for k, v in prop.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**options[0], **rest} if len(options) == 1 else {**rest, "anyOf": options}


def _path_params(op: Operation) -> list[dict[str, Any]]:
    return [
        {"name": op.doc_name(p), "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
        for p in op.path_params
    ]


def _header_params(op: Operation) -> list[dict[str, Any]]:
    params = []
    for header in op.headers:
        schema: dict[str, Any] = {"type": "string", "minLength": 1}
        if header.max_length:
            schema["maxLength"] = header.max_length
        if header.pattern:
            schema["pattern"] = header.pattern
        params.append(
            {
                "name": header.name,
                "in": "header",
                "required": False,
                "description": header.description,
                "schema": schema,
            }
        )
    return params


def _success(op: Operation, builder: _Builder) -> dict[str, Any]:
    if op.status == 302:
        return {
            "description": "Redirect to a short-lived presigned URL of the file",
            "headers": {"Location": {**_HEADER_STRING, "description": "The presigned URL"}},
        }
    response: dict[str, Any] = {"description": "Successful Response"}
    if op.response is not None:
        response["content"] = {"application/json": {"schema": builder.ref(resolve(op.response), "serialization")}}
    return response


def _operation(op: Operation, builder: _Builder, description: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"tags": [op.tag], "summary": op.summary, "operationId": op.operation_id}
    if description:
        out["description"] = description
    params = _path_params(op) + _header_params(op)
    if op.query is not None:
        params += builder.query_params(resolve(op.query), op.multi)
    if params:
        out["parameters"] = params
    if op.body is not None:
        media = "application/x-www-form-urlencoded" if op.form else "application/json"
        out["requestBody"] = {
            "required": True,
            "content": {media: {"schema": builder.ref(resolve(op.body), "validation")}},
        }
    responses = {str(op.status): _success(op, builder)}
    for code in op.status_codes:
        if code not in (op.status, 429):
            responses[str(code)] = _error_response(code)
    responses["429"] = _REFUSED_TOO_OFTEN if 429 in op.status_codes else _THROTTLED
    out["responses"] = dict(sorted(responses.items()))
    if op.secure:
        out["security"] = [{SECURITY_SCHEME: []}]
    return out


def documented_operations(app: Chalice) -> list[tuple[Operation, str | None]]:
    """Every registered route's operation (CORS preflights, 405 answers and the docs' own routes
    aside), with the view's docstring; a route registered without one is an error."""
    found: list[tuple[Operation, str | None]] = []
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            if method == "OPTIONS" or path in UNDOCUMENTED or is_refusal(entry.view_function):
                continue
            op = operation_of(entry.view_function)
            if op is None:
                raise LookupError(f"{method} {path} is registered without an operation (use contract.endpoint)")
            found.append((op, entry.view_function.__doc__))
    return found


def build_document(app: Chalice) -> dict[str, Any]:
    operations = documented_operations(app)
    builder = _Builder()
    for op, _ in operations:
        if op.body is not None:
            builder.use(resolve(op.body), "validation")
        if op.response is not None:
            builder.use(resolve(op.response), "serialization")
    builder.build_components()
    paths: dict[str, dict[str, Any]] = {}
    for op, doc in sorted(operations, key=lambda pair: (pair[0].doc_path, pair[0].method)):
        description = " ".join(doc.split()) if doc else None
        paths.setdefault(PREFIX + op.doc_path, {})[op.method.lower()] = _operation(op, builder, description)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION},
        "tags": [{"name": name, "description": text} for name, text in TAGS],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(builder.schemas.items())),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "oauth2",
                    "flows": {"password": {"tokenUrl": f"{PREFIX}/login/access-token", "scopes": {}}},
                }
            },
        },
    }
