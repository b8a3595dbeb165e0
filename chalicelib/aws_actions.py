"""The IAM actions the deployed functions use, each with the code that needs it.

tests/unit/test_template_checks.py fails when .chalice/policy-<stage>.json lacks one. Keep this
list current when the code starts calling another AWS API (boto3 client methods, PynamoDB model
operations, Powertools utilities). DynamoDB transactions have no IAM action of their own:
TransactWriteItems is authorized per item as PutItem, UpdateItem, DeleteItem or ConditionCheckItem.
"""

from __future__ import annotations

AWS_ACTIONS: tuple[str, ...] = (
    # Model.get (store/table.py get_item, the repositories); idempotency records (services/exports.py).
    "dynamodb:GetItem",
    # Model.save, transactions' puts (store/table.py Transaction); idempotency records.
    "dynamodb:PutItem",
    # Model.update, transactions' updates (counters, registry, shots); idempotency records.
    "dynamodb:UpdateItem",
    # Model.delete, transactions' deletes; idempotency records (deleted when a call fails).
    "dynamodb:DeleteItem",
    # Transactions' condition checks (store/shootings.py, store/generations.py tx.condition_check).
    "dynamodb:ConditionCheckItem",
    # Model.query and the GSIs' queries (listings, members, looks, exports).
    "dynamodb:Query",
    # Model.batch_get (products' pages, exports, shootings).
    "dynamodb:BatchGetItem",
    # Model.batch_write (store/products.py and store/generations.py deletes of children).
    "dynamodb:BatchWriteItem",
    # put_object (store/blobs.py, export checkpoints), copy_object's target, presigned POST
    # (uploads), create_multipart_upload/upload_part/complete_multipart_upload (export ZIP).
    "s3:PutObject",
    # get_object (captions' images, export manifest and checkpoints), head_object, copy_object's
    # source, presigned GET (export download URLs).
    "s3:GetObject",
    # delete_object and delete_objects (store/blobs.py, export cleanup, checkpoints).
    "s3:DeleteObject",
    # list_objects_v2 (store/blobs.py delete_prefix, services/exports.py cleanup).
    "s3:ListBucket",
    # abort_multipart_upload (services/export_runs.py on failure, services/exports.py cleanup).
    "s3:AbortMultipartUpload",
    # list_multipart_uploads (services/exports.py _delete_objects).
    "s3:ListBucketMultipartUploads",
    # send_message (store/jobs.py: caption jobs, export jobs, continuations and cleanups).
    "sqs:SendMessage",
    # change_message_visibility (store/jobs.py JobQueue.delay: the caption worker's backoff).
    "sqs:ChangeMessageVisibility",
    # get_queue_url (store/jobs.py) when no queue URL (CAPTION_QUEUE_URL, MEDIA_DLQ_URL...) is set.
    "sqs:GetQueueUrl",
    # app.py's on_sqs_message event sources: Lambda polls the queues with the function's role;
    # receive_message and delete_message (store/jobs.py: the dead-letter sweeper's reads).
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    # bedrock-runtime converse (services/captioning/bedrock.py).
    "bedrock:InvokeModel",
    # The functions' logs (Lambda's runtime, Powertools' logger).
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    # Powertools' Tracer (aws-xray-sdk) hands segments to Lambda's X-Ray daemon, which sends
    # them with the function's role; Lambda refuses active tracing ("xray": true in
    # .chalice/config.json) to a role without these. X-Ray has no resource types: IAM needs "*".
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
)

# The only actions a policy may grant on every resource ("*"): X-Ray's trace writes have no
# resource type, so IAM cannot scope them. tests/unit/test_template_checks.py refuses "*" for
# anything else.
ANY_RESOURCE_ACTIONS: frozenset[str] = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
