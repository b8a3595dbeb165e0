"""Captioning: a written description of a garment from its cover (and back) image.

One small interface, `Captioner`, with two backends chosen by `settings.captioner`:
`local` (chalicelib.services.captioning.local: Pillow reads the pixels, no network) and
`bedrock` (chalicelib.services.captioning.bedrock: Amazon Bedrock Runtime `converse`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

# The wire's limits (MediaResourcePublic.caption / alt_text, ProductPublic.description).
MAX_CAPTION = 3000
MAX_ALT_TEXT = 1000
MAX_DESCRIPTION = 3000


@dataclass(frozen=True)
class CaptionImage:
    data: bytes
    # Pillow's format, lower case: "jpeg", "png", "webp" or "gif".
    format: str
    # "cover" or "back".
    role: str


@dataclass(frozen=True)
class CaptionRequest:
    images: list[CaptionImage]
    # The product's own fields (name, brand, type, colour, materials, gender, season, ...),
    # as stored; a backend may use them to word its answer, never to replace what it sees.
    product: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Caption:
    caption: str
    alt_text: str
    description: str

    def bounded(self) -> Caption:
        """Cut to the wire's limits: a model's answer is not input and must not fail a write."""
        return Caption(
            caption=self.caption.strip()[:MAX_CAPTION],
            alt_text=self.alt_text.strip()[:MAX_ALT_TEXT],
            description=self.description.strip()[:MAX_DESCRIPTION],
        )


class CaptionFailed(Exception):
    """A backend could not caption. `retryable`: worth another delivery (throttling, a timeout);
    else the job ends FAILED at once (the image or the answer is unusable)."""

    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Captioner(Protocol):
    def describe(self, request: CaptionRequest) -> Caption: ...


def build_captioner(name: str) -> Captioner:
    if name == "bedrock":
        from chalicelib.services.captioning.bedrock import BedrockCaptioner

        return BedrockCaptioner()
    from chalicelib.services.captioning.local import LocalCaptioner

    return LocalCaptioner()
