"""Reading a request into schemas: 422 with `loc` prefixed by query, path or body."""

from __future__ import annotations

import json
import uuid
from typing import Any, TypeVar
from urllib.parse import parse_qs

from chalice.app import Request
from pydantic import BaseModel, ValidationError

from chalicelib.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)

# No body of this API nests near this deep. Deeper documents fail later and as a 500: the
# decoder's recursion limit (about 1,000 levels) and pydantic's serializer (255) both raise.
MAX_JSON_DEPTH = 64


def _errors(exc: ValidationError, where: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for err in exc.errors(include_url=False, include_context=False):
        entry: dict[str, Any] = dict(err)
        entry["loc"] = [where, *err["loc"]]
        out.append(entry)
    return out


def validate[M: BaseModel](model: type[M], data: Any, where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_errors(exc, where)) from exc


def query[M: BaseModel](request: Request, model: type[M], multi: tuple[str, ...] = ()) -> M:
    params = request.query_params
    data: dict[str, Any] = {}
    if params:
        for name in params:
            data[name] = params.getlist(name) if name in multi else params.getlist(name)[-1]
    return validate(model, data, "query")


def path_uuid(name: str, value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise InvalidInput.single(
            ["path", name],
            "Input should be a valid UUID",
            value,
            "uuid_parsing",
        ) from exc


def _media_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower()


def _too_deep() -> InvalidInput:
    return InvalidInput.single(
        ["body", 0], f"JSON is nested too deeply (at most {MAX_JSON_DEPTH} levels)", {}, "json_invalid"
    )


def _unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_document(data: Any, limit: int) -> None:
    """Refuse what json.loads accepts but nothing downstream can store or send back: nesting
    deeper than `limit`, and strings with lone surrogates ("\\ud800", not UTF-8)."""
    # Iterative: a recursive walk would hit the very recursion limit this guards against.
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _unencodable(value):
                raise InvalidInput.single(["body", 0], "JSON string is not valid Unicode", {}, "json_invalid")
            continue
        if isinstance(value, dict):
            children: list[Any] = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            raise _too_deep()
        stack.extend((child, depth + 1) for child in children)


def _no_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259); Python's parser accepts them by default.
    raise ValueError(f"{name} is not a JSON value")


def _load_json(raw: bytes | str) -> Any:
    """json.loads, with a document nested deeper than MAX_JSON_DEPTH, NaN or Infinity, or an
    invalid string refused as a 422."""
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except RecursionError as exc:
        raise _too_deep() from exc
    _check_document(data, MAX_JSON_DEPTH)
    return data


def json_body[M: BaseModel](request: Request, model: type[M]) -> M:
    media_type = _media_type(request)
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise InvalidInput.single(["body"], "Content-Type must be application/json", media_type, "content_type")
    raw = request.raw_body or b""
    if not raw.strip():
        raise InvalidInput.single(["body"], "Field required", None, "missing")
    try:
        data = _load_json(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        position = getattr(exc, "pos", 0)
        raise InvalidInput.single(["body", position], "JSON decode error", {}, "json_invalid") from exc
    return validate(model, data, "body")


def form_body[M: BaseModel](request: Request, model: type[M]) -> M:
    media_type = _media_type(request)
    body = request.raw_body or b""
    raw = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    if media_type == "application/json":
        try:
            data = _load_json(raw) if raw.strip() else {}
        except ValueError:
            data = {}
    else:
        data = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
    return validate(model, data, "body")


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
