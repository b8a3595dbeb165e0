"""The checked-in template (infra/resources.json) and the policies, checked against the code.

Independent of ops.template: the table is compared with the PynamoDB models' own
attributes and index classes, the queues and event sources with chalicelib.queues and app.py's
handlers, the policies with the actions listed in chalicelib.aws_actions. tests/unit/test_infra.py
checks the generated resources' details (receive counts, timeouts, environments, scopes);
tests/unit/test_template_cdn.py the images CDN, the API's throttle and tracing, from WRITTEN.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from chalice.app import SQSEventConfig
from chalice.utils import to_cfn_resource_name

from chalicelib import queues
from chalicelib.aws_actions import ANY_RESOURCE_ACTIONS, AWS_ACTIONS
from chalicelib.store.models import TableItem

ROOT = Path(__file__).resolve().parents[2]
# The checked-in template as `chalice package --merge-template` takes it (Parameters, Resources,
# Outputs), and its resources.
WRITTEN: dict[str, Any] = json.loads((ROOT / "infra" / "resources.json").read_text())
TEMPLATE: dict[str, Any] = WRITTEN["Resources"]

# Actions the code can call that the deployed policies need not grant, each with the reason.
KNOWN_GAPS = {
    # store/jobs.py looks a queue's URL up only when CAPTION_QUEUE_URL / EXPORT_QUEUE_URL is
    # unset; a deployed stage's settings require both and the template sets them on every
    # function (test_infra, test_settings_check).
    "sqs:GetQueueUrl",
}


def _keys(attributes: Any) -> list[tuple[str, str]]:
    keys = [(a.attr_name, "HASH") for a in attributes if a.is_hash_key]
    keys += [(a.attr_name, "RANGE") for a in attributes if a.is_range_key]
    return keys


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_table_matches_the_models() -> None:
    table = TEMPLATE["ProductsTable"]["Properties"]
    attributes = list(TableItem.get_attributes().values())
    assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == _keys(attributes)

    expected_indexes = {}
    declared = {a.attr_name: a.attr_type for a in attributes if a.is_hash_key or a.is_range_key}
    for index in TableItem._indexes.values():
        meta = index.Meta
        index_attributes = list(meta.attributes.values())
        declared.update({a.attr_name: a.attr_type for a in index_attributes})
        projection: dict[str, Any] = {"ProjectionType": meta.projection.projection_type}
        if meta.projection.non_key_attributes:
            projection["NonKeyAttributes"] = sorted(meta.projection.non_key_attributes)
        expected_indexes[meta.index_name] = (_keys(index_attributes), projection)

    defined = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert len(defined) == len(table["AttributeDefinitions"]), "an attribute defined twice"
    assert defined == declared

    found = {}
    for index in table["GlobalSecondaryIndexes"]:
        projection = dict(index["Projection"])
        if "NonKeyAttributes" in projection:
            projection["NonKeyAttributes"] = sorted(projection["NonKeyAttributes"])
        found[index["IndexName"]] = ([(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]], projection)
    assert found == expected_indexes


def _queue_id(name: str) -> str:
    (found,) = [
        logical_id
        for logical_id, resource in TEMPLATE.items()
        if resource.get("Type") == "AWS::SQS::Queue" and resource["Properties"]["QueueName"] == name
    ]
    return str(found)


def test_queues_dead_letter_queues_and_notification() -> None:
    for name, dlq in queues.QUEUES:
        redrive = TEMPLATE[_queue_id(name)]["Properties"]["RedrivePolicy"]
        assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [_queue_id(dlq), "Arn"]}, name
    notifications = TEMPLATE["ImagesBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert {"Fn::GetAtt": [_queue_id(queues.MEDIA_QUEUE), "Arn"]} in [n["Queue"] for n in notifications]


def test_every_sqs_event_source_reports_batch_item_failures() -> None:
    from app import app

    sources = [s for s in app.event_sources if isinstance(s, SQSEventConfig)]
    assert {s.queue for s in sources} == {name for name, _ in queues.QUEUES}
    for source in sources:
        assert source.queue is not None
        _queue_id(source.queue)  # a queue of that name is in the template
        function = TEMPLATE[to_cfn_resource_name(source.name)]
        event = function["Properties"]["Events"][to_cfn_resource_name(f"{source.name}-sqs-event-source")]
        assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"], source.name


def _statements(stage: str) -> list[dict[str, Any]]:
    policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    return policy["Statement"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_policy_has_no_wildcards(stage: str) -> None:
    for statement in _statements(stage):
        for action in as_list(statement["Action"]):
            assert "*" not in action and "?" not in action, f"{stage}: wildcard action {action}"
        if "*" in as_list(statement["Resource"]):
            # Only what IAM cannot scope, alone in its statement (chalicelib.aws_actions).
            opened = set(as_list(statement["Action"])) - ANY_RESOURCE_ACTIONS
            assert not opened, f"{stage}: {statement.get('Sid')} grants {sorted(opened)} on every resource"
            assert as_list(statement["Resource"]) == ["*"], statement
        assert "NotAction" not in statement and "NotResource" not in statement, statement


def test_only_x_ray_may_have_every_resource() -> None:
    # Pinned: widening the allowance is a change to this test too. X-Ray's writes only, not
    # its reads of other traces, sampling rules or groups.
    assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} == ANY_RESOURCE_ACTIONS
    assert set(AWS_ACTIONS) >= ANY_RESOURCE_ACTIONS


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_policy_grants_every_action_the_code_uses(stage: str) -> None:
    assert len(set(AWS_ACTIONS)) == len(AWS_ACTIONS)
    granted = {
        action
        for statement in _statements(stage)
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
    }
    missing = sorted(set(AWS_ACTIONS) - granted - KNOWN_GAPS)
    assert not missing, f"policy-{stage}.json does not grant {missing}"
    assert set(AWS_ACTIONS) >= KNOWN_GAPS
