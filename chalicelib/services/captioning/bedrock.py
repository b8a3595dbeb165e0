"""The production captioner: Amazon Bedrock Runtime's `converse` with the garment's images.

The model is asked for one JSON object (caption, alt text, product-page description); whatever
it answers around that object is ignored. Every failure becomes `CaptionFailed`, retryable when
another delivery may succeed (throttling, timeouts, an answer that did not parse).
"""

from __future__ import annotations

import json
import threading
from enum import Enum
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from chalicelib.config import get_settings
from chalicelib.services.captioning import Caption, CaptionFailed, CaptionImage, CaptionRequest

# The image formats Bedrock's converse accepts in an image block.
SUPPORTED_FORMATS = frozenset({"jpeg", "png", "webp", "gif"})

# Enough for a paragraph-long description plus the JSON around it; an answer cut here fails to
# parse and is retried rather than stored half-written.
MAX_TOKENS = 1024
TEMPERATURE = 0.2

RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelTimeoutException",
        "ModelNotReadyException",
    }
)

# Reasons are stored and shown to people: keep them to a line.
MAX_REASON = 300

# The product fields given to the model as context, with the label the prompt uses. Some
# appear under two names (the stored item and the public schema differ).
_PRODUCT_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Name", ("name",)),
    ("Brand", ("brand",)),
    ("Type", ("product_type", "type")),
    ("Colour", ("colour", "color")),
    ("Materials", ("materials",)),
    ("Gender", ("gender",)),
    ("Season", ("season",)),
    ("Year", ("year",)),
)

_ROLE_ORDER = {"cover": 0, "back": 1}

SYSTEM_PROMPT = (
    "You write product copy for a fashion catalogue from photographs of a garment. "
    "You describe only what the images show and what the catalogue tells you. "
    "You answer with a single JSON object and nothing else."
)


def _text(value: Any) -> str:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(part for part in (_text(item) for item in value) if part)
    return "" if value is None else str(value).strip()


def product_context(product: dict[str, Any]) -> list[str]:
    """`Label: value` lines for the product fields that are present and non-empty."""
    lines: list[str] = []
    for label, keys in _PRODUCT_FIELDS:
        for key in keys:
            value = _text(product.get(key))
            if value:
                lines.append(f"{label}: {value}")
                break
    return lines


def build_prompt(request: CaptionRequest) -> str:
    roles = [image.role for image in ordered_images(request.images)]
    if roles == ["cover"]:
        seen = "The image shows the garment's front (cover)."
    else:
        seen = "The images show the garment in this order: " + ", ".join(roles) + "."
    context = product_context(request.product)
    known = (
        "What the catalogue knows about the product:\n" + "\n".join(f"- {line}" for line in context)
        if context
        else "The catalogue gives no details about the product."
    )
    return "\n\n".join(
        [
            f"Describe this garment for a product page. {seen}",
            known,
            "Answer with a JSON object with exactly these keys, each a non-empty string:\n"
            '- "caption": one or two sentences describing the garment as seen in the images.\n'
            '- "alt_text": a short description for screen readers, at most 125 characters.\n'
            '- "description": a product-page description, one short paragraph.',
            "Do not invent a brand name or a material that you cannot see in the images and that the "
            "catalogue does not give. Use the catalogue's details where they agree with the images; "
            "describe colour, cut, and visible details from the images.",
            "Reply with the JSON object only, no other text.",
        ]
    )


def ordered_images(images: list[CaptionImage]) -> list[CaptionImage]:
    """Cover first, then back, then anything else in the order given."""
    return sorted(images, key=lambda image: _ROLE_ORDER.get(image.role, len(_ROLE_ORDER)))


def build_request(request: CaptionRequest, model_id: str) -> dict[str, Any]:
    """The keyword arguments of `converse` for this request."""
    content: list[dict[str, Any]] = [
        {"image": {"format": image.format, "source": {"bytes": image.data}}} for image in ordered_images(request.images)
    ]
    content.append({"text": build_prompt(request)})
    return {
        "modelId": model_id,
        "system": [{"text": SYSTEM_PROMPT}],
        "messages": [{"role": "user", "content": content}],
        "inferenceConfig": {"maxTokens": MAX_TOKENS, "temperature": TEMPERATURE},
    }


def _reason(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def _extract_json(text: str) -> Any:
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end < start:
        raise ValueError("no JSON object")
    return json.loads(text[start : end + 1])


def parse_answer(response: dict[str, Any]) -> Caption:
    """The caption in a `converse` response; CaptionFailed (retryable) when it is unusable."""
    stop = response.get("stopReason")
    cut = " (cut at the token limit)" if stop == "max_tokens" else ""
    content = ((response.get("output") or {}).get("message") or {}).get("content") or []
    text = "".join(block["text"] for block in content if isinstance(block.get("text"), str)).strip()
    if not text:
        raise CaptionFailed(_reason(f"Bedrock returned no text (stopReason {stop}){cut}"), retryable=True)
    try:
        answer = _extract_json(text)
    except ValueError as error:
        # json.JSONDecodeError is a ValueError.
        raise CaptionFailed(_reason(f"Bedrock answer is not JSON{cut}: {error}"), retryable=True) from None
    if not isinstance(answer, dict):
        raise CaptionFailed(f"Bedrock answer is not a JSON object{cut}", retryable=True)
    missing = [
        key
        for key in ("caption", "alt_text", "description")
        if not isinstance(answer.get(key), str) or not answer[key].strip()
    ]
    if missing:
        raise CaptionFailed(_reason(f"Bedrock answer lacks {', '.join(missing)}{cut}"), retryable=True)
    return Caption(caption=answer["caption"], alt_text=answer["alt_text"], description=answer["description"]).bounded()


class BedrockCaptioner:
    def __init__(self, client: Any | None = None, model_id: str | None = None) -> None:
        self._client = client
        self._model_id = model_id or get_settings().bedrock_model_id
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def client(self) -> Any:
        # Made on first use: importing this module or building a captioner that never captions
        # (e.g. a request whose caption the worker takes over) costs no client.
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = _make_client()
        return self._client

    def describe(self, request: CaptionRequest) -> Caption:
        if not request.images:
            raise CaptionFailed("no image to caption", retryable=False)
        unsupported = sorted({image.format for image in request.images} - SUPPORTED_FORMATS)
        if unsupported:
            raise CaptionFailed(
                _reason(f"image format not supported by Bedrock: {', '.join(unsupported)}"), retryable=False
            )
        try:
            response = self.client.converse(**build_request(request, self._model_id))
        except ClientError as error:
            details = error.response.get("Error", {})
            code = str(details.get("Code") or "UnknownError")
            message = str(details.get("Message") or "").strip()
            reason = f"Bedrock {code}: {message}" if message else f"Bedrock {code}"
            raise CaptionFailed(_reason(reason), retryable=code in RETRYABLE_CODES) from error
        except (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError, ConnectionClosedError) as error:
            raise CaptionFailed(_reason(f"Bedrock unreachable: {error}"), retryable=True) from error
        except BotoCoreError as error:
            # The rest (bad parameters, no credentials) will not mend on another delivery.
            raise CaptionFailed(_reason(f"Bedrock call failed: {error}"), retryable=False) from error
        return parse_answer(response)


def _make_client() -> Any:
    import boto3
    from botocore.config import Config

    settings = get_settings()
    # A session of its own: boto3's default session is not safe to build clients from in
    # several threads at once.
    session = boto3.session.Session()
    return session.client(
        "bedrock-runtime",
        region_name=settings.bedrock_region or settings.aws_region,
        config=Config(connect_timeout=5, read_timeout=25, retries={"max_attempts": 2, "mode": "standard"}),
    )
