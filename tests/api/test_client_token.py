"""An SDK retry of a transaction that DynamoDB already applied succeeds, and applies nothing twice.

botocore resends a request whose answer it did not get (a timeout after the commit) with the
same parameters, so with the same ClientRequestToken, which DynamoDB answers as a success
without applying the items again (moto is taught the same in ops/local/moto_transactions.py).
Here botocore is made to resend every first TransactWriteItems that succeeded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.store.table import connection
from tests.factories import Api


@pytest.fixture
def resent(api: Api) -> Iterator[list[str | None]]:
    events = connection().client.meta.events
    tokens: list[str | None] = []

    def record(request: Any, **kwargs: Any) -> None:
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        tokens.append(json.loads(body).get("ClientRequestToken"))

    def resend_first_success(attempts: int, response: Any = None, **kwargs: Any) -> float | None:
        if attempts == 1 and response is not None and response[0].status_code == 200:
            return 0  # as if the answer had been lost: botocore sends the same request again
        return None

    events.register("before-send.dynamodb.TransactWriteItems", record, unique_id="test-token-record")
    events.register("needs-retry.dynamodb.TransactWriteItems", resend_first_success, unique_id="test-token-resend")
    try:
        yield tokens
    finally:
        events.unregister("before-send.dynamodb.TransactWriteItems", unique_id="test-token-record")
        events.unregister("needs-retry.dynamodb.TransactWriteItems", unique_id="test-token-resend")


def test_a_resent_create_succeeds_once(api: Api, resent: list[str | None]) -> None:
    _, token = api.user()
    resent.clear()
    r = api.post("/api/v1/products/", {"name": "Tee", "brand": "Acme", "cover_image": "https://e.com/a.jpg"}, token)
    assert r.status == 200, r
    # Sent twice with one token; applied once.
    assert len(resent) == 2 and resent[0] is not None and resent[0] == resent[1]
    listed = api.get("/api/v1/products/", token).json
    assert listed["count"] == 1 and [p["id"] for p in listed["data"]] == [r.json["id"]]
    brands = api.get("/api/v1/brands/?with_counts=true", token).json
    assert brands["counts"] == {"Acme": 1}


def test_a_resent_update_and_organization_create_succeed(api: Api, resent: list[str | None]) -> None:
    _, token = api.user()
    product = api.product(token, brand="Acme")
    resent.clear()
    r = api.put(f"/api/v1/products/{product['id']}", {"brand": "Other"}, token)
    assert r.status == 200, r
    assert len(resent) == 2 and resent[0] == resent[1]
    brands = api.get("/api/v1/brands/?with_counts=true", token).json
    assert brands["data"] == ["Other"] and brands["counts"] == {"Other": 1}

    org = api.post("/api/v1/organizations/", {"name": "Acme"}, token)
    assert org.status == 200, org
    assert api.get("/api/v1/organizations/", token).json["count"] == 1
