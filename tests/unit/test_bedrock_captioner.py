"""chalicelib.services.captioning.bedrock against botocore's Stubber: no call leaves the process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ParamValidationError, ReadTimeoutError
from botocore.stub import Stubber

from chalicelib.config import get_settings
from chalicelib.services.captioning import (
    MAX_ALT_TEXT,
    MAX_CAPTION,
    MAX_DESCRIPTION,
    Caption,
    CaptionFailed,
    CaptionImage,
    CaptionRequest,
)
from chalicelib.services.captioning.bedrock import (
    MAX_TOKENS,
    BedrockCaptioner,
    _make_client,
    build_prompt,
    build_request,
)

COVER = CaptionImage(data=b"\xff\xd8\xff cover bytes", format="jpeg", role="cover")
BACK = CaptionImage(data=b"\x89PNG back bytes", format="png", role="back")

PRODUCT: dict[str, Any] = {
    "name": "Harbour Overshirt",
    "brand": "Northwind",
    "product_type": "Shirt",
    "colour": "Navy",
    "materials": "Cotton twill",
    "gender": "MALE",
    "season": "AW",
    "year": 2024,
    "sku": "NW-123",
    "collection": "",
}

ANSWER = {
    "caption": "A navy cotton overshirt with two chest pockets.",
    "alt_text": "Navy overshirt with chest pockets, front view",
    "description": "A relaxed overshirt in navy cotton twill, cut to layer over a tee.",
}


def converse_response(text: str, stop_reason: str = "end_turn") -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop_reason,
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
        "metrics": {"latencyMs": 1},
    }


@pytest.fixture
def client() -> Any:
    return boto3.client("bedrock-runtime", region_name="us-east-1")


@pytest.fixture
def stub(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set environment variables, then re-read settings; the next test reads its own again."""
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def request(*images: CaptionImage, product: dict[str, Any] | None = None) -> CaptionRequest:
    return CaptionRequest(images=list(images), product=PRODUCT if product is None else product)


# The request sent


def test_sends_images_cover_then_back_and_the_prompt_with_the_settings_model(
    client: Any, stub: Stubber, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("BEDROCK_MODEL_ID", "test.model-from-settings:0")
    get_settings.cache_clear()
    # Given back first: the model still sees the cover first.
    caption_request = request(BACK, COVER)
    expected = {
        "modelId": "test.model-from-settings:0",
        "system": [{"text": build_request(caption_request, "x")["system"][0]["text"]}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"image": {"format": "jpeg", "source": {"bytes": COVER.data}}},
                    {"image": {"format": "png", "source": {"bytes": BACK.data}}},
                    {"text": build_prompt(caption_request)},
                ],
            }
        ],
        "inferenceConfig": {"maxTokens": MAX_TOKENS, "temperature": 0.2},
    }
    stub.add_response("converse", converse_response(json.dumps(ANSWER)), expected)

    caption = BedrockCaptioner(client=client).describe(caption_request)

    assert caption == Caption(**ANSWER)


def test_the_constructor_model_wins_over_settings(client: Any, stub: Stubber) -> None:
    caption_request = request(COVER)
    stub.add_response(
        "converse",
        converse_response(json.dumps(ANSWER)),
        build_request(caption_request, "test.constructor-model:0"),
    )

    BedrockCaptioner(client=client, model_id="test.constructor-model:0").describe(caption_request)


def test_build_request_shape() -> None:
    params = build_request(request(COVER, BACK), "m")
    assert params["modelId"] == "m"
    assert params["system"][0]["text"]
    (message,) = params["messages"]
    assert message["role"] == "user"
    assert [block.get("image", {}).get("format") for block in message["content"]] == ["jpeg", "png", None]
    assert message["content"][0]["image"]["source"]["bytes"] == COVER.data
    assert message["content"][1]["image"]["source"]["bytes"] == BACK.data
    assert message["content"][-1]["text"] == build_prompt(request(COVER, BACK))
    assert params["inferenceConfig"]["temperature"] == 0.2
    assert params["inferenceConfig"]["maxTokens"] > 0


def test_the_prompt_asks_for_the_three_keys_and_gives_the_product_fields() -> None:
    prompt = build_prompt(request(COVER, BACK))
    for key in ('"caption"', '"alt_text"', '"description"'):
        assert key in prompt
    assert "JSON" in prompt
    assert "125" in prompt
    for value in ("Harbour Overshirt", "Northwind", "Shirt", "Navy", "Cotton twill", "MALE", "AW", "2024"):
        assert value in prompt
    # Not one of the fields given as context.
    assert "NW-123" not in prompt
    assert "invent" in prompt.lower()


def test_the_prompt_leaves_out_empty_fields() -> None:
    prompt = build_prompt(request(COVER, product={"name": "Tee", "brand": "", "colour": None, "materials": "  "}))
    assert "Name: Tee" in prompt
    assert "Brand:" not in prompt
    assert "Colour:" not in prompt
    assert "Materials:" not in prompt


def test_the_prompt_without_product_fields() -> None:
    prompt = build_prompt(request(COVER, product={}))
    assert '"caption"' in prompt
    assert "Name:" not in prompt


# Parsing the answer


def test_a_fenced_answer_with_prose_around_it(client: Any, stub: Stubber) -> None:
    text = "Here is the description you asked for:\n```json\n" + json.dumps(ANSWER, indent=2) + "\n```\nHope it helps!"
    stub.add_response("converse", converse_response(text))

    assert BedrockCaptioner(client=client, model_id="m").describe(request(COVER)) == Caption(**ANSWER)


def test_text_blocks_are_joined(client: Any, stub: Stubber) -> None:
    text = json.dumps(ANSWER)
    response = converse_response("")
    response["output"]["message"]["content"] = [{"text": text[:20]}, {"text": text[20:]}]
    stub.add_response("converse", response)

    assert BedrockCaptioner(client=client, model_id="m").describe(request(COVER)) == Caption(**ANSWER)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(json.dumps({"caption": "A shirt.", "alt_text": "Shirt"}), id="missing-key"),
        pytest.param(json.dumps({**ANSWER, "description": "  "}), id="blank-value"),
        pytest.param(json.dumps({**ANSWER, "alt_text": 3}), id="not-a-string"),
        pytest.param("I cannot describe this image.", id="no-json"),
        pytest.param("{caption: a shirt}", id="broken-json"),
        pytest.param('["caption", "alt_text"]', id="not-an-object"),
        pytest.param("", id="empty"),
    ],
)
def test_an_unusable_answer_is_a_retryable_failure(client: Any, stub: Stubber, text: str) -> None:
    stub.add_response("converse", converse_response(text))

    with pytest.raises(CaptionFailed) as failed:
        BedrockCaptioner(client=client, model_id="m").describe(request(COVER))

    assert failed.value.retryable is True
    assert failed.value.reason.startswith("Bedrock")
    assert len(failed.value.reason) <= 300


def test_an_answer_cut_at_the_token_limit_says_so(client: Any, stub: Stubber) -> None:
    stub.add_response("converse", converse_response('{"caption": "A navy over', stop_reason="max_tokens"))

    with pytest.raises(CaptionFailed) as failed:
        BedrockCaptioner(client=client, model_id="m").describe(request(COVER))

    assert failed.value.retryable is True
    assert "token limit" in failed.value.reason


def test_a_long_answer_is_cut_to_the_limits(client: Any, stub: Stubber) -> None:
    long = {
        "caption": "  " + "c" * (MAX_CAPTION + 50),
        "alt_text": "a" * (MAX_ALT_TEXT + 50),
        "description": "d" * (MAX_DESCRIPTION + 50),
    }
    stub.add_response("converse", converse_response(json.dumps(long)))

    caption = BedrockCaptioner(client=client, model_id="m").describe(request(COVER))

    assert caption == Caption(caption="c" * MAX_CAPTION, alt_text="a" * MAX_ALT_TEXT, description="d" * MAX_DESCRIPTION)


# Errors


@pytest.mark.parametrize(
    ("code", "status", "retryable"),
    [
        ("ThrottlingException", 429, True),
        ("ServiceUnavailableException", 503, True),
        ("InternalServerException", 500, True),
        ("ModelTimeoutException", 408, True),
        ("ModelNotReadyException", 429, True),
        ("ValidationException", 400, False),
        ("AccessDeniedException", 403, False),
        ("ResourceNotFoundException", 404, False),
        ("ModelErrorException", 424, False),
        ("SomethingNewException", 400, False),
    ],
)
def test_client_errors(client: Any, stub: Stubber, code: str, status: int, retryable: bool) -> None:
    stub.add_client_error("converse", service_error_code=code, service_message="Rate exceeded", http_status_code=status)

    with pytest.raises(CaptionFailed) as failed:
        BedrockCaptioner(client=client, model_id="m").describe(request(COVER))

    assert failed.value.retryable is retryable
    assert failed.value.reason == f"Bedrock {code}: Rate exceeded"


class _Raising:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def converse(self, **params: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"), True),
        (EndpointConnectionError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"), True),
        (ParamValidationError(report="bad"), False),
    ],
)
def test_transport_errors(error: Exception, retryable: bool) -> None:
    with pytest.raises(CaptionFailed) as failed:
        BedrockCaptioner(client=_Raising(error), model_id="m").describe(request(COVER))

    assert failed.value.retryable is retryable
    assert failed.value.reason.startswith("Bedrock")


def test_no_images_fails_without_a_call(client: Any, stub: Stubber) -> None:
    with pytest.raises(CaptionFailed) as failed:
        BedrockCaptioner(client=client, model_id="m").describe(request())

    assert failed.value.reason == "no image to caption"
    assert failed.value.retryable is False
    # A call would have found no response queued and raised, not CaptionFailed.
    stub.assert_no_pending_responses()


def test_an_unsupported_format_fails_without_a_call(client: Any, stub: Stubber) -> None:
    with pytest.raises(CaptionFailed) as failed:
        BedrockCaptioner(client=client, model_id="m").describe(request(CaptionImage(b"II*", "tiff", "cover")))

    assert failed.value.retryable is False
    assert "tiff" in failed.value.reason


# The client


def test_the_client_is_made_on_first_use_only(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("BEDROCK_REGION", "eu-west-1")
    get_settings.cache_clear()
    captioner = BedrockCaptioner()
    assert captioner._client is None
    assert captioner.model_id == get_settings().bedrock_model_id

    client = captioner.client

    assert client is captioner.client
    assert client.meta.service_model.service_name == "bedrock-runtime"
    assert client.meta.region_name == "eu-west-1"


def test_the_client_region_falls_back_to_the_aws_region(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.delenv("BEDROCK_REGION", raising=False)
    settings_env.setenv("AWS_DEFAULT_REGION", "us-west-2")
    get_settings.cache_clear()

    client = _make_client()

    assert client.meta.region_name == "us-west-2"
    assert client.meta.config.read_timeout == 25
    assert client.meta.config.connect_timeout == 5
    # botocore keeps retries["max_attempts"] (retries after the first call) as a total.
    assert client.meta.config.retries["total_max_attempts"] == 3
    assert client.meta.config.retries["mode"] == "standard"
