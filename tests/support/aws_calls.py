"""Every AWS call the code makes during the tests, as IAM sees it: (function, action, resource).

Installed by tests/conftest.py for the whole session. Each call is recorded under the function
that would make it on Lambda: requests as the API handler (a Chalice middleware), each worker's
`handle` as that worker, and what runs on a thread started from either (the caption thread
copies its context). Calls made outside any function (a test's set-up, moto's own resets) are
not recorded: no deployed role makes them.

A call is translated into what IAM authorizes: an operation may need another action than its
name (HeadObject is s3:GetObject), several actions (CopyObject reads one object and writes
another) or one per item (a DynamoDB transaction is authorized item by item). A presigned URL
or form is recorded as the request it signs: the browser that uses it acts with the signing
function's role.

At the end of the session each test process writes what it recorded to
`test-results/aws-calls/<worker>.jsonl`; `python -m ops.policy_check` checks those against each
function's policy in the packaged template (`make template-check`).
"""

from __future__ import annotations

import contextvars
import functools
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import botocore.client
import botocore.signers

# Not under build/: `chalice package` empties that directory.
OUTPUT = Path(__file__).resolve().parents[2] / "test-results" / "aws-calls"

_function: contextvars.ContextVar[str | None] = contextvars.ContextVar("aws_calls_function", default=None)
_recorded: set[tuple[str, str, str]] = set()
_lock = threading.Lock()
_original_make_api_call: Any = None
_original_presigned_url: Any = None
_original_presigned_post: Any = None

REGION = "us-east-1"
# The name the tests give the signing keys' secret in moto's Secrets Manager.
SIGNING_KEYS_SECRET = "test/signing-keys"
# moto's account: ops/policy_check.py maps it, and the test resources' names, to the stage's.
ACCOUNT = "123456789012"


@contextmanager
def acting_as(function: str) -> Iterator[None]:
    token = _function.set(function)
    try:
        yield
    finally:
        _function.reset(token)


def as_function[**P, R](function: str, handler: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with acting_as(function):
            return handler(*args, **kwargs)

    return wrapper


def current_function() -> str | None:
    """The function the code now runs as (None outside any)."""
    return _function.get()


def recorded() -> set[tuple[str, str, str]]:
    with _lock:
        return set(_recorded)


_ROOT = Path(__file__).resolve().parents[2]
_CODE = (str(_ROOT / "chalicelib") + os.sep, str(_ROOT / "app.py"))
_TESTS = str(_ROOT / "tests") + os.sep


def _made_by_the_code() -> bool:
    """Whether the nearest of our own frames up the stack is the service's code, not a test's.

    A test's helper may call AWS while a function runs (a stand-in ingest that counts the
    queue's messages): no deployed role makes that call.
    """
    frame = sys._getframe(3)  # above this, _record and _make_api_call (or a presigning hook)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(_CODE):
            return True
        if filename.startswith(_TESTS):
            return False
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _record(service: str, operation: str, params: dict[str, Any], region: str, account: str) -> None:
    function = _function.get()
    if function is None or not _made_by_the_code():
        return
    calls = {
        (function, action, resource) for action, resource in iam_requests(service, operation, params, region, account)
    }
    with _lock:
        _recorded.update(calls)


# --- IAM's view of an API call -------------------------------------------------------------------

_S3_ACTIONS = {
    "HeadObject": "s3:GetObject",
    "GetObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListParts": "s3:ListMultipartUploadParts",
    "DeleteObject": "s3:DeleteObject",
}
_S3_BUCKET_ACTIONS = {
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
}
_DYNAMODB_TRANSACT = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
_BEDROCK_ACTIONS = {
    "Converse": "bedrock:InvokeModel",
    "InvokeModel": "bedrock:InvokeModel",
    "ConverseStream": "bedrock:InvokeModelWithResponseStream",
    "InvokeModelWithResponseStream": "bedrock:InvokeModelWithResponseStream",
}


def _table_arn(region: str, account: str, table: str, index: str | None = None) -> str:
    arn = f"arn:aws:dynamodb:{region}:{account}:table/{table}"
    return f"{arn}/index/{index}" if index else arn


def _object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def queue_arn(url: str) -> str:
    """arn:aws:sqs:<region>:<account>:<name> from a queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)."""
    parsed = urlparse(url)
    account, name = parsed.path.strip("/").split("/")[-2:]
    host = parsed.hostname or ""
    region = host.split(".")[1] if host.startswith("sqs.") else REGION
    return f"arn:aws:sqs:{region}:{account}:{name}"


def iam_requests(
    service: str, operation: str, params: dict[str, Any], region: str = REGION, account: str = ACCOUNT
) -> list[tuple[str, str]]:
    """The (action, resource ARN) pairs IAM authorizes for one API call."""
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            out = []
            for item in params["TransactItems"]:
                ((kind, body),) = item.items()
                out.append((_DYNAMODB_TRANSACT[kind], _table_arn(region, account, body["TableName"])))
            return out
        if operation == "TransactGetItems":
            return [
                ("dynamodb:GetItem", _table_arn(region, account, item["Get"]["TableName"]))
                for item in params["TransactItems"]
            ]
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", _table_arn(region, account, t)) for t in params["RequestItems"]]
        if "TableName" in params:
            return [
                (f"dynamodb:{operation}", _table_arn(region, account, params["TableName"], params.get("IndexName")))
            ]
        return [(f"dynamodb:{operation}", "*")]
    if service == "s3":
        bucket = params.get("Bucket", "")
        if operation == "CopyObject":
            source = params["CopySource"]
            if isinstance(source, str):
                src_bucket, _, src_key = source.lstrip("/").partition("/")
            else:
                src_bucket, src_key = source["Bucket"], source["Key"]
            return [
                ("s3:GetObject", _object_arn(src_bucket, src_key)),
                ("s3:PutObject", _object_arn(bucket, params["Key"])),
            ]
        if operation == "DeleteObjects":
            out = []
            for entry in params["Delete"]["Objects"]:
                out.append(("s3:DeleteObject", _object_arn(bucket, entry["Key"])))
                if "ETag" in entry:
                    out.append(("s3:GetObject", _object_arn(bucket, entry["Key"])))
            return out
        if operation == "DeleteObject" and "IfMatch" in params:
            # S3: a delete conditioned on the ETag needs s3:GetObject as well as s3:DeleteObject.
            key = _object_arn(bucket, params["Key"])
            return [("s3:DeleteObject", key), ("s3:GetObject", key)]
        if operation in _S3_ACTIONS:
            return [(_S3_ACTIONS[operation], _object_arn(bucket, params["Key"]))]
        if operation in _S3_BUCKET_ACTIONS:
            return [(_S3_BUCKET_ACTIONS[operation], f"arn:aws:s3:::{bucket}")]
        return [(f"s3:{operation}", f"arn:aws:s3:::{bucket}")]
    if service == "sqs":
        if operation == "GetQueueUrl":
            return [("sqs:GetQueueUrl", f"arn:aws:sqs:{region}:{account}:{params['QueueName']}")]
        if operation == "SendMessageBatch":
            return [("sqs:SendMessage", queue_arn(params["QueueUrl"]))]
        if operation == "DeleteMessageBatch":
            return [("sqs:DeleteMessage", queue_arn(params["QueueUrl"]))]
        if operation == "ChangeMessageVisibilityBatch":
            return [("sqs:ChangeMessageVisibility", queue_arn(params["QueueUrl"]))]
        return [(f"sqs:{operation}", queue_arn(params["QueueUrl"]))]
    if service == "bedrock-runtime":
        model = params["modelId"]
        arn = model if model.startswith("arn:") else f"arn:aws:bedrock:{region}::foundation-model/{model}"
        return [(_BEDROCK_ACTIONS.get(operation, f"bedrock:{operation}"), arn)]
    if service == "secretsmanager":
        secret = params["SecretId"]
        arn = secret if secret.startswith("arn:") else f"arn:aws:secretsmanager:{region}:{account}:secret:{secret}"
        return [(f"secretsmanager:{operation}", arn)]
    return [(f"{service}:{operation}", "*")]


# --- hooks ------------------------------------------------------------------------------------------


def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
    if _function.get() is not None:
        meta = self.meta
        _record(meta.service_model.service_name, operation_name, api_params, meta.region_name, ACCOUNT)
    return _original_make_api_call(self, operation_name, api_params)


def _presigned_url(self: Any, ClientMethod: str, Params: Any = None, *args: Any, **kwargs: Any) -> Any:
    if _function.get() is not None:
        operation = self._PY_TO_OP_NAME[ClientMethod]
        meta = self.meta
        _record(meta.service_model.service_name, operation, dict(Params or {}), meta.region_name, ACCOUNT)
    return _original_presigned_url(self, ClientMethod, Params, *args, **kwargs)


def _presigned_post(self: Any, Bucket: str, Key: str, *args: Any, **kwargs: Any) -> Any:
    if _function.get() is not None:
        meta = self.meta
        params = {"Bucket": Bucket, "Key": Key}
        _record(meta.service_model.service_name, "PutObject", params, meta.region_name, ACCOUNT)
    return _original_presigned_post(self, Bucket, Key, *args, **kwargs)


def install() -> None:
    """Record from now on. Clients made before keep their presigning methods: install first."""
    global _original_make_api_call, _original_presigned_url, _original_presigned_post
    if _original_make_api_call is not None:
        return
    _original_make_api_call = botocore.client.BaseClient._make_api_call
    botocore.client.BaseClient._make_api_call = _make_api_call
    # botocore adds these to each client class it makes, looking the module's names up then.
    _original_presigned_url = botocore.signers.generate_presigned_url
    _original_presigned_post = botocore.signers.generate_presigned_post
    botocore.signers.generate_presigned_url = _presigned_url  # type: ignore[assignment]
    botocore.signers.generate_presigned_post = _presigned_post  # type: ignore[assignment]


def write(worker: str) -> Path | None:
    calls = recorded()
    if not calls:
        return None
    from chalicelib.config import get_settings

    OUTPUT.mkdir(parents=True, exist_ok=True)
    settings = get_settings()
    # The test run's names, which the checker renames to the packaged stage's.
    names = {
        "table": settings.table_name,
        "images_bucket": settings.images_bucket,
        "exports_bucket": settings.exports_bucket,
        "signing_keys_secret": SIGNING_KEYS_SECRET,
    }
    (OUTPUT / "names.json").write_text(json.dumps(names))
    path = OUTPUT / f"{worker}.jsonl"
    lines = [json.dumps({"function": f, "action": a, "resource": r}) for f, a, r in sorted(calls)]
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)
    return path
