"""Domain errors to HTTP, in one place, in the reference's style."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from chalice.app import Response
from pydantic import BaseModel

from chalicelib import observability
from chalicelib.errors import DomainError, InvalidField, NotAuthenticated, Unavailable

JSON_HEADERS: dict[str, str | list[str]] = {"Content-Type": "application/json"}


def error_response(error: DomainError) -> Response:
    headers = dict(JSON_HEADERS)
    if isinstance(error, NotAuthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    # A 503, or a refusal that says when to come back (a sign-in throttle's 429).
    retry_after = getattr(error, "retry_after", None)
    if isinstance(error, Unavailable) or isinstance(retry_after, int):
        headers["Retry-After"] = str(retry_after)
    detail = error.detail
    if isinstance(error, InvalidField):
        # A service names fields of the input; on HTTP the input is the request body.
        detail = [{**entry, "loc": ["body", *entry["loc"]]} for entry in error.detail]
    return Response(body=json.dumps({"detail": detail}, default=str), status_code=error.status_code, headers=headers)


def render(model: BaseModel | dict[str, Any], status_code: int = 200) -> Response:
    body = model.model_dump_json() if isinstance(model, BaseModel) else json.dumps(model)
    return Response(body=body, status_code=status_code, headers=dict(JSON_HEADERS))


def internal_error() -> Response:
    """The answer to anything unexpected: what went wrong is in the log, never in the body."""
    return Response(body=json.dumps({"detail": "Internal Server Error"}), status_code=500, headers=dict(JSON_HEADERS))


def api_view(view: Callable[..., Response]) -> Callable[..., Response]:
    """Every route is wrapped: a domain error becomes its HTTP answer, anything else a 500."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except DomainError as error:
            return error_response(error)
        except Exception:
            observability.logger().exception("unhandled error")
            return internal_error()

    return wrapper
