"""The deployed resources are generated from the models and the code's names: the checked-in
template must be current, and it must agree with the functions' configuration and policies.

`make template-check` packages the app and runs cfn-lint on the result; these tests read only
the generated resources and the files in .chalice.
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib import queues
from chalicelib.config import REQUIRED_WHEN_DEPLOYED, Settings
from ops import policies, template
from ops.cli import infra_files
from ops.iam import allowed
from ops.local.resources import upload_cors
from ops.template import Names, resources

ROOT = Path(__file__).resolve().parents[2]
CHALICE = ROOT / ".chalice"
PROD = Names("prod")
IMAGES_BUCKET, EXPORTS_BUCKET = PROD.images_bucket, PROD.exports_bucket
# The only actions a policy may grant on every resource: X-Ray's trace writes have no resource type.
ANY_RESOURCE_ACTIONS = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})

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
        if resource.get("Type") == "AWS::SQS::Queue" and resource["Properties"]["QueueName"] == PROD.queue(name)
    ]
    assert len(found) == 1, f"one queue named {name}, found {found}"
    return found[0]


def _policy(stage: str, function: str) -> dict[str, Any]:
    return json.loads((CHALICE / policies.file_name(function, stage)).read_text())  # type: ignore[no-any-return]


def _allows(function: str, stage: str, action: str, arn: str) -> bool:
    return allowed([_policy(stage, function)], action, arn)


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


def test_infra_and_policies_are_current() -> None:
    for path, text in infra_files().items():
        assert path.exists() and path.read_text() == text, f"{path}: run python -m ops.cli write-infra"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_function_has_its_own_policy_file(stage: str) -> None:
    config = json.loads((CHALICE / "config.json").read_text())
    staged = config["stages"][stage]
    # No stage-wide policy: a function without its own would get it.
    assert "iam_policy_file" not in staged and "iam_policy_file" not in config
    named = {name: entry.get("iam_policy_file") for name, entry in staged["lambda_functions"].items()}
    assert named == {f: policies.file_name(f, stage) for f in policies.FUNCTIONS}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_stages_share_no_resource_name(stage: str) -> None:
    other = "prod" if stage == "dev" else "dev"
    text = json.dumps(resources(stage))
    for name in (Names(other).table, Names(other).images_bucket, Names(other).queue(queues.MEDIA_QUEUE)):
        assert name not in text
    for function in policies.FUNCTIONS:
        policy = json.dumps(_policy(stage, function))
        for name in (Names(other).table, Names(other).function(function), Names(other).signing_keys_secret):
            assert name not in policy, (stage, function, name)
        assert Names(stage).function(function) in policy


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
        # Only additions and the stage's queue: chalice's own Type and BatchSize must survive the
        # deep merge, and its queue ARN (an Fn::Sub of the stageless name) is replaced whole.
        assert set(properties) == {"FunctionResponseTypes", "Queue"}
        assert set(properties["Queue"]) == {"Fn::Sub"}
        assert properties["Queue"]["Fn::Sub"].endswith(f":{PROD.queue(queue)}")
        assert "Type" not in merged
        # The queue's ARN is built from the name, so the order comes from a Ref or DependsOn.
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
        if name in parameters and "Default" in parameters[name]:
            return str(parameters[name]["Default"])
        return f"deployed-{name}"
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


def _arn(stage: str, local_name: str) -> str:
    return f"arn:aws:sqs:us-east-1:123456789012:{Names(stage).queue(local_name)}"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_function_may_do_only_its_own_work(stage: str) -> None:
    names = Names(stage)
    for function, queue in (
        (queues.MEDIA_HANDLER, queues.MEDIA_QUEUE),
        (queues.CAPTION_HANDLER, queues.CAPTION_QUEUE),
        (queues.EXPORT_HANDLER, queues.EXPORT_QUEUE),
    ):
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
            assert _allows(function, stage, action, _arn(stage, queue)), (function, action)
            # Not another worker's queue, nor a dead-letter queue.
            for other in (queues.MEDIA_QUEUE, queues.CAPTION_QUEUE, queues.EXPORT_QUEUE, queues.CAPTION_DLQ):
                if other != queue:
                    assert not _allows(function, stage, action, _arn(stage, other)), (function, action, other)
    # A delayed export job reappears 10 s later, not after the queue's visibility timeout.
    assert _allows(queues.EXPORT_HANDLER, stage, "sqs:ChangeMessageVisibility", _arn(stage, queues.EXPORT_QUEUE))
    assert _allows(queues.CAPTION_HANDLER, stage, "sqs:ChangeMessageVisibility", _arn(stage, queues.CAPTION_QUEUE))
    assert _allows(policies.API, stage, "sqs:SendMessage", _arn(stage, queues.CAPTION_QUEUE))
    for function in policies.FUNCTIONS:
        assert not _allows(function, stage, "sqs:SendMessage", _arn(stage, queues.MEDIA_QUEUE))  # only S3 sends
    # Only the sweeper reads the dead-letter queues; only the API reads the signing keys.
    for dlq in (queues.MEDIA_DLQ, queues.CAPTION_DLQ, queues.EXPORT_DLQ):
        for function in policies.FUNCTIONS:
            expected = function == queues.SWEEPER_HANDLER
            assert _allows(function, stage, "sqs:ReceiveMessage", _arn(stage, dlq)) == expected, (function, dlq)
    secret = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{names.signing_keys_secret}-AbC123"
    for function in policies.FUNCTIONS:
        assert _allows(function, stage, "secretsmanager:GetSecretValue", secret) == (function == policies.API)
    # Only the API and the caption worker caption, with the one model the template allows.
    for model_id in resources(stage)["Parameters"]["CaptionModelId"]["AllowedValues"]:
        model = f"arn:aws:bedrock:us-east-1::foundation-model/{model_id}"
        for function in policies.FUNCTIONS:
            expected = function in (policies.API, queues.CAPTION_HANDLER)
            assert _allows(function, stage, "bedrock:InvokeModel", model) == expected, function
    # The sweeper writes no image; nothing but X-Ray's writes on every resource; no wildcard actions.
    assert not _allows(queues.SWEEPER_HANDLER, stage, "s3:PutObject", f"arn:aws:s3:::{names.images_bucket}/products/a")
    for function in policies.FUNCTIONS:
        for statement in _policy(stage, function)["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if "*" in targets:
                assert set(actions) <= ANY_RESOURCE_ACTIONS, statement
            for action in actions:
                assert "*" not in action and "?" not in action, statement
            assert "NotAction" not in statement and "NotResource" not in statement, statement


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_export_uploads_are_scoped_to_the_exports_bucket(stage: str) -> None:
    names = Names(stage)
    images, exports = names.images_bucket, names.exports_bucket
    export_object = f"arn:aws:s3:::{exports}/exports/task-1/export.zip"
    image_object = f"arn:aws:s3:::{images}/products/p/a.jpg"
    worker = queues.EXPORT_HANDLER
    # The ZIP and its checkpoints are multipart uploads (PutObject covers create, part, complete).
    for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"):
        assert _allows(worker, stage, action, export_object), f"{stage}: {action} on {export_object}"
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"):
        assert not _allows(worker, stage, action, image_object), f"{stage}: {action} on {image_object}"
        assert not _allows(worker, stage, action, f"arn:aws:s3:::{exports}"), f"{stage}: {action} on the bucket"
    # Granted and never used before: listing an upload's parts.
    assert not _allows(worker, stage, "s3:ListMultipartUploadParts", export_object)


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
