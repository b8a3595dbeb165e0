"""Domain errors. Raised by services and the store, mapped to HTTP in `api/errors.py` only."""

from __future__ import annotations

from typing import Any, Self


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
    """A condition of a write failed. `failed_keys`: the (pk, sk) of the transaction's items
    whose condition failed, so the caller can tell a stale version from a taken name."""

    status_code = 409

    def __init__(self, detail: Any, failed_keys: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(detail)
        self.failed_keys = failed_keys


class StaleWrite(Conflict):
    """A version condition failed: someone wrote the record since it was read."""


class Unavailable(DomainError):
    """A 503 the client may retry after `retry_after` seconds."""

    status_code = 503

    def __init__(self, detail: str, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Busy(Unavailable):
    """DynamoDB refused the write for now (a conflicting transaction, throttling): nothing was
    written, and the write may be retried (store.retry does)."""

    def __init__(self, detail: str = "The service is busy; retry shortly", retry_after: int = 1) -> None:
        super().__init__(detail, retry_after)


class OutcomeUnknown(Unavailable):
    """DynamoDB failed without saying whether the write applied (an internal error once the SDK's
    own retries, same request and token, ran out): never retried as a new write."""

    def __init__(
        self, detail: str = "The write may not have completed; read the resource before retrying", retry_after: int = 1
    ) -> None:
        super().__init__(detail, retry_after)


class _FieldErrors(DomainError):
    """A 422 with pydantic-style error entries: [{type, loc, msg, input}]."""

    status_code = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)

    @classmethod
    def single(cls, loc: list[str | int], msg: str, input_value: Any, type_: str = "value_error") -> Self:
        return cls([{"type": type_, "loc": loc, "msg": msg, "input": input_value}])


class InvalidInput(_FieldErrors):
    """Bad input found while reading a request: `loc` starts with body, query or path."""


class InvalidField(_FieldErrors):
    """Bad input found by a service or a worker. `loc` is a path inside the input (["name"],
    ["reference_images", 3]), with no HTTP location: the API layer places it (`api.errors`),
    a worker reports it as it is."""
