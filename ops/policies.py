"""Each function's IAM policy: what that function calls, on its own stage's resources only.

`python -m ops.cli write-infra` writes them to .chalice/policy-<stage>-<function>.json, which
.chalice/config.json names per function (`lambda_functions.<name>.iam_policy_file`), so
`chalice package` gives every function a role of its own. `make template-check` then checks
every AWS call the tests recorded (tests/support/aws_calls.py) against the policy of the
function that made it in the packaged template, action and resource, and lists every grant no
recorded call used: a grant stays only with the reason below (`unrecorded`), for calls that
AWS makes with the function's role rather than the code (the SQS poller, the logs, X-Ray).

Static files cannot name the account or region (chalice copies them into the template as
they are): those are wildcards, and the names carry the stage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib import queues
from chalicelib.config import Settings
from ops.template import CHALICE_CONFIG, Names, xray_enabled

API = "api_handler"
FUNCTIONS = (API, queues.MEDIA_HANDLER, queues.CAPTION_HANDLER, queues.EXPORT_HANDLER, queues.SWEEPER_HANDLER)
CAPTION_MODEL_ID = str(Settings.model_fields["bedrock_model_id"].default)

# What Lambda's SQS poller calls with the function's role for an event source mapping.
EVENT_SOURCE = "Lambda's SQS event source mapping polls the queue with the function's role"
LOGS = "Lambda's runtime writes the function's logs with its role (the template creates the log group)"
XRAY = "X-Ray's daemon in Lambda sends the traces with the function's role; X-Ray has no resource types"
MISSING_KEY = "S3 answers a missing key 404 only to a role that may list the bucket (moto always answers 404)"


@dataclass(frozen=True)
class Grant:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    # Why the grant stays although no call the tests recorded uses it (None: a recorded call must).
    unrecorded: str | None = None


def _table(names: Names, *indexes: str) -> tuple[str, ...]:
    table = f"arn:aws:dynamodb:*:*:table/{names.table}"
    return (table, *(f"{table}/index/{index}" for index in indexes))


def _objects(bucket: str, *prefixes: str) -> tuple[str, ...]:
    return tuple(f"arn:aws:s3:::{bucket}/{prefix}*" for prefix in prefixes)


def _queue(names: Names, *local_names: str) -> tuple[str, ...]:
    return tuple(f"arn:aws:sqs:*:*:{names.queue(name)}" for name in local_names)


def _common(names: Names, function: str) -> list[Grant]:
    grants = [
        Grant(
            "Logs",
            ("logs:CreateLogStream", "logs:PutLogEvents"),
            (f"arn:aws:logs:*:*:log-group:/aws/lambda/{names.function(function)}:*",),
            unrecorded=LOGS,
        )
    ]
    if xray_enabled(function, names.stage):
        grants.append(Grant("Traces", ("xray:PutTraceSegments", "xray:PutTelemetryRecords"), ("*",), unrecorded=XRAY))
    return grants


def _event_source(names: Names, queue: str) -> Grant:
    return Grant(
        "EventSource",
        ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
        _queue(names, queue),
        unrecorded=EVENT_SOURCE,
    )


def _bedrock() -> Grant:
    return Grant("Captions", ("bedrock:InvokeModel",), (f"arn:aws:bedrock:*::foundation-model/{CAPTION_MODEL_ID}",))


def grants(function: str, stage: str) -> list[Grant]:
    names = Names(stage)
    images, exports = names.images_bucket, names.exports_bucket
    if function == API:
        own = [
            Grant(
                "Table",
                (
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:ConditionCheckItem",
                    "dynamodb:Query",
                    "dynamodb:BatchGetItem",
                    "dynamodb:BatchWriteItem",
                ),
                _table(names),
            ),
            Grant("TableIndexes", ("dynamodb:Query",), _table(names, "*")[1:]),
            # Presigned upload forms and previews, and an upload copied to a product (uploads/:
            # expired by the bucket's lifecycle, never deleted by the API).
            Grant("Uploads", ("s3:GetObject", "s3:PutObject"), _objects(images, queues.UPLOADS_PREFIX)),
            # The service's own copies of images, a product's generations' included.
            Grant("Images", ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"), _objects(images, "products/")),
            Grant("ImagesPrefixes", ("s3:ListBucket",), (f"arn:aws:s3:::{images}",)),
            # Download URLs (presigned GET), and a dismissed task's objects removed.
            Grant(
                "Exports",
                ("s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"),
                _objects(exports, "exports/"),
            ),
            Grant("ExportsPrefixes", ("s3:ListBucket", "s3:ListBucketMultipartUploads"), (f"arn:aws:s3:::{exports}",)),
            Grant("Jobs", ("sqs:SendMessage",), _queue(names, queues.CAPTION_QUEUE, queues.EXPORT_QUEUE)),
            # POST /products/ with sync_captioning=true captions within the request.
            _bedrock(),
            Grant(
                "SigningKeys",
                ("secretsmanager:GetSecretValue",),
                (f"arn:aws:secretsmanager:*:*:secret:{names.signing_keys_secret}-??????",),
            ),
        ]
    elif function == queues.MEDIA_HANDLER:
        own = [
            Grant("Table", ("dynamodb:GetItem", "dynamodb:UpdateItem"), _table(names)),
            Grant("Uploads", ("s3:GetObject", "s3:DeleteObject"), _objects(images, queues.UPLOADS_PREFIX)),
            # Without it S3 answers a key that is gone with 403, not the 404 the ingest treats as
            # "the object changed" (an event read after the lifecycle removed its upload).
            Grant("UploadsGone", ("s3:ListBucket",), (f"arn:aws:s3:::{images}",), unrecorded=MISSING_KEY),
            _event_source(names, queues.MEDIA_QUEUE),
        ]
    elif function == queues.CAPTION_HANDLER:
        own = [
            Grant("Table", ("dynamodb:GetItem", "dynamodb:UpdateItem"), _table(names)),
            Grant("Images", ("s3:GetObject",), _objects(images, "products/")),
            _bedrock(),
            # A caption job's backoff before its next delivery.
            Grant("Backoff", ("sqs:ChangeMessageVisibility",), _queue(names, queues.CAPTION_QUEUE)),
            _event_source(names, queues.CAPTION_QUEUE),
        ]
    elif function == queues.EXPORT_HANDLER:
        own = [
            # DeleteItem: the delayed clean-up removes the task's record.
            Grant(
                "Table",
                ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchGetItem"),
                _table(names),
            ),
            # The looks of a task's products (their shots are what it exports).
            Grant("TableIndexes", ("dynamodb:Query",), _table(names, "looks")[1:]),
            Grant("Images", ("s3:GetObject",), _objects(images, "products/")),
            Grant(
                "Exports",
                ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"),
                _objects(exports, "exports/"),
            ),
            Grant("ExportsPrefixes", ("s3:ListBucket", "s3:ListBucketMultipartUploads"), (f"arn:aws:s3:::{exports}",)),
            # Continuations after a checkpoint and the delayed cleanup; a job's delay.
            Grant("Jobs", ("sqs:SendMessage", "sqs:ChangeMessageVisibility"), _queue(names, queues.EXPORT_QUEUE)),
            _event_source(names, queues.EXPORT_QUEUE),
        ]
    elif function == queues.SWEEPER_HANDLER:
        own = [
            # DeleteItem: a dead clean-up, run once more, removes the task's record.
            Grant("Table", ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"), _table(names)),
            # A dead upload's object, deleted on condition of its ETag (which S3 authorizes as a
            # read too).
            Grant("Uploads", ("s3:GetObject", "s3:DeleteObject"), _objects(images, queues.UPLOADS_PREFIX)),
            # A dead run's archive (its checkpoint names the upload to abort); a dead clean-up run
            # once more (it lists the task's objects and open uploads).
            Grant(
                "Exports",
                ("s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"),
                _objects(exports, "exports/"),
            ),
            Grant("ExportsPrefixes", ("s3:ListBucket", "s3:ListBucketMultipartUploads"), (f"arn:aws:s3:::{exports}",)),
            Grant(
                "DeadLetters",
                ("sqs:ReceiveMessage", "sqs:DeleteMessage"),
                _queue(names, queues.MEDIA_DLQ, queues.CAPTION_DLQ, queues.EXPORT_DLQ),
            ),
        ]
    else:
        raise ValueError(f"no policy for function {function!r}")
    return own + _common(names, function)


def document(function: str, stage: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": grant.sid,
                "Effect": "Allow",
                "Action": list(grant.actions),
                "Resource": list(grant.resources) if len(grant.resources) > 1 else grant.resources[0],
            }
            for grant in grants(function, stage)
        ],
    }


def file_name(function: str, stage: str) -> str:
    return f"policy-{stage}-{function}.json"


def path(function: str, stage: str) -> Path:
    return CHALICE_CONFIG.parent / file_name(function, stage)


def unrecorded_reasons(function: str, stage: str) -> dict[tuple[str, str], str]:
    """(action, resource) granted without a recorded call, with the reason."""
    return {
        (action, resource): grant.unrecorded
        for grant in grants(function, stage)
        if grant.unrecorded
        for action in grant.actions
        for resource in grant.resources
    }


def render(function: str, stage: str) -> str:
    return json.dumps(document(function, stage), indent=2) + "\n"
