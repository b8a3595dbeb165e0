"""The deployed resources as CloudFormation, generated from the models so the table cannot drift.

`python -m chalicelib.cli write-infra` writes infra/resources.json, which `chalice package
--merge-template` merges into the generated SAM template; a test checks the file is current.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.store.models import TableItem

STAGE = "prod"
TABLE_NAME = f"sartiq-products-{STAGE}"
IMAGES_BUCKET = f"sartiq-products-images-{STAGE}"
EXPORTS_BUCKET = f"sartiq-products-exports-{STAGE}"
SECRET_REFERENCE = "{{resolve:secretsmanager:sartiq-products/" + STAGE + ":SecretString:secret_key}}"


def _key_schema(entries: Sequence[Any]) -> list[dict[str, str]]:
    # HASH first, as CloudFormation requires.
    return sorted(
        ({"AttributeName": e["AttributeName"], "KeyType": e["KeyType"]} for e in entries),
        key=lambda e: e["KeyType"] != "HASH",
    )


def table_properties() -> dict[str, Any]:
    schema = TableItem._get_schema()
    indexes = []
    for index in sorted(schema["global_secondary_indexes"], key=lambda i: i["index_name"]):
        indexes.append(
            {
                "IndexName": index["index_name"],
                "KeySchema": _key_schema(index["key_schema"]),
                "Projection": index["projection"],
            }
        )
    return {
        "TableName": TABLE_NAME,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": sorted(schema["attribute_definitions"], key=lambda a: a["AttributeName"]),
        "KeySchema": _key_schema(schema["key_schema"]),
        "GlobalSecondaryIndexes": indexes,
        "TimeToLiveSpecification": {"AttributeName": "expires_at_ttl", "Enabled": True},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }


def _bucket(name: str, expire_days: int | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "BucketName": name,
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    }
    if expire_days:
        props["LifecycleConfiguration"] = {
            "Rules": [{"Id": "expire-exports", "Status": "Enabled", "ExpirationInDays": expire_days}]
        }
    return {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "Properties": props}


def resources() -> dict[str, Any]:
    return {
        "Resources": {
            "ProductsTable": {
                "Type": "AWS::DynamoDB::Table",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": table_properties(),
            },
            "ImagesBucket": _bucket(IMAGES_BUCKET),
            "ExportsBucket": _bucket(EXPORTS_BUCKET, expire_days=7),
            "APIHandler": {
                "Properties": {
                    "Environment": {
                        "Variables": {
                            "TABLE_NAME": {"Ref": "ProductsTable"},
                            "IMAGES_BUCKET": {"Ref": "ImagesBucket"},
                            "EXPORTS_BUCKET": {"Ref": "ExportsBucket"},
                            "SECRET_KEY": SECRET_REFERENCE,
                        }
                    }
                }
            },
        }
    }
