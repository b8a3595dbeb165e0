"""Every route's contract, declared once, where the route is.

`endpoint(...)` registers a view on its blueprint and records an `Operation`: the models that
read its path, query and body, the model it answers with, the status codes it can answer, and
the names it is documented under. The same record drives both sides:
- at request time, the wrapper authenticates the caller (401 before 422, as the reference's
  FastAPI does), reads every input with its model (one 422 listing all of the bad ones) and
  renders what the view returns;
- `chalicelib.api.openapi_document` builds the served document from the registered routes' operations.
So the document cannot describe a parameter the route does not read, or miss one it does.

Models may be named as "module.Model" (under `chalicelib.schemas`) so that a module whose models
are not every cold start's cost (generations) is imported on first use, not at registration.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response
from pydantic import BaseModel

from chalicelib.api.errors import api_view, render
from chalicelib.api.request import form_body, json_body, path_uuid, query
from chalicelib.errors import InvalidInput

if TYPE_CHECKING:
    from chalice.app import Request

ModelRef = type[BaseModel] | str
View = Callable[..., Any]

ANY_CONTENT = ["*/*"]

# What any route that needs a signed-in caller can answer: 401 before its own work starts (no
# token, or a bad, expired or revoked one, or one of a user gone or inactive), and 400 and 404,
# which nearly every route's own work answers (a refused request, a record the caller cannot see).
SIGNED_IN_ERRORS = frozenset({400, 401, 404})

_PATH_PARAM = re.compile(r"{(\w+)}")


def resolve(model: ModelRef) -> type[BaseModel]:
    if isinstance(model, str):
        module, _, name = model.rpartition(".")
        resolved: type[BaseModel] = getattr(importlib.import_module(f"chalicelib.schemas.{module}"), name)
        return resolved
    return model


@dataclass(frozen=True)
class Header:
    """An optional request header, given to the view as its snake-case name (None when absent)."""

    name: str
    description: str
    max_length: int | None = None
    pattern: str | None = None
    # Reads the raw value (None when absent): the view's argument, or an InvalidInput.
    check: Callable[[str | None], str | None] | None = None

    @property
    def argument(self) -> str:
        return self.name.lower().replace("-", "_")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as registered on the blueprint, with its trailing slash
    operation_id: str
    summary: str
    tag: str
    response: ModelRef | None
    description: str | None = None
    body: ModelRef | None = None
    form: bool = False  # the body is an OAuth2 password form, not JSON
    query: ModelRef | None = None
    multi: tuple[str, ...] = ()  # query parameters that may repeat (?a=1&a=2)
    headers: tuple[Header, ...] = ()
    # The reference's name for a path parameter where API Gateway forces another one
    # (`/products/{id}/shots` is its `/products/{product_id}/shots`).
    doc_names: Mapping[str, str] = field(default_factory=dict)
    secure: bool = True
    status: int = 200
    errors: frozenset[int] = frozenset()

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PATH_PARAM.findall(self.path))

    def doc_name(self, param: str) -> str:
        return self.doc_names.get(param, param)

    @property
    def doc_path(self) -> str:
        return _PATH_PARAM.sub(lambda m: "{" + self.doc_name(m.group(1)) + "}", self.path)

    @property
    def status_codes(self) -> list[int]:
        codes = set(self.errors)
        if self.secure:
            codes |= SIGNED_IN_ERRORS
        if self.body is not None or self.query is not None or self.path_params or self.headers:
            codes.add(422)
        return sorted({self.status, *codes})


# The registered handler of each route -> its operation (the document reads app.routes).
_OPERATIONS: dict[Callable[..., Any], Operation] = {}


def operation_of(handler: Callable[..., Any]) -> Operation | None:
    return _OPERATIONS.get(handler)


def _as_sent(value: str | None) -> str | None:
    return value


def _read_inputs(op: Operation, request: Request, uri_params: dict[str, str]) -> dict[str, Any]:
    """The view's arguments from the request; every bad input in one 422, as FastAPI reports."""
    errors: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}

    def collect(name: str, read: Callable[[], Any]) -> None:
        try:
            kwargs[name] = read()
        except InvalidInput as exc:
            errors.extend(exc.detail)

    for param in op.path_params:
        collect(param, functools.partial(path_uuid, op.doc_name(param), uri_params[param]))
    for header in op.headers:
        check = header.check or _as_sent
        collect(header.argument, functools.partial(check, request.headers.get(header.name)))
    if op.query is not None:
        model = resolve(op.query)
        collect("query", lambda: query(request, model, multi=op.multi))
    if op.body is not None:
        body_model = resolve(op.body)
        collect("body", lambda: (form_body if op.form else json_body)(request, body_model))
    if errors:
        raise InvalidInput(errors)
    return kwargs


def endpoint(
    bp: Blueprint,
    method: str,
    path: str,
    *,
    operation_id: str,
    summary: str,
    tag: str,
    response: ModelRef | None,
    **options: Any,
) -> Callable[[View], View]:
    """Register `view` for `method path` on `bp` under the contract given (see `Operation`).

    The view is called with `caller` (when the route is secure), each path parameter as a
    canonical UUID string, `query` and `body` as read by their models; it returns a model or a
    dict (rendered with the operation's status) or a full `Response`."""
    op = Operation(
        method=method, path=path, operation_id=operation_id, summary=summary, tag=tag, response=response, **options
    )

    def register(view: View) -> View:
        def handler(**uri_params: str) -> Response:
            request = bp.current_request
            kwargs = {}
            if op.secure:
                from chalicelib.api import deps

                kwargs["caller"] = deps.caller(request)
            kwargs.update(_read_inputs(op, request, uri_params))
            result = view(**kwargs)
            return result if isinstance(result, Response) else render(result, op.status)

        handler.__name__ = view.__name__
        handler.__doc__ = view.__doc__
        wrapped = api_view(handler)
        _OPERATIONS[wrapped] = op
        bp.route(path, methods=[method], content_types=ANY_CONTENT)(wrapped)
        return view

    return register
