"""The checked-in template (infra/resources-prod.json), checked against the code.

Independent of ops.template: the table is compared with the PynamoDB models' own
attributes and index classes, the queues and event sources with chalicelib.queues and app.py's
handlers. The policies are checked against the AWS calls the tests record
(ops/policy_check.py, in `make template-check`). tests/unit/test_infra.py
checks the generated resources' details (receive counts, timeouts, environments, scopes);
tests/unit/test_template_cdn.py the images CDN, the API's throttle and tracing, from WRITTEN.
"""

import json
from pathlib import Path
from typing import Any

from chalice.app import SQSEventConfig
from chalice.utils import to_cfn_resource_name

from chalicelib import queues
from chalicelib.store.models import TableItem

ROOT = Path(__file__).resolve().parents[2]
# The checked-in template as `chalice package --merge-template` takes it (Parameters, Resources,
# Outputs), and its resources.
WRITTEN: dict[str, Any] = json.loads((ROOT / "infra" / "resources-prod.json").read_text())
TEMPLATE: dict[str, Any] = WRITTEN["Resources"]


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
    """The queue's logical id: chalicelib.queues' name with the stage in it."""
    staged = f"sartiq-products-prod-{name.removeprefix('sartiq-products-')}"
    (found,) = [
        logical_id
        for logical_id, resource in TEMPLATE.items()
        if resource.get("Type") == "AWS::SQS::Queue" and resource["Properties"]["QueueName"] == staged
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
