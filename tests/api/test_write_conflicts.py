"""Cancelled transactions are mapped by their reasons; retries are bounded and safe.

DynamoDB's answers are stubbed at botocore's `_make_api_call` (under PynamoDB and boto3):
a cancelled TransactWriteItems with the given reasons, for the first calls only, then moto.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from chalicelib.store import retry
from tests.factories import Api, png_b64

Reasons = list[str]
_APPLY_THEN_FAIL = ClientError(
    {"Error": {"Code": "InternalServerError", "Message": "Internal server error"}}, "TransactWriteItems"
)


class TransactStub:
    """Fails the next TransactWriteItems calls with the queued outcomes; records every call."""

    def __init__(self) -> None:
        self.queue: list[Callable[[dict[str, Any]], ClientError]] = []
        self.calls: list[dict[str, Any]] = []

    def reset(self) -> None:
        self.calls.clear()

    def cancel(self, reasons: Callable[[dict[str, Any]], Reasons], times: int = 1) -> None:
        def error(params: dict[str, Any]) -> ClientError:
            codes = reasons(params)
            return ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": f"cancelled: {codes}"},
                    "CancellationReasons": [{"Code": code} for code in codes],
                },
                "TransactWriteItems",
            )

        self.queue += [error] * times

    def fail_after_commit(self) -> None:
        """The transaction applies, then the answer is an internal error (outcome unknown)."""
        self.queue.append(lambda params: _APPLY_THEN_FAIL)

    def throttle(self, times: int = 1) -> None:
        def error(params: dict[str, Any]) -> ClientError:
            return ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "TransactWriteItems"
            )

        self.queue += [error] * times


@pytest.fixture
def transact(monkeypatch: pytest.MonkeyPatch) -> Iterator[TransactStub]:
    stub = TransactStub()
    original = BaseClient._make_api_call
    monkeypatch.setattr(retry, "_sleep", lambda seconds: None)

    def fake(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation == "TransactWriteItems":
            stub.calls.append(params)
            if stub.queue:
                error = stub.queue.pop(0)(params)
                if error is _APPLY_THEN_FAIL:
                    original(self, operation, params)
                raise error
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", fake)
    yield stub


def _keys(params: dict[str, Any]) -> list[tuple[str, str]]:
    keys = []
    for entry in params["TransactItems"]:
        (op,) = entry.values()
        attributes = op.get("Key") or op["Item"]
        keys.append((attributes["pk"]["S"], attributes["sk"]["S"]))
    return keys


def on(predicate: Callable[[str], bool], code: str) -> Callable[[dict[str, Any]], Reasons]:
    """`code` for the items whose pk matches, "None" for the others (DynamoDB's shape)."""
    return lambda params: [code if predicate(pk) else "None" for pk, _ in _keys(params)]


def everywhere(code: str) -> Callable[[dict[str, Any]], Reasons]:
    return on(lambda pk: True, code)


def test_transaction_conflict_is_retried_and_the_create_succeeds(api: Api, transact: TransactStub) -> None:
    _, token = api.user()
    transact.reset()
    transact.cancel(on(lambda pk: pk.startswith("FACETS#"), "TransactionConflict"), times=2)
    r = api.post("/api/v1/products/", {"name": "Tee", "brand": "Acme", "cover_image": "https://e.com/a.jpg"}, token)
    assert r.status == 200, r
    assert len(transact.calls) == 3
    listed = api.get("/api/v1/brands/?with_counts=true", token).json
    assert listed["data"] == ["Acme"] and listed["counts"] == {"Acme": 1}
    assert api.get("/api/v1/products/", token).json["count"] == 1


def test_throttling_is_retried(api: Api, transact: TransactStub) -> None:
    _, token = api.user()
    product = api.product(token)
    transact.throttle(times=2)
    r = api.put(f"/api/v1/products/{product['id']}", {"colour": "Red"}, token)
    assert r.status == 200, r
    assert r.json["colour"] == "Red"


def test_conflicts_past_the_retry_budget_are_a_503_with_retry_after(api: Api, transact: TransactStub) -> None:
    _, token = api.user()
    product = api.product(token)
    transact.cancel(everywhere("TransactionConflict"), times=retry.ATTEMPTS)
    r = api.put(f"/api/v1/products/{product['id']}", {"colour": "Red"}, token)
    assert r.status == 503, r
    assert r.headers.get("Retry-After") == "1"
    assert "changed" not in r.json["detail"]
    # Nothing was half-written: the product is as it was, and writes work again.
    assert api.get(f"/api/v1/products/{product['id']}", token).json["colour"] is None
    assert api.put(f"/api/v1/products/{product['id']}", {"colour": "Blue"}, token).status == 200

    transact.cancel(everywhere("TransactionConflict"), times=retry.ATTEMPTS)
    created = api.post("/api/v1/products/", {"name": "New", "cover_image": "https://e.com/a.jpg"}, token)
    assert created.status == 503, created
    assert api.get("/api/v1/products/", token).json["count"] == 1


def test_a_stale_version_is_retried_on_a_fresh_read(api: Api, transact: TransactStub) -> None:
    _, token = api.user()
    product = api.product(token, colour="Green")
    transact.reset()
    transact.cancel(on(lambda pk: pk.startswith("PRODUCT#"), "ConditionalCheckFailed"))
    r = api.put(f"/api/v1/products/{product['id']}", {"name": "Renamed"}, token)
    assert r.status == 200, r
    assert r.json["name"] == "Renamed" and r.json["colour"] == "Green"
    assert len(transact.calls) == 2


def test_brand_name_taken_only_when_the_guard_condition_failed(api: Api, transact: TransactStub) -> None:
    _, token = api.user()
    # A concurrent product write on the name's counter item: a TransactionConflict there is
    # not "name already exists"; the create is retried and succeeds.
    transact.cancel(on(lambda pk: pk.startswith("FACETS#"), "TransactionConflict"))
    r = api.post("/api/v1/brands/", {"name": "Acme"}, token)
    assert r.status == 200, r

    # The real duplicate: the guard's own condition fails (moto), a 409 that says so.
    r = api.post("/api/v1/brands/", {"name": "ACME"}, token)
    assert r.status == 409 and r.json == {"detail": "A brand with this name already exists"}

    # A failed condition on the brand item itself (not the guard) is not "name exists" either.
    transact.cancel(on(lambda pk: pk.startswith("BRAND#"), "ConditionalCheckFailed"))
    r = api.post("/api/v1/brands/", {"name": "Other"}, token)
    assert r.status == 409 and "already exists" not in r.json["detail"]


def test_email_taken_only_when_its_guard_failed(api: Api, transact: TransactStub) -> None:
    admin = api.admin_token
    transact.reset()
    transact.cancel(on(lambda pk: pk.startswith("EMAIL#"), "TransactionConflict"))
    r = api.post("/api/v1/users/", {"email": "new@example.com", "password": "password-123"}, admin)
    assert r.status == 200, r
    assert len(transact.calls) == 2
    # The reference answers a taken e-mail with 400.
    again = api.post("/api/v1/users/", {"email": "NEW@example.com", "password": "password-123"}, admin)
    assert again.status == 400 and "already exists" in again.json["detail"]


def test_every_transaction_carries_a_fresh_client_request_token(api: Api, transact: TransactStub) -> None:
    _, token = api.user()
    product = api.product(token, brand="Acme")
    transact.reset()
    transact.cancel(everywhere("TransactionConflict"))
    assert api.put(f"/api/v1/products/{product['id']}", {"brand": "Other"}, token).status == 200
    assert api.delete(f"/api/v1/products/{product['id']}", token).status == 200
    tokens = [call.get("ClientRequestToken") for call in transact.calls]
    assert all(tokens) and len(set(tokens)) == len(tokens), tokens


def test_an_unknown_outcome_is_a_503_not_retried_and_keeps_a_committed_products_images(
    api: Api, transact: TransactStub
) -> None:
    from chalicelib.config import get_settings
    from chalicelib.store.blobs import s3_client as _s3

    _, token = api.user()
    transact.reset()
    transact.fail_after_commit()
    r = api.post("/api/v1/products/", {"name": "Tee", "cover_image": png_b64()}, token)
    assert r.status == 503 and r.headers.get("Retry-After") == "1", r
    # Not resent as a new write: that could apply twice, or fail its own condition.
    assert len(transact.calls) == 1
    # The write did apply: the product is listed and its image is still in the bucket.
    (product,) = api.get("/api/v1/products/", token).json["data"]
    key = get_settings().media_key_from_url(product["cover_image_url"])
    assert key and _s3().head_object(Bucket=get_settings().images_bucket, Key=key)

    transact.fail_after_commit()
    r = api.put(f"/api/v1/products/{product['id']}", {"cover_image": png_b64((1, 2, 3))}, token)
    assert r.status == 503, r
    updated = api.get(f"/api/v1/products/{product['id']}", token).json
    assert updated["cover_image_url"] != product["cover_image_url"]
    key = get_settings().media_key_from_url(updated["cover_image_url"])
    assert key and _s3().head_object(Bucket=get_settings().images_bucket, Key=key)
