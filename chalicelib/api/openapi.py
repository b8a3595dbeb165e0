"""The OpenAPI document, served at /api/v1/openapi.json.

The reference's document, verbatim, plus the endpoints this service adds where the reference
only names them (sign-in, users, organizations, uploads, the shootings write side), described from
their pydantic models.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalice.app import Blueprint, Response
from pydantic import BaseModel

bp = Blueprint(__name__)

_DOCUMENT = Path(__file__).resolve().parent.parent / "openapi" / "reference-openapi.json"
_REF = "#/components/schemas/{model}"


class _Operations:
    """Builds operations and remembers every model they refer to, for components/schemas."""

    def __init__(self) -> None:
        self.models: dict[str, type[BaseModel]] = {}

    def _json(self, model: type[BaseModel]) -> dict[str, Any]:
        self.models[model.__name__] = model
        return {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}}

    def op(
        self, summary: str, response: type[BaseModel], body: type[BaseModel] | None = None, secure: bool = True
    ) -> dict[str, Any]:
        op: dict[str, Any] = {
            "summary": summary,
            "responses": {"200": {"description": "Successful Response", "content": self._json(response)}},
        }
        if body is not None:
            op["requestBody"] = {"required": True, "content": self._json(body)}
        if secure:
            op["security"] = [{"OAuth2PasswordBearer": []}]
        return op


def _uuid_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    """A query model's fields as OpenAPI parameters, bounds and defaults from its schema."""
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": {k: v for k, v in prop.items() if k != "title"},
        }
        for name, prop in schema["properties"].items()
    ]


def _added_paths(ops: _Operations) -> dict[str, Any]:
    # The models are imported when the document is first asked for, not on every cold start.
    from chalicelib.schemas.common import Message, PageQuery
    from chalicelib.schemas.products import OrganizationQuery
    from chalicelib.schemas.uploads import UploadCreate, UploadPublic, UploadStatusPublic
    from chalicelib.schemas.users import (
        MemberAdd,
        MemberPublic,
        OrganizationCreate,
        OrganizationPublic,
        OrganizationsPublic,
        Token,
        UserCreate,
        UserPublic,
    )

    _op = ops.op
    login = _op("Login Access Token", Token, secure=False)
    login["requestBody"] = {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                }
            }
        },
    }
    add_member = _op("Add Organization Member", MemberPublic, MemberAdd)
    add_member["parameters"] = [_uuid_param("org_id")]
    remove_member = _op("Remove Organization Member", Message)
    remove_member["parameters"] = [_uuid_param("org_id"), _uuid_param("user_id")]
    read_orgs = _op("Read Organizations", OrganizationsPublic)
    read_orgs["parameters"] = _query_params(PageQuery)
    sign_upload = _op("Create Upload (presigned S3 POST)", UploadPublic, UploadCreate)
    sign_upload["parameters"] = _query_params(OrganizationQuery)
    read_upload = _op("Read Upload", UploadStatusPublic)
    read_upload["parameters"] = [_uuid_param("id")]
    from chalicelib.api import generations

    shootings = _shooting_paths(ops)
    return {
        **shootings,
        **generations.openapi_paths(_op, _uuid_param, _query_params),
        "/api/v1/login/access-token": {"post": login},
        "/api/v1/users/": {"post": _op("Create User", UserPublic, UserCreate)},
        "/api/v1/users/me": {"get": _op("Read User Me", UserPublic)},
        "/api/v1/organizations/": {
            "post": _op("Create Organization", OrganizationPublic, OrganizationCreate),
            "get": read_orgs,
        },
        "/api/v1/organizations/{org_id}/members": {"post": add_member},
        "/api/v1/organizations/{org_id}/members/{user_id}": {"delete": remove_member},
        "/api/v1/uploads/": {"post": sign_upload},
        "/api/v1/uploads/{id}": {"get": read_upload},
    }


def _with_params(op: dict[str, Any], *names: str) -> dict[str, Any]:
    op["parameters"] = [_uuid_param(name) for name in names]
    return op


def _shooting_paths(ops: _Operations) -> dict[str, Any]:
    from chalicelib.schemas.products import OrganizationQuery
    from chalicelib.schemas.shootings import (
        ExternalImagePushPublic,
        PushRecordCreate,
        PushRecordUpdate,
        ShootingCreate,
        ShootingLookCreate,
        ShootingLookPublic,
        ShootingPublic,
        ShotCreate,
        ShotPublic,
        ShotRevisionCreate,
        ShotRevisionPublic,
        ShotUpdate,
    )

    _op = ops.op
    create_shooting = _op("Create Shooting", ShootingPublic, ShootingCreate)
    create_shooting["parameters"] = _query_params(OrganizationQuery)
    # ShootingLookPublic keeps the reference's own definition (the reference names it).
    look = _op("Create Shooting Look", ShootingLookPublic, ShootingLookCreate)
    return {
        "/api/v1/shootings/": {"post": create_shooting},
        "/api/v1/shootings/{id}": {"get": _with_params(_op("Read Shooting", ShootingPublic), "id")},
        "/api/v1/shootings/{id}/looks": {"post": _with_params(look, "id")},
        "/api/v1/shooting-looks/{id}/shots": {"post": _with_params(_op("Create Shot", ShotPublic, ShotCreate), "id")},
        "/api/v1/shots/{id}": {"patch": _with_params(_op("Update Shot Status", ShotPublic, ShotUpdate), "id")},
        "/api/v1/shots/{id}/revisions": {
            "post": _with_params(_op("Create Shot Revision", ShotRevisionPublic, ShotRevisionCreate), "id")
        },
        "/api/v1/shots/{id}/revisions/{revision_id}/push-records": {
            "post": _with_params(
                _op("Create Push Record", ExternalImagePushPublic, PushRecordCreate), "id", "revision_id"
            )
        },
        "/api/v1/shots/{id}/revisions/{revision_id}/push-records/{push_id}": {
            "patch": _with_params(
                _op("Update Push Record", ExternalImagePushPublic, PushRecordUpdate), "id", "revision_id", "push_id"
            )
        },
    }


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(_DOCUMENT.read_text())
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    ops = _Operations()
    paths = _added_paths(ops)
    for model in ops.models.values():
        schema = model.model_json_schema(ref_template=_REF, mode="serialization")
        # The reference's own schemas win: a model it already names (MediaResourcePublic) is
        # referred to, not redefined.
        for name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas.setdefault(model.__name__, schema)
    for path, operations in paths.items():
        doc["paths"].setdefault(path, {}).update(operations)
    return doc


@bp.route("/openapi.json", methods=["GET"])
def openapi() -> Response:
    return Response(body=json.dumps(document()), status_code=200, headers={"Content-Type": "application/json"})
