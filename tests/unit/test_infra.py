"""The deployed resources are generated from the models and the code's names: the checked-in
template must be current, and it must agree with the functions' configuration and policies.

`make template-check` packages the app and runs cfn-lint on the result; these tests read only
the generated resources and the files in .chalice.
"""

import json
import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from chalicelib import queues
from chalicelib.aws_actions import ANY_RESOURCE_ACTIONS
from chalicelib.config import REQUIRED_WHEN_DEPLOYED, Settings
from ops import template
from ops.local.resources import upload_cors
from ops.template import EXPORTS_BUCKET, IMAGES_BUCKET, resources

ROOT = Path(__file__).resolve().parents[2]
CHALICE = ROOT / ".chalice"

# The logical ids `chalice package` gives the workers' functions and their SQS events (read off
# build/sam.json): the handler's name CamelCased, and `<Name>SqsEventSource`.
WORKERS = {
    queues.MEDIA_HANDLER: ("MediaIngest", "MediaIngestSqsEventSource", queues.MEDIA_QUEUE),
    queues.CAPTION_HANDLER: ("CaptionWorker", "CaptionWorkerSqsEventSource", queues.CAPTION_QUEUE),
    queues.EXPORT_HANDLER: ("ExportWorker", "ExportWorkerSqsEventSource", queues.EXPORT_QUEUE),
}
FUNCTIONS = ("APIHandler", "MediaIngest", "CaptionWorker", "ExportWorker")
SIX_TIMES = 6
FOURTEEN_DAYS = 14 * 24 * 3600
SQS_MAX_VISIBILITY = 12 * 3600
LAMBDA_MAX_TIMEOUT = 900


def _resources() -> dict[str, Any]:
    return resources()["Resources"]  # type: ignore[no-any-return]


def _queue_id(name: str) -> str:
    found = [
        logical_id
        for logical_id, resource in _resources().items()
        if resource.get("Type") == "AWS::SQS::Queue" and resource["Properties"]["QueueName"] == name
    ]
    assert len(found) == 1, f"one queue named {name}, found {found}"
    return found[0]


def _policy(stage: str) -> list[dict[str, Any]]:
    return json.loads((CHALICE / f"policy-{stage}.json").read_text())["Statement"]  # type: ignore[no-any-return]


def _allows(statements: list[dict[str, Any]], action: str, arn: str) -> bool:
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if statement["Effect"] == "Allow" and action in actions and any(fnmatchcase(arn, t) for t in targets):
            return True
    return False


def _timeout(config: dict[str, Any], stage: str, function: str) -> int:
    """chalice's precedence: stage's per-function, stage, global per-function, global, 60 s."""
    staged = config["stages"][stage]
    for source in (
        staged.get("lambda_functions", {}).get(function, {}),
        staged,
        config.get("lambda_functions", {}).get(function, {}),
        config,
    ):
        if "lambda_timeout" in source:
            return int(source["lambda_timeout"])
    return 60


def test_infra_template_is_current() -> None:
    written = json.loads((ROOT / "infra" / "resources.json").read_text())
    assert written == json.loads(json.dumps(resources())), "run: python -m ops.cli write-infra"


def test_table_has_the_listing_indexes() -> None:
    table = resources()["Resources"]["ProductsTable"]["Properties"]
    names = {i["IndexName"] for i in table["GlobalSecondaryIndexes"]}
    assert {"scope", "brand", "season", "year", "member"} <= names
    assert table["TimeToLiveSpecification"]["Enabled"] is True


def test_queues_have_the_code_names_and_dead_letter_queues() -> None:
    res = _resources()
    expected_receives = {
        queues.MEDIA_QUEUE: 5,
        queues.CAPTION_QUEUE: Settings.model_fields["caption_max_attempts"].default,
        queues.EXPORT_QUEUE: Settings.model_fields["export_max_attempts"].default,
    }
    assert {name for name, _ in queues.QUEUES} == set(expected_receives)
    for name, dlq in queues.QUEUES:
        queue = res[_queue_id(name)]["Properties"]
        dead = res[_queue_id(dlq)]["Properties"]
        redrive = queue["RedrivePolicy"]
        assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [_queue_id(dlq), "Arn"]}
        assert redrive["maxReceiveCount"] == expected_receives[name]
        assert dead["MessageRetentionPeriod"] == FOURTEEN_DAYS
        assert dead["MessageRetentionPeriod"] > queue.get("MessageRetentionPeriod", 4 * 24 * 3600)
        assert queue["SqsManagedSseEnabled"] is True
        assert dead["SqsManagedSseEnabled"] is True


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_visibility_timeouts_are_six_function_timeouts(stage: str) -> None:
    config = json.loads((CHALICE / "config.json").read_text())
    res = _resources()
    for handler, (_, _, queue) in WORKERS.items():
        visibility = res[_queue_id(queue)]["Properties"]["VisibilityTimeout"]
        timeout = _timeout(config, stage, handler)
        assert visibility >= SIX_TIMES * timeout, f"{queue}: {visibility} s < 6 x {handler}'s {timeout} s ({stage})"
        assert visibility <= SQS_MAX_VISIBILITY, f"{queue}: {visibility} s > SQS's maximum"
        assert timeout <= LAMBDA_MAX_TIMEOUT, f"{handler}: {timeout} s > Lambda's maximum ({stage})"
    # The workers' own settings, not the API's 29 s.
    assert _timeout(config, stage, queues.MEDIA_HANDLER) == 60
    assert _timeout(config, stage, queues.CAPTION_HANDLER) == 120
    # An export runs as long as Lambda allows, checkpointing before the end.
    assert _timeout(config, stage, queues.EXPORT_HANDLER) == LAMBDA_MAX_TIMEOUT
    assert config["stages"][stage]["lambda_functions"][queues.EXPORT_HANDLER]["lambda_memory_size"] == 1024


def test_uploads_notify_the_media_queue() -> None:
    res = _resources()
    bucket = res["ImagesBucket"]
    media = _queue_id(queues.MEDIA_QUEUE)
    (notification,) = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification["Queue"] == {"Fn::GetAtt": [media, "Arn"]}
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": queues.UPLOADS_PREFIX}]

    (policy_id,) = [
        logical_id
        for logical_id, resource in res.items()
        if resource.get("Type") == "AWS::SQS::QueuePolicy" and {"Ref": media} in resource["Properties"]["Queues"]
    ]
    # S3 checks the destination when the notification is created: the policy comes first.
    assert policy_id in bucket["DependsOn"]
    (statement,) = res[policy_id]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == {"Fn::GetAtt": [media, "Arn"]}
    condition = statement["Condition"]
    assert condition["ArnEquals"]["aws:SourceArn"] == {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{IMAGES_BUCKET}"}
    assert bucket["Properties"]["BucketName"] == IMAGES_BUCKET
    assert condition["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    # Built from the name: a reference to the bucket would be a cycle (the bucket waits for this).
    text = json.dumps(res[policy_id])
    for reference in ('{"Ref": "ImagesBucket"}', '["ImagesBucket", ', "${ImagesBucket"):
        assert reference not in text


def test_unused_uploads_expire_after_a_day() -> None:
    rules = _resources()["ImagesBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (uploads,) = [r for r in rules if r.get("Prefix") == queues.UPLOADS_PREFIX]
    assert uploads["Status"] == "Enabled"
    assert uploads["ExpirationInDays"] == 1
    (multipart,) = [r for r in rules if "AbortIncompleteMultipartUpload" in r]
    assert multipart["Status"] == "Enabled"
    assert multipart["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert "Prefix" not in multipart  # the whole bucket


def test_exports_expire_and_abandoned_multipart_uploads_are_aborted() -> None:
    bucket = _resources()["ExportsBucket"]["Properties"]
    assert bucket["BucketName"] == EXPORTS_BUCKET
    rules = bucket["LifecycleConfiguration"]["Rules"]
    # The delayed cleanup deletes an export; the expiry is the backstop for abandoned tasks.
    (expiry,) = [r for r in rules if "ExpirationInDays" in r]
    assert expiry["Status"] == "Enabled"
    assert expiry["ExpirationInDays"] == 7
    assert "Prefix" not in expiry  # exports and their checkpoints
    # A worker that dies mid-upload leaves parts that cost storage until aborted.
    (multipart,) = [r for r in rules if "AbortIncompleteMultipartUpload" in r]
    assert multipart["Status"] == "Enabled"
    assert multipart["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert "Prefix" not in multipart  # the whole bucket


def test_studio_origins_drive_bucket_and_api_cors() -> None:
    template = resources()
    parameter = template["Parameters"]["StudioOrigins"]
    assert parameter["Type"] == "CommaDelimitedList"
    assert parameter["Default"] == "https://studio.sartiq.com"
    (rule,) = template["Resources"]["ImagesBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    (local,) = upload_cors(["https://studio.sartiq.com"])["CORSRules"]
    assert rule == {
        "AllowedOrigins": {"Ref": "StudioOrigins"},
        "AllowedMethods": local["AllowedMethods"],
        "AllowedHeaders": local["AllowedHeaders"],
        "ExposedHeaders": local["ExposeHeaders"],
        "MaxAge": local["MaxAgeSeconds"],
    }
    assert rule["AllowedMethods"] == ["POST"]
    variables = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert variables["CORS_ORIGINS"] == {"Fn::Join": [",", {"Ref": "StudioOrigins"}]}


def test_event_sources_report_batch_item_failures() -> None:
    res = _resources()
    for function, event, queue in WORKERS.values():
        merged = res[function]
        properties = merged["Properties"]["Events"][event]["Properties"]
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        # Only additions: chalice's own Type, Queue and BatchSize must survive the deep merge.
        assert set(properties) == {"FunctionResponseTypes"}
        assert "Type" not in merged
        # chalice's queue ARN is built from the name, so the order comes from a Ref or DependsOn.
        queue_id = _queue_id(queue)
        assert queue_id in merged.get("DependsOn", []) or {"Ref": queue_id} in (
            merged["Properties"]["Environment"]["Variables"].values()
        )


def test_function_environments() -> None:
    res = _resources()
    env = {name: res[name]["Properties"]["Environment"]["Variables"] for name in FUNCTIONS}
    for name in FUNCTIONS:
        assert env[name]["TABLE_NAME"] == {"Ref": "ProductsTable"}
        assert env[name]["IMAGES_BUCKET"] == {"Ref": "ImagesBucket"}
        assert env[name]["EXPORTS_BUCKET"] == {"Ref": "ExportsBucket"}
        # A deployed stage's settings require both URLs in every function: without them a send
        # would need sqs:GetQueueUrl, which the policies do not grant.
        assert env[name]["CAPTION_QUEUE_URL"] == {"Ref": _queue_id(queues.CAPTION_QUEUE)}
        assert env[name]["EXPORT_QUEUE_URL"] == {"Ref": _queue_id(queues.EXPORT_QUEUE)}
        assert env[name]["MEDIA_BASE_URL"] == {"Fn::Sub": "https://${ImagesDistribution.DomainName}"}
        assert {field.upper() for field in REQUIRED_WHEN_DEPLOYED} <= set(env[name]), name
    for name in ("APIHandler", "CaptionWorker"):
        assert env[name]["CAPTIONER"] == "bedrock"
        assert env[name]["BEDROCK_MODEL_ID"] == {"Ref": "CaptionModelId"}
    assert resources()["Parameters"]["CaptionModelId"]["Default"] == "amazon.nova-lite-v1:0"


def _resolve(value: Any, parameters: dict[str, Any]) -> str:
    """A deployed value for a template value: parameters' defaults, a stand-in for other Refs
    and attributes (`${Resource.Attribute}` in a Sub becomes `deployed-Resource`)."""
    if isinstance(value, str):
        return value
    if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        return re.sub(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}", r"deployed-\1", value["Fn::Sub"])
    if "Ref" in value:
        name = value["Ref"]
        return str(parameters[name]["Default"]) if name in parameters else f"deployed-{name}"
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return (
            _resolve(parts, parameters)
            if isinstance(parts, dict)
            else separator.join(_resolve(p, parameters) for p in parts)
        )
    raise AssertionError(f"cannot resolve {value}")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_environment_makes_valid_settings(function: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # As Lambda would: the stage's variables from .chalice/config.json, then the template's.
    template = resources()
    config = json.loads((CHALICE / "config.json").read_text())
    variables = {**config["environment_variables"], **config["stages"]["prod"]["environment_variables"]}
    for key, value in template["Resources"][function]["Properties"]["Environment"]["Variables"].items():
        variables[key] = _resolve(value, template["Parameters"])
    for field in Settings.model_fields:
        monkeypatch.delenv(field.upper(), raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for key, value in variables.items():
        monkeypatch.setenv(key, value)
    # A deployed stage refuses a missing required variable and the development secret.
    settings = Settings()
    assert settings.environment == "prod"
    assert settings.deployed
    assert settings.aws_endpoint_url is None
    assert settings.media_url("products/p/m.jpg") == "https://deployed-ImagesDistribution/products/p/m.jpg"
    assert settings.caption_queue_url == "deployed-CaptionQueue"
    assert settings.export_queue_url == "deployed-ExportQueue"
    if function in ("APIHandler", "CaptionWorker"):
        assert settings.captioner == "bedrock"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_policies_grant_the_queues_and_the_model(stage: str) -> None:
    statements = _policy(stage)
    caption = f"arn:aws:sqs:us-east-1:123456789012:{queues.CAPTION_QUEUE}"
    media = f"arn:aws:sqs:us-east-1:123456789012:{queues.MEDIA_QUEUE}"
    export = f"arn:aws:sqs:us-east-1:123456789012:{queues.EXPORT_QUEUE}"
    for arn in (media, caption, export):
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
            assert _allows(statements, action, arn), f"{stage}: {action} on {arn}"
    assert _allows(statements, "sqs:SendMessage", caption)
    assert _allows(statements, "sqs:ChangeMessageVisibility", caption)
    assert not _allows(statements, "sqs:SendMessage", media)  # only S3 sends there
    # Export jobs, their continuations and the delayed cleanups.
    assert _allows(statements, "sqs:SendMessage", export)

    model_ids = resources()["Parameters"]["CaptionModelId"]["AllowedValues"]
    for model_id in model_ids:
        assert _allows(statements, "bedrock:InvokeModel", f"arn:aws:bedrock:us-east-1::foundation-model/{model_id}")
    bedrock = [s for s in statements if any(str(a).startswith("bedrock:") for a in s["Action"])]
    for statement in bedrock:
        targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for target in targets:
            assert target.startswith("arn:aws:bedrock:") and ":foundation-model/" in target, target
            assert not target.endswith("/*"), target
    # Nothing opened to every resource but X-Ray's trace writes (which IAM cannot scope), and
    # no wildcard actions.
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if "*" in targets:
            assert set(actions) <= ANY_RESOURCE_ACTIONS, statement
        for action in actions:
            assert "*" not in action, statement


def _bucket_names(stage: str) -> tuple[str, str]:
    """The stage's (images, exports) buckets: dev's from .chalice/config.json, prod's the template's."""
    if stage == "prod":
        return IMAGES_BUCKET, EXPORTS_BUCKET
    variables = json.loads((CHALICE / "config.json").read_text())["stages"][stage]["environment_variables"]
    return variables["IMAGES_BUCKET"], variables["EXPORTS_BUCKET"]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_policies_grant_the_export_uploads(stage: str) -> None:
    statements = _policy(stage)
    images, exports = _bucket_names(stage)
    export_object = f"arn:aws:s3:::{exports}/exports/task-1/export.zip"
    image_object = f"arn:aws:s3:::{images}/shots/a.jpg"
    # The ZIP and its checkpoints are multipart uploads (PutObject covers create, part, complete).
    for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"):
        assert _allows(statements, action, export_object), f"{stage}: {action} on {export_object}"
    for action in ("s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"):
        assert _allows(statements, action, export_object), f"{stage}: {action} on {export_object}"
        # Scoped to the exports bucket's objects: not the images, not the bucket itself.
        assert not _allows(statements, action, image_object), f"{stage}: {action} on {image_object}"
        assert not _allows(statements, action, f"arn:aws:s3:::{exports}"), f"{stage}: {action} on the bucket"
        assert not _allows(statements, action, f"arn:aws:s3:::{images}"), f"{stage}: {action} on the bucket"


@pytest.mark.parametrize(
    ("throttle", "refused"),
    [
        (None, "set api_throttling"),
        ({"rate_limit": 10}, "set api_throttling"),
        ({"rate_limit": 0, "burst_limit": 20}, "rate_limit"),
        ({"rate_limit": "10", "burst_limit": 20}, "rate_limit"),
        ({"rate_limit": 10, "burst_limit": 2.5}, "burst_limit"),
        ({"rate_limit": 10, "burst_limit": True}, "burst_limit"),
    ],
)
def test_the_api_throttle_setting_is_checked(
    throttle: dict[str, Any] | None, refused: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = json.loads((CHALICE / "config.json").read_text())
    config["stages"]["prod"].pop("api_throttling", None)
    config.pop("api_throttling", None)
    if throttle is not None:
        config["stages"]["prod"]["api_throttling"] = throttle
    written = tmp_path / "config.json"
    written.write_text(json.dumps(config))
    monkeypatch.setattr(template, "CHALICE_CONFIG", written)
    with pytest.raises(ValueError, match=refused):
        template.api_throttling()


def test_the_api_throttle_falls_back_to_the_top_level(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = json.loads((CHALICE / "config.json").read_text())
    config["stages"]["prod"].pop("api_throttling", None)
    config["api_throttling"] = {"rate_limit": 12.5, "burst_limit": 30}
    written = tmp_path / "config.json"
    written.write_text(json.dumps(config))
    monkeypatch.setattr(template, "CHALICE_CONFIG", written)
    assert template.api_throttling() == (12.5, 30)
