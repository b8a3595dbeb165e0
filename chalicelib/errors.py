"""Domain errors. Raised by services and the store, mapped to HTTP in `api/errors.py` only."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400

    def __init__(self, detail: Any) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(DomainError):
    status_code = 400


class NotAuthenticated(DomainError):
    status_code = 401

    def __init__(self, detail: str = "Not authenticated") -> None:
        super().__init__(detail)


class InvalidCredentials(NotAuthenticated):
    def __init__(self, detail: str = "Could not validate credentials") -> None:
        super().__init__(detail)


class Forbidden(DomainError):
    status_code = 403

    def __init__(self, detail: str = "Not enough permissions") -> None:
        super().__init__(detail)


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class StaleWrite(Conflict):
    """A version condition failed: someone wrote the record since it was read."""


class InvalidInput(DomainError):
    """A 422 with pydantic-style error entries: [{type, loc, msg, input}]."""

    status_code = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)

    @classmethod
    def single(cls, loc: list[str | int], msg: str, input_value: Any, type_: str = "value_error") -> InvalidInput:
        return cls([{"type": type_, "loc": loc, "msg": msg, "input": input_value}])
