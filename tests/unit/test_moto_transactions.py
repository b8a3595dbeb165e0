"""The moto patch (ops/local/moto_transactions.py) keeps DynamoDB's transaction guarantees.

All-or-nothing transactions that restore only their own items, atomic item operations under
concurrent threads, and ClientRequestToken idempotency.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore import handlers
from botocore.exceptions import ClientError
from moto import mock_aws

from ops.local import moto_transactions
from ops.local.moto_transactions import item_level_transactions


@pytest.fixture
def client() -> Iterator[Any]:
    # Nested in the session's moto (which does not reset on a nested start or stop): the
    # table is dropped at the end, and the next test's reset drops it too.
    with mock_aws(), item_level_transactions():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        try:
            yield client
        finally:
            client.delete_table(TableName="t")


def add(pk: str, n: int = 1) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": "t",
            "Key": {"pk": {"S": pk}},
            "UpdateExpression": "ADD n :n",
            "ExpressionAttributeValues": {":n": {"N": str(n)}},
        }
    }


def count(client: Any, pk: str) -> int | None:
    item = client.get_item(TableName="t", Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")
    return int(item["n"]["N"]) if item else None


def test_cancelled_transaction_changes_nothing(client: Any) -> None:
    client.put_item(TableName="t", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    with pytest.raises(ClientError) as err:
        client.transact_write_items(
            TransactItems=[
                add("a"),
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "new"}}}},
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "b"}}, "ConditionExpression": "attribute_exists(pk)"}},
            ]
        )
    assert err.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert client.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    assert "Item" not in client.get_item(TableName="t", Key={"pk": {"S": "new"}})


def test_committed_transaction_applies_everything(client: Any) -> None:
    client.transact_write_items(
        TransactItems=[{"Put": {"TableName": "t", "Item": {"pk": {"S": k}}}} for k in ("x", "y")]
    )
    assert "Item" in client.get_item(TableName="t", Key={"pk": {"S": "y"}})


def test_concurrent_transactions_and_reads_lose_nothing(client: Any) -> None:
    """Threads commit, get cancelled and query at once: no 500, no lost or resurrected write."""
    threads, rounds = 8, 40
    errors: list[str] = []
    barrier = threading.Barrier(threads + 1)

    def writer(n: int) -> None:
        barrier.wait()
        for i in range(rounds):
            try:
                client.transact_write_items(TransactItems=[add("total"), add(f"w{n}")])
                # Cancelled every time (its second item's condition fails), after its first
                # item was applied: the rollback must restore "total" only as it was.
                client.transact_write_items(
                    TransactItems=[
                        add("total", 1000),
                        {
                            "ConditionCheck": {
                                "TableName": "t",
                                "Key": {"pk": {"S": f"w{n}"}},
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                    ]
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    errors.append(f"{n}/{i}: {exc}")

    def reader() -> None:
        barrier.wait()
        for _ in range(rounds):
            try:
                client.scan(TableName="t")
            except ClientError as exc:
                errors.append(f"scan: {exc}")

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    workers.append(threading.Thread(target=reader))
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert errors == []
    assert count(client, "total") == threads * rounds
    assert [count(client, f"w{n}") for n in range(threads)] == [rounds] * threads


# -- ClientRequestToken ----------------------------------------------------------------------


def test_same_token_twice_applies_once(client: Any) -> None:
    token = str(uuid.uuid4())
    client.transact_write_items(TransactItems=[add("a")], ClientRequestToken=token)
    # DynamoDB's answer to the SDK's retry of a write that did commit: success, nothing applied.
    answer = client.transact_write_items(TransactItems=[add("a")], ClientRequestToken=token)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert count(client, "a") == 1
    client.transact_write_items(TransactItems=[add("a")], ClientRequestToken=str(uuid.uuid4()))
    assert count(client, "a") == 2


def test_same_token_with_other_items_is_refused(client: Any) -> None:
    token = str(uuid.uuid4())
    client.transact_write_items(TransactItems=[add("a")], ClientRequestToken=token)
    with pytest.raises(ClientError) as err:
        client.transact_write_items(TransactItems=[add("a", 2)], ClientRequestToken=token)
    assert err.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert count(client, "a") == 1


def test_a_cancelled_transaction_is_not_remembered(client: Any) -> None:
    token = str(uuid.uuid4())
    guard = {"TableName": "t", "Key": {"pk": {"S": "g"}}, "ConditionExpression": "attribute_exists(pk)"}
    guarded = [add("a"), {"ConditionCheck": guard}]
    with pytest.raises(ClientError) as err:
        client.transact_write_items(TransactItems=guarded, ClientRequestToken=token)
    assert err.value.response["Error"]["Code"] == "TransactionCanceledException"
    client.put_item(TableName="t", Item={"pk": {"S": "g"}})
    client.transact_write_items(TransactItems=guarded, ClientRequestToken=token)
    assert count(client, "a") == 1


def test_without_a_token_every_call_applies(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore fills in a fresh token for every call that has none; this client sends none.
    client.meta.events.unregister("before-parameter-build", handlers.generate_idempotent_uuid)
    sent: list[dict[str, Any]] = []
    client.meta.events.register("before-call.dynamodb.TransactWriteItems", lambda params, **_: sent.append(params))
    client.transact_write_items(TransactItems=[add("a")])
    client.transact_write_items(TransactItems=[add("a")])
    assert count(client, "a") == 2
    assert len(sent) == 2
    assert all(b"ClientRequestToken" not in bytes(p["body"]) for p in sent)


def test_tokens_expire_and_are_bounded(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [time.monotonic()]
    monkeypatch.setattr(moto_transactions, "_now", lambda: now[0])
    monkeypatch.setattr(moto_transactions, "MAX_TOKENS", 3)
    old = str(uuid.uuid4())
    client.transact_write_items(TransactItems=[add("a")], ClientRequestToken=old)
    now[0] += moto_transactions.TOKEN_TTL_SECONDS + 1
    # Past 10 minutes the token is a new request, as in DynamoDB.
    client.transact_write_items(TransactItems=[add("a")], ClientRequestToken=old)
    assert count(client, "a") == 2
    for _ in range(5):
        client.transact_write_items(TransactItems=[add("b")], ClientRequestToken=str(uuid.uuid4()))
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends["123456789012"]["us-east-1"]
    assert len(moto_transactions._tokens_of(backend).seen) == 3


def test_moto_keeps_no_item_it_no_longer_stores(client: Any) -> None:
    """moto's instance tracking would keep every item ever written (and every whole-table copy)."""
    from moto.dynamodb.models.dynamo_type import Item

    tracked = len(Item.instances_tracked)  # type: ignore[attr-defined]
    for n in range(50):
        client.put_item(TableName="t", Item={"pk": {"S": "churn"}, "n": {"N": str(n)}})
        client.transact_write_items(TransactItems=[add("churn"), add("other")])
    client.delete_item(TableName="t", Key={"pk": {"S": "churn"}})
    assert len(Item.instances_tracked) == tracked  # type: ignore[attr-defined]
