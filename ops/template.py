"""The deployed resources as CloudFormation, generated from the models so the table cannot drift.

`python -m ops.cli write-infra` writes infra/resources.json, which `chalice package
--merge-template` merges into the generated SAM template; a test checks the file is current.

The merge is a deep merge by logical id: the functions' entries here (APIHandler, and the
workers named by chalice from their handler names) add to what chalice generates, they do
not replace it. The values that must agree with something else are derived from it, not
repeated: queue names and the uploads prefix from chalicelib.queues, the workers' timeouts
from .chalice/config.json (through chalice's own lookup), retry counts and retention from the
settings' defaults, the bucket's CORS rule from the local stack's, the API stage's throttle
(the defaults of two parameters) from the stage's `api_throttling` in .chalice/config.json, and
its X-Ray tracing from the stage's `xray`. The images bucket is read through CloudFront; its
domain is every function's MEDIA_BASE_URL.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.config import Config
from chalice.constants import DEFAULT_LAMBDA_TIMEOUT
from chalice.utils import to_cfn_resource_name

from chalicelib import queues
from chalicelib.config import Settings
from chalicelib.store.models import TableItem
from ops.gateway_responses import gateway_responses
from ops.local.resources import upload_cors

# The stage `make package` packages by default; every stage in .chalice/config.json gets its own
# infra/resources-<stage>.json and policies.
STAGE = "prod"
APP = "sartiq-products"


@dataclass(frozen=True)
class Names:
    """A stage's resource names: each carries the stage, so stages share an account without
    sharing a table, bucket, queue, function or secret, and each stage's policies name only its own.

    The local stack and the tests keep chalicelib.queues' names (one stage per moto server).
    """

    stage: str

    @property
    def table(self) -> str:
        return f"{APP}-{self.stage}"

    @property
    def images_bucket(self) -> str:
        return f"{APP}-images-{self.stage}"

    @property
    def exports_bucket(self) -> str:
        return f"{APP}-exports-{self.stage}"

    def queue(self, local_name: str) -> str:
        """chalicelib.queues' name with the stage: sartiq-products-media -> sartiq-products-prod-media."""
        if not local_name.startswith(f"{APP}-"):
            raise ValueError(f"queue {local_name!r} is not named {APP}-...")
        return f"{APP}-{self.stage}-{local_name.removeprefix(APP + '-')}"

    def function(self, handler: str) -> str:
        """The Lambda function's name (set in the template, so its log group's name is known)."""
        return f"{APP}-{self.stage}-{handler}"

    @property
    def signing_keys_secret(self) -> str:
        """The Secrets Manager secret holding the token signing keys, made before the first deploy."""
        return f"{APP}/{self.stage}/signing-keys"


def stages() -> list[str]:
    return sorted(json.loads(CHALICE_CONFIG.read_text())["stages"])


CHALICE_CONFIG = Path(__file__).resolve().parents[1] / ".chalice" / "config.json"

# chalice's logical ids: the API function is always APIHandler; an `on_sqs_message` handler's
# function is its name CamelCased, and its event `<name>-sqs-event-source` CamelCased.
API_FUNCTION = "APIHandler"
MEDIA_FUNCTION = to_cfn_resource_name(queues.MEDIA_HANDLER)
CAPTION_FUNCTION = to_cfn_resource_name(queues.CAPTION_HANDLER)
EXPORT_FUNCTION = to_cfn_resource_name(queues.EXPORT_HANDLER)
# A `schedule` handler's function is its name CamelCased too.
SWEEPER_FUNCTION = to_cfn_resource_name(queues.SWEEPER_HANDLER)

# The queues' logical ids, by the handler each one feeds.
HANDLER_QUEUES = {
    queues.MEDIA_HANDLER: "MediaQueue",
    queues.CAPTION_HANDLER: "CaptionQueue",
    queues.EXPORT_HANDLER: "ExportQueue",
}


HANDLER_QUEUE_NAMES = {
    queues.MEDIA_HANDLER: queues.MEDIA_QUEUE,
    queues.CAPTION_HANDLER: queues.CAPTION_QUEUE,
    queues.EXPORT_HANDLER: queues.EXPORT_QUEUE,
}


def sqs_event_name(handler: str) -> str:
    return to_cfn_resource_name(f"{handler}-sqs-event-source")


# Template parameters.
STUDIO_ORIGINS = "StudioOrigins"
CAPTION_MODEL = "CaptionModelId"
THROTTLE_RATE = "ApiThrottleRateLimit"
THROTTLE_BURST = "ApiThrottleBurstLimit"
SIGNING_KEYS_SECRET = "SigningKeysSecretArn"
DEFAULT_STUDIO_ORIGINS = "https://studio.sartiq.com"

# The images CDN. The bucket stays private: CloudFront signs its requests (Origin Access
# Control, SigV4) and the bucket policy lets that one distribution read product images only.
# uploads/ holds what browsers posted, unchecked until the ingest worker has read it (and an
# upload no product used until it expires): the CDN does not serve it. A product's images,
# its generations' included, are the service's own copies under products/<id>/ (store/blobs.py,
# store/generations.py).
PUBLIC_IMAGES_PREFIX = "products/"
DISTRIBUTION = "ImagesDistribution"
ORIGIN_ACCESS_CONTROL = "ImagesOriginAccessControl"
IMAGES_ORIGIN = "images-bucket"
# CloudFront's managed policies: CachingOptimized (no query strings, headers or cookies in the
# key: an object's URL never changes content, a new image gets a new key) and
# SecurityHeadersPolicy (nosniff among others: an image is never taken for a page or a script).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"
MEDIA_BASE_URL = {"Fn::Sub": f"https://${{{DISTRIBUTION}.DomainName}}"}

_DEFAULTS = Settings.model_fields
# The caption worker marks a job FAILED on its last delivery, counting deliveries as the queue
# does; the queue's maxReceiveCount is the same number, so a job's message reaches the
# dead-letter queue exactly when the worker has given up on it. The deployed functions do not
# set CAPTION_MAX_ATTEMPTS, so the setting's default is the number both use.
CAPTION_MAX_RECEIVES = int(_DEFAULTS["caption_max_attempts"].default)
# An S3 event that fails five times (an unreadable object, a bug) waits in the dead-letter queue.
MEDIA_MAX_RECEIVES = 5
# The export worker likewise marks a task FAILED on the last delivery of its message (a run's
# continuation after a checkpoint is a new message, so the count is per run, not per export).
EXPORT_MAX_RECEIVES = int(_DEFAULTS["export_max_attempts"].default)
# The captioner's model: the policies in .chalice grant InvokeModel on this model only.
CAPTION_MODEL_ID = str(_DEFAULTS["bedrock_model_id"].default)
# An upload no product copied is removed with its record (whose TTL is the retention); S3's
# lifecycle counts whole days.
UPLOAD_EXPIRE_DAYS = max(1, math.ceil(int(_DEFAULTS["upload_retention_hours"].default) / 24))
# An export's objects are deleted by the delayed cleanup message after its download URL is
# handed out (or on dismiss); this expiry is the backstop for tasks abandoned before that.
EXPORT_EXPIRE_DAYS = 7
# How long the images bucket keeps an overwritten or deleted version of an object.
NONCURRENT_DAYS = 30
# A multipart upload nobody completed or aborted (a worker that died mid-part) costs storage
# until aborted: S3 aborts it after a day, in both buckets.
ABORT_MULTIPART_DAYS = 1

# AWS's guidance for a queue that is a Lambda event source: a visibility timeout of at least six
# times the function's timeout (plus the batching window, 0 here), so that a batch retried
# after throttling is not delivered again while still being processed.
VISIBILITY_TIMEOUT_FACTOR = 6
# SQS's largest visibility timeout (12 hours).
MAX_VISIBILITY_TIMEOUT = 12 * 3600
# A message keeps its first enqueue time in the dead-letter queue, so that queue keeps messages
# longer than the source queue does (SQS's default there, stated; its maximum here).
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
DLQ_RETENTION_SECONDS = 14 * 24 * 3600


def function_timeout(handler: str, stage: str = STAGE) -> int:
    """The function's timeout as `chalice package` resolves it from .chalice/config.json."""
    config = Config(
        chalice_stage=stage,
        function_name=handler,
        config_from_disk=json.loads(CHALICE_CONFIG.read_text()),
        default_params={"lambda_timeout": DEFAULT_LAMBDA_TIMEOUT},
    )
    return int(config.lambda_timeout)


def log_retention_days(handler: str = "api_handler", stage: str = STAGE) -> int | None:
    """The function's log retention as `chalice package` resolves it from .chalice/config.json."""
    config = Config(chalice_stage=stage, function_name=handler, config_from_disk=json.loads(CHALICE_CONFIG.read_text()))
    days = config.log_retention_in_days
    return int(days) if days else None


def _stage_config(stage: str) -> tuple[dict[str, Any], dict[str, Any]]:
    config: dict[str, Any] = json.loads(CHALICE_CONFIG.read_text())
    return config.get("stages", {}).get(stage, {}), config


def api_throttling(stage: str = STAGE) -> tuple[float, int]:
    """The stage's API throttle (requests per second, burst) from .chalice/config.json's
    `api_throttling` {rate_limit, burst_limit}: the stage's, else the top level's (chalice's own
    precedence). chalice does not read the key; the template's parameters take it as defaults."""
    staged, config = _stage_config(stage)
    throttle = staged.get("api_throttling", config.get("api_throttling"))
    if not isinstance(throttle, dict) or not {"rate_limit", "burst_limit"} <= set(throttle):
        raise ValueError(f"{CHALICE_CONFIG}: set api_throttling {{rate_limit, burst_limit}} for stage {stage}")
    rate, burst = throttle["rate_limit"], throttle["burst_limit"]
    if isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0:
        raise ValueError(f"api_throttling.rate_limit: {rate!r} is not a positive number")
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
        raise ValueError(f"api_throttling.burst_limit: {burst!r} is not a positive integer")
    return rate, burst


def xray_enabled(handler: str = "api_handler", stage: str = STAGE) -> bool:
    """Whether `chalice package` turns X-Ray tracing on (.chalice/config.json's `xray`)."""
    config = Config(chalice_stage=stage, function_name=handler, config_from_disk=json.loads(CHALICE_CONFIG.read_text()))
    return bool(config.xray_enabled)


def _key_schema(entries: Sequence[Any]) -> list[dict[str, str]]:
    # HASH first, as CloudFormation requires.
    return sorted(
        ({"AttributeName": e["AttributeName"], "KeyType": e["KeyType"]} for e in entries),
        key=lambda e: e["KeyType"] != "HASH",
    )


def table_properties(stage: str = STAGE) -> dict[str, Any]:
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
        "TableName": Names(stage).table,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": sorted(schema["attribute_definitions"], key=lambda a: a["AttributeName"]),
        "KeySchema": _key_schema(schema["key_schema"]),
        "GlobalSecondaryIndexes": indexes,
        "TimeToLiveSpecification": {"AttributeName": "expires_at_ttl", "Enabled": True},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }


def _bucket(name: str, rules: list[dict[str, Any]] | None = None) -> dict[str, Any]:
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
    if rules:
        props["LifecycleConfiguration"] = {"Rules": rules}
    return {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": props}


def _cors_configuration() -> dict[str, Any]:
    """local/resources.py's rule (S3 API names) in CloudFormation's names, for the studio origins."""
    names = {
        "AllowedOrigins": "AllowedOrigins",
        "AllowedMethods": "AllowedMethods",
        "AllowedHeaders": "AllowedHeaders",
        "ExposeHeaders": "ExposedHeaders",
        "MaxAgeSeconds": "MaxAge",
    }
    rules = [{names[k]: v for k, v in rule.items()} for rule in upload_cors([])["CORSRules"]]
    for rule in rules:
        rule["AllowedOrigins"] = {"Ref": STUDIO_ORIGINS}
    return {"CorsRules": rules}


def _abort_multipart_rule() -> dict[str, Any]:
    return {
        "Id": "abort-incomplete-multipart-uploads",
        "Status": "Enabled",
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_MULTIPART_DAYS},
    }


def exports_bucket(stage: str = STAGE) -> dict[str, Any]:
    """Exports are written as multipart uploads (the ZIP, and checkpoints under the same prefix)."""
    return _bucket(
        Names(stage).exports_bucket,
        [
            {"Id": "expire-exports", "Status": "Enabled", "ExpirationInDays": EXPORT_EXPIRE_DAYS},
            _abort_multipart_rule(),
        ],
    )


def images_bucket(stage: str = STAGE) -> dict[str, Any]:
    bucket = _bucket(
        Names(stage).images_bucket,
        [
            {
                "Id": "expire-unused-uploads",
                "Status": "Enabled",
                "Prefix": queues.UPLOADS_PREFIX,
                "ExpirationInDays": UPLOAD_EXPIRE_DAYS,
                # An upload is nobody's image until ingested and copied: its old versions are not kept.
                "NoncurrentVersionExpiration": {"NoncurrentDays": UPLOAD_EXPIRE_DAYS},
            },
            # Versioned: a mistaken delete or overwrite of a product's image can be undone for
            # NONCURRENT_DAYS; S3 then removes the old version and the delete marker.
            {
                "Id": "expire-noncurrent-versions",
                "Status": "Enabled",
                "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_DAYS},
            },
            {"Id": "remove-expired-delete-markers", "Status": "Enabled", "ExpiredObjectDeleteMarker": True},
            _abort_multipart_rule(),
        ],
    )
    props = bucket["Properties"]
    props["VersioningConfiguration"] = {"Status": "Enabled"}
    props["CorsConfiguration"] = _cors_configuration()
    props["NotificationConfiguration"] = {
        "QueueConfigurations": [
            {
                "Event": "s3:ObjectCreated:*",
                "Queue": {"Fn::GetAtt": ["MediaQueue", "Arn"]},
                "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": queues.UPLOADS_PREFIX}]}},
            }
        ]
    }
    # S3 sends a test message when the notification is configured and refuses it unless the
    # queue's policy already lets S3 send.
    bucket["DependsOn"] = ["MediaQueuePolicy"]
    return bucket


def images_cdn(stage: str = STAGE) -> dict[str, Any]:
    """CloudFront in front of the private images bucket: GET and HEAD over HTTPS only."""
    distribution_arn = {
        "Fn::Sub": f"arn:${{AWS::Partition}}:cloudfront::${{AWS::AccountId}}:distribution/${{{DISTRIBUTION}}}"
    }
    return {
        ORIGIN_ACCESS_CONTROL: {
            "Type": "AWS::CloudFront::OriginAccessControl",
            "Properties": {
                "OriginAccessControlConfig": {
                    "Name": Names(stage).images_bucket,
                    "Description": "CloudFront reads the images bucket with signed (SigV4) requests",
                    "OriginAccessControlOriginType": "s3",
                    "SigningBehavior": "always",
                    "SigningProtocol": "sigv4",
                }
            },
        },
        DISTRIBUTION: {
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {
                "DistributionConfig": {
                    "Enabled": True,
                    "Comment": f"{Names(stage).images_bucket}: product images",
                    "HttpVersion": "http2and3",
                    "IPV6Enabled": True,
                    # The cheapest edges (North America, Europe, Israel); other viewers are
                    # served from those, a little slower.
                    "PriceClass": "PriceClass_100",
                    "Origins": [
                        {
                            "Id": IMAGES_ORIGIN,
                            # The regional name: the global one can redirect while a new
                            # bucket's DNS propagates, and CloudFront would cache the redirect.
                            "DomainName": {"Fn::GetAtt": ["ImagesBucket", "RegionalDomainName"]},
                            "OriginAccessControlId": {"Fn::GetAtt": [ORIGIN_ACCESS_CONTROL, "Id"]},
                            # Required for an S3 origin; empty: no legacy origin access identity.
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                    "DefaultCacheBehavior": {
                        "TargetOriginId": IMAGES_ORIGIN,
                        "ViewerProtocolPolicy": "redirect-to-https",
                        "AllowedMethods": ["GET", "HEAD"],
                        "CachedMethods": ["GET", "HEAD"],
                        "Compress": True,
                        "CachePolicyId": CACHING_OPTIMIZED,
                        "ResponseHeadersPolicyId": SECURITY_HEADERS,
                    },
                }
            },
        },
        "ImagesBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "ImagesBucket"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ImagesDistributionReadsProductImages",
                            "Effect": "Allow",
                            # A service principal bound to one distribution is not public: the
                            # bucket's public access block stays on.
                            "Principal": {"Service": "cloudfront.amazonaws.com"},
                            "Action": "s3:GetObject",
                            "Resource": {
                                "Fn::Sub": f"arn:${{AWS::Partition}}:s3:::${{ImagesBucket}}/{PUBLIC_IMAGES_PREFIX}*"
                            },
                            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
                        }
                    ],
                },
            },
        },
    }


# API Gateway's access log, one JSON line per request, those it refuses itself (403, 413, 429)
# included. Never a header or the error message (an AWS signature error quotes the
# Authorization header): the error's type instead. The caller's user id is in the API
# function's own access line, under the same request id.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTimeEpoch",
    "sourceIp": "$context.identity.sourceIp",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "errorType": "$context.error.responseType",
}
ACCESS_LOG_GROUP = "ApiAccessLogGroup"


def rest_api(stage: str = STAGE) -> dict[str, Any]:
    """Additions to chalice's RestAPI (AWS::Serverless::Api): every method's throttle, from the
    parameters, the access log, and X-Ray tracing of the stage when the functions are traced."""
    properties: dict[str, Any] = {
        "MethodSettings": [
            {
                "HttpMethod": "*",
                "ResourcePath": "/*",
                "ThrottlingRateLimit": {"Ref": THROTTLE_RATE},
                "ThrottlingBurstLimit": {"Ref": THROTTLE_BURST},
            }
        ],
        "AccessLogSetting": {
            "DestinationArn": {"Fn::GetAtt": [ACCESS_LOG_GROUP, "Arn"]},
            "Format": json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":")),
        },
    }
    if xray_enabled(stage=stage):
        properties["TracingEnabled"] = True
    # API Gateway's own answers (unknown path, throttled, too large...) in the API's error shape.
    # A property of the API, not separate resources: SAM writes them into the API's definition,
    # so a redeploy of the stage keeps them.
    properties["GatewayResponses"] = gateway_responses(STUDIO_ORIGINS)
    log_group: dict[str, Any] = {"LogGroupName": f"/aws/apigateway/{APP}-{stage}/access"}
    days = log_retention_days(stage=stage)
    if days:
        log_group["RetentionInDays"] = days
    return {
        "RestAPI": {"Properties": properties},
        ACCESS_LOG_GROUP: {"Type": "AWS::Logs::LogGroup", "Properties": log_group},
    }


def outputs() -> dict[str, Any]:
    return {
        "ImagesDistributionDomainName": {
            "Description": "The images CDN's domain: the functions' MEDIA_BASE_URL is https:// and this",
            "Value": {"Fn::GetAtt": [DISTRIBUTION, "DomainName"]},
        }
    }


def _queue(name: str, visibility_timeout: int, dlq: str, max_receives: int) -> dict[str, Any]:
    if visibility_timeout > MAX_VISIBILITY_TIMEOUT:
        raise ValueError(f"{name}: visibility timeout {visibility_timeout} s > SQS's {MAX_VISIBILITY_TIMEOUT} s")
    return {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": name,
            "VisibilityTimeout": visibility_timeout,
            "MessageRetentionPeriod": QUEUE_RETENTION_SECONDS,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]}, "maxReceiveCount": max_receives},
        },
    }


def _dead_letter_queue(name: str) -> dict[str, Any]:
    return {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": name,
            "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
            "SqsManagedSseEnabled": True,
        },
    }


def queue_resources(stage: str = STAGE) -> dict[str, Any]:
    """The queues get chalicelib.queues' names with the stage; the functions are given their URLs
    (never look them up) and the workers' event sources their ARNs (functions())."""
    names = Names(stage)
    media_visibility = VISIBILITY_TIMEOUT_FACTOR * function_timeout(queues.MEDIA_HANDLER, stage)
    caption_visibility = VISIBILITY_TIMEOUT_FACTOR * function_timeout(queues.CAPTION_HANDLER, stage)
    export_visibility = VISIBILITY_TIMEOUT_FACTOR * function_timeout(queues.EXPORT_HANDLER, stage)
    return {
        "MediaQueue": _queue(
            names.queue(queues.MEDIA_QUEUE), media_visibility, "MediaDeadLetterQueue", MEDIA_MAX_RECEIVES
        ),
        "MediaDeadLetterQueue": _dead_letter_queue(names.queue(queues.MEDIA_DLQ)),
        "CaptionQueue": _queue(
            names.queue(queues.CAPTION_QUEUE), caption_visibility, "CaptionDeadLetterQueue", CAPTION_MAX_RECEIVES
        ),
        "CaptionDeadLetterQueue": _dead_letter_queue(names.queue(queues.CAPTION_DLQ)),
        "ExportQueue": _queue(
            names.queue(queues.EXPORT_QUEUE), export_visibility, "ExportDeadLetterQueue", EXPORT_MAX_RECEIVES
        ),
        "ExportDeadLetterQueue": _dead_letter_queue(names.queue(queues.EXPORT_DLQ)),
        "MediaQueuePolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": "MediaQueue"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ImagesBucketNotifications",
                            "Effect": "Allow",
                            "Principal": {"Service": "s3.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": {"Fn::GetAtt": ["MediaQueue", "Arn"]},
                            # The bucket's ARN from its name: a GetAtt on the bucket would make
                            # the bucket and this policy depend on each other.
                            "Condition": {
                                "ArnEquals": {
                                    "aws:SourceArn": {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{names.images_bucket}"}
                                },
                                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                            },
                        }
                    ],
                },
            },
        },
    }


def parameters(stage: str = STAGE) -> dict[str, Any]:
    rate, burst = api_throttling(stage)
    secret = Names(stage).signing_keys_secret
    return {
        SIGNING_KEYS_SECRET: {
            "Type": "String",
            # Secrets Manager appends six characters to a secret's name in its ARN.
            "AllowedPattern": (
                f"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{{12}}:secret:{secret}-[A-Za-z0-9]{{6}}$"
            ),
            "ConstraintDescription": f"the ARN of the stage's secret {secret} (README: Deploy)",
            "Description": "The secret holding the token signing keys (read by the functions, never in the template)",
        },
        STUDIO_ORIGINS: {
            "Type": "CommaDelimitedList",
            "Default": DEFAULT_STUDIO_ORIGINS,
            "Description": "Browser origins of the studio: the API's CORS_ORIGINS and the images bucket's CORS rule",
        },
        CAPTION_MODEL: {
            "Type": "String",
            "Default": CAPTION_MODEL_ID,
            # The functions' IAM policies (.chalice/policy-<stage>.json) grant this model only:
            # another model needs them changed too, so the template refuses it until then.
            "AllowedValues": [CAPTION_MODEL_ID],
            "Description": "Bedrock model that writes captions (the functions may invoke only this one)",
        },
        # Defaults from .chalice/config.json (api_throttling); a deploy may override them.
        THROTTLE_RATE: {
            "Type": "Number",
            "Default": rate,
            "MinValue": 1,
            "Description": "Steady requests per second the API stage accepts (every method)",
        },
        THROTTLE_BURST: {
            "Type": "Number",
            "Default": burst,
            "MinValue": 1,
            "Description": "Requests the API stage accepts at once above the steady rate (every method)",
        },
    }


def _function(stage: str, handler: str, variables: dict[str, Any], *, sqs: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "FunctionName": Names(stage).function(handler),
        "Environment": {"Variables": variables},
    }
    function: dict[str, Any] = {"Properties": properties}
    if sqs:
        # chalice writes the queue's ARN from chalicelib.queues' stageless name as an Fn::Sub;
        # the merge replaces that string with the stage's queue. Partial batch responses: the
        # workers answer batchItemFailures.
        queue = Names(stage).queue(HANDLER_QUEUE_NAMES[handler])
        properties["Events"] = {
            sqs_event_name(handler): {
                "Properties": {
                    "Queue": {"Fn::Sub": f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{queue}"},
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                }
            }
        }
        # CloudFormation cannot follow a name in a string: the function (and so its event source
        # mapping, which refers to it) waits for the queue, by a Ref in its environment or else
        # by DependsOn.
        if {"Ref": HANDLER_QUEUES[handler]} not in variables.values():
            function["DependsOn"] = [HANDLER_QUEUES[handler]]
    return function


def functions(stage: str = STAGE) -> dict[str, Any]:
    # What a deployed stage's settings require (chalicelib.config REQUIRED_WHEN_DEPLOYED;
    # ENVIRONMENT is the stage's, for every function). Every handler reads the same settings,
    # so every function gets all of them: names and references, never a secret's value. The
    # queue URLs also spare a sender sqs:GetQueueUrl, which no policy grants.
    required = {
        "TABLE_NAME": {"Ref": "ProductsTable"},
        "IMAGES_BUCKET": {"Ref": "ImagesBucket"},
        "EXPORTS_BUCKET": {"Ref": "ExportsBucket"},
        "SIGNING_KEYS_SECRET_ARN": {"Ref": SIGNING_KEYS_SECRET},
        "MEDIA_BASE_URL": MEDIA_BASE_URL,
        "CAPTION_QUEUE_URL": {"Ref": "CaptionQueue"},
        "EXPORT_QUEUE_URL": {"Ref": "ExportQueue"},
        "MEDIA_DLQ_URL": {"Ref": "MediaDeadLetterQueue"},
        "CAPTION_DLQ_URL": {"Ref": "CaptionDeadLetterQueue"},
        "EXPORT_DLQ_URL": {"Ref": "ExportDeadLetterQueue"},
    }
    captioning = {"CAPTIONER": "bedrock", "BEDROCK_MODEL_ID": {"Ref": CAPTION_MODEL}}
    cors = {"CORS_ORIGINS": {"Fn::Join": [",", {"Ref": STUDIO_ORIGINS}]}}
    return {
        API_FUNCTION: _function(stage, "api_handler", {**required, **captioning, **cors}),
        MEDIA_FUNCTION: _function(stage, queues.MEDIA_HANDLER, required, sqs=True),
        CAPTION_FUNCTION: _function(stage, queues.CAPTION_HANDLER, {**required, **captioning}, sqs=True),
        EXPORT_FUNCTION: _function(stage, queues.EXPORT_HANDLER, required, sqs=True),
        SWEEPER_FUNCTION: _function(stage, queues.SWEEPER_HANDLER, required),
    }


def log_groups(stage: str = STAGE) -> dict[str, Any]:
    """chalice 1.34 names the API function APIHandler but points its log group (written when
    log_retention_in_days is set) at `${ApiHandler}`, which does not exist: the merge corrects it."""
    if log_retention_days(stage=stage) is None:
        return {}
    return {"ApiHandlerLogGroup": {"Properties": {"LogGroupName": {"Fn::Sub": f"/aws/lambda/${{{API_FUNCTION}}}"}}}}


def resources(stage: str = STAGE) -> dict[str, Any]:
    return {
        "Parameters": parameters(stage),
        "Resources": {
            "ProductsTable": {
                "Type": "AWS::DynamoDB::Table",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": table_properties(stage),
            },
            "ImagesBucket": images_bucket(stage),
            **images_cdn(stage),
            "ExportsBucket": exports_bucket(stage),
            **queue_resources(stage),
            **functions(stage),
            **rest_api(stage),
            **log_groups(stage),
        },
        "Outputs": outputs(),
    }
