"""The test harness's moto patch keeps DynamoDB's all-or-nothing transactions."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.support.moto_transactions import item_level_transactions


@pytest.fixture
def table() -> Iterator[object]:
    with mock_aws(), item_level_transactions():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def test_cancelled_transaction_changes_nothing(table: object) -> None:
    client = table
    client.put_item(TableName="t", Item={"pk": {"S": "a"}, "n": {"N": "1"}})  # type: ignore[attr-defined]
    with pytest.raises(ClientError) as err:
        client.transact_write_items(  # type: ignore[attr-defined]
            TransactItems=[
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"pk": {"S": "a"}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "new"}}}},
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "b"}}, "ConditionExpression": "attribute_exists(pk)"}},
            ]
        )
    assert err.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert client.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}  # type: ignore[attr-defined]
    assert "Item" not in client.get_item(TableName="t", Key={"pk": {"S": "new"}})  # type: ignore[attr-defined]


def test_committed_transaction_applies_everything(table: object) -> None:
    client = table
    client.transact_write_items(  # type: ignore[attr-defined]
        TransactItems=[{"Put": {"TableName": "t", "Item": {"pk": {"S": k}}}} for k in ("x", "y")]
    )
    assert "Item" in client.get_item(TableName="t", Key={"pk": {"S": "y"}})  # type: ignore[attr-defined]
