"""The Bedrock captioner where the deployed stage runs it: in the API's request and in the worker.

botocore's Stubber answers `converse`, so nothing leaves the process, but the call still goes
through the client as a deployed function's would: the AWS calls the tests record
(tests/support/aws_calls.py) include bedrock:InvokeModel under each function that makes it, and
the policy check (ops/policy_check.py) checks both functions' grants against them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.config import get_settings
from chalicelib.services.captioning.bedrock import BedrockCaptioner
from tests.factories import Api
from tests.support import aws_calls
from tests.unit.test_bedrock_captioner import ANSWER, converse_response
from tests.workers.test_captions import bodies, create, deliver, jobs, read, use_captioner

__all__ = ["use_captioner"]  # the fixture, used by name


class Stubbed:
    def __init__(self, stub: Stubber) -> None:
        self.stub = stub
        # The function each converse call was made as, taken when it is made.
        self.made_as: list[str | None] = []


@pytest.fixture
def bedrock(use_captioner: Any) -> Iterator[Stubbed]:
    """The caption service's captioner is Bedrock's, on a stubbed client (the settings' model)."""
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    with Stubber(client) as stub:
        stubbed = Stubbed(stub)
        # Before the call: the Stubber answers it at before-call, and no handler after it runs.
        client.meta.events.register_first(
            "before-parameter-build.bedrock-runtime.Converse",
            lambda **_: stubbed.made_as.append(aws_calls.current_function()),
        )
        use_captioner(BedrockCaptioner(client=client))
        yield stubbed
        stub.assert_no_pending_responses()


def expect_converse(stub: Stubber) -> None:
    stub.add_response(
        "converse", converse_response(json.dumps(ANSWER)), {"modelId": get_settings().bedrock_model_id, **_ANY}
    )


class _Anything:
    def __eq__(self, other: object) -> bool:
        return True


_ANY = {"system": _Anything(), "messages": _Anything(), "inferenceConfig": _Anything()}


def test_the_api_captions_with_bedrock_within_the_request(api: Api, bedrock: Stubbed) -> None:
    expect_converse(bedrock.stub)
    _, token = api.user()
    product = create(api, token, "?sync_captioning=true")

    assert product["caption_status"] == "COMPLETED", product
    assert product["cover_image_media"]["caption"] == ANSWER["caption"]
    assert product["description"] == ANSWER["description"]
    assert bedrock.made_as == ["api_handler"]


def test_the_caption_worker_captions_with_bedrock(api: Api, bedrock: Stubbed) -> None:
    _, token = api.user()
    product = create(api, token, "?sync_captioning=false")
    messages = jobs()
    assert bodies(messages) == [{"product_id": product["id"], "task_id": product["caption_task_id"]}]

    expect_converse(bedrock.stub)
    answer, failed = deliver(messages)
    assert answer == {"batchItemFailures": []} and failed == []
    done = read(api, token, product["id"])
    assert done["caption_status"] == "COMPLETED"
    assert done["cover_image_media"]["alt_text"] == ANSWER["alt_text"]
    assert bedrock.made_as == ["caption_worker"]
