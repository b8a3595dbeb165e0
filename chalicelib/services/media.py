"""Image inputs of a product: URLs, base64 strings, data URLs and media references.

Bytes are decoded and checked to be a real image (Pillow) before anything is stored. Every
media resource a product shows belongs to that product alone: a reference to another
product's media is copied, so deleting one product never breaks another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import uuid
import warnings
from dataclasses import dataclass, field
from typing import Any

from chalicelib.config import get_settings
from chalicelib.errors import InvalidField
from chalicelib.schemas.common import iso, utcnow
from chalicelib.schemas.products import MAX_URL_LENGTH, MediaInput, MediaResourcePublic
from chalicelib.store.blobs import ImageStore, ObjectChanged, media_id_of_key, product_image_key
from chalicelib.store.models import MediaItem

_FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
    "GIF": ("gif", "image/gif"),
}
_DATA_URL = re.compile(r"^data:(?P<mime>[\w/+.-]*)(;[\w=.-]+)*;base64,(?P<data>.*)$", re.DOTALL)
_MEDIA_OVERRIDES = ("alt_text", "caption", "color_profile", "dominant_color", "duration", "protected")


@dataclass
class InspectedImage:
    data: bytes
    extension: str
    content_type: str
    width: int
    height: int
    mode: str
    dominant_color: str


class ImageRejected(Exception):
    """The bytes are not an image this service takes; `reason` is shown to the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def examine_image(data: bytes) -> InspectedImage:
    """Check that `data` is a whole image of a format we take, within the byte and pixel limits.

    The pixel limit is checked from the header, before anything is decoded (a decompression
    bomb is refused without allocating it); the image is then decoded (at a reduced scale where
    the format allows), which finds a truncated file that `verify()` alone lets through.
    """
    # Imported here, not at module level: only image uploads need Pillow (~9 ms of a cold start).
    from PIL import Image, UnidentifiedImageError

    settings = get_settings()
    if len(data) > settings.max_image_bytes:
        raise ImageRejected(f"Image is larger than {settings.max_image_bytes} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format or ""
                width, height = probe.size
                if width * height > settings.max_image_pixels:
                    raise ImageRejected(
                        f"Image has too many pixels ({width}x{height}; at most {settings.max_image_pixels})"
                    )
                probe.verify()
            with Image.open(io.BytesIO(data)) as img:
                mode = img.mode
                img.draft("RGB", (64, 64))
                img.load()
                pixel = img.convert("RGB").resize((1, 1)).getpixel((0, 0))
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own limit, met while reading the header, above ours: the same refusal.
        raise ImageRejected(f"Image has too many pixels (at most {settings.max_image_pixels})") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(f"Not a valid image: {exc.__class__.__name__}") from exc
    if fmt not in _FORMATS:
        raise ImageRejected(f"Unsupported image format {fmt or 'unknown'}; use JPEG, PNG, WEBP or GIF")
    extension, content_type = _FORMATS[fmt]
    r, g, b = pixel if isinstance(pixel, tuple) else (0, 0, 0)
    return InspectedImage(data, extension, content_type, width, height, mode, f"#{r:02x}{g:02x}{b:02x}")


def inspect_image(data: bytes, loc: list[str | int]) -> InspectedImage:
    """`examine_image` for a request's input: a refusal is a 422 at `loc`."""
    try:
        return examine_image(data)
    except ImageRejected as exc:
        raise InvalidField.single(loc, exc.reason, None) from exc


def media_public(media_id: str, url: str, image: InspectedImage, created_at: str) -> dict[str, Any]:
    """A stored image's public fields (MediaResourcePublic as JSON), from its inspection."""
    width, height = image.width, image.height
    return MediaResourcePublic.model_validate(
        {
            "id": media_id,
            "url": url,
            "content_hash": hashlib.sha256(image.data).hexdigest(),
            "extension": image.extension,
            "file_size": len(image.data),
            "width": width,
            "height": height,
            "aspect_ratio": round(width / height, 4) if height else None,
            "orientation": "square" if width == height else ("landscape" if width > height else "portrait"),
            "dominant_color": image.dominant_color,
            "color_profile": image.mode,
            "created_at": created_at,
        }
    ).model_dump(mode="json")


def decode_image_string(value: str, loc: list[str | int]) -> bytes | None:
    """Bytes of a base64 string or data URL; None for an http(s) URL."""
    if value.startswith(("http://", "https://")):
        return None
    match = _DATA_URL.match(value)
    payload = match.group("data") if match else value
    try:
        return base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidField.single(
            loc, "Image must be an http(s) URL, a base64 string, a data URL or a MediaInput", value[:100]
        ) from exc


@dataclass
class ResolvedImage:
    url: str
    media: dict[str, Any] | None = None


@dataclass
class MediaPlan:
    """What storing a product's images takes: objects to write or copy, records to add."""

    product_id: str
    owner_id: str
    uploads: list[tuple[str, bytes, str]] = field(default_factory=list)
    copies: list[tuple[str, str]] = field(default_factory=list)
    new_items: list[MediaItem] = field(default_factory=list)
    # A product's own image named again is reused (the product's fields point at one record);
    # False copies it, for an image that must outlive the product's own changes (a revision's).
    reuse_own: bool = True
    # Copies of uploads, by target key: the ETag the ingest inspected (the signed form may be
    # posted again until it expires: only the inspected object is copied).
    copy_if_match: dict[str, str] = field(default_factory=dict)


def store_objects(images: ImageStore, plan: MediaPlan) -> None:
    """Write a plan's new objects and copies (before the records that name them)."""
    for key, data, content_type in plan.uploads:
        images.put(key, data, content_type)
    for source, target in plan.copies:
        try:
            images.copy(source, target, if_match=plan.copy_if_match.get(target))
        except ObjectChanged as exc:
            raise InvalidField.single(
                [], "An uploaded image was replaced while it was being used; upload it again", source, "media_changed"
            ) from exc


class MediaResolver:
    """Turns image inputs into URLs and media records for one product write.

    Where new objects go (`new_key`), which of our keys name a media resource (`media_id_of`) and
    which resources are shared rather than copied (`shares`) are the three things a subclass may
    change (services/generations.py keeps result images under the product's generations prefix).
    """

    def __init__(self, plan: MediaPlan, lookup: Any, can_use: Any) -> None:
        self.plan = plan
        self._lookup = lookup  # media_id -> MediaItem | None
        self._can_use = can_use  # MediaItem -> bool

    def new_key(self, media_id: str, extension: str) -> str:
        return product_image_key(self.plan.product_id, media_id, extension)

    def media_id_of(self, key: str) -> str | None:
        return media_id_of_key(key)

    def shares(self, source: MediaItem) -> bool:
        return source.product_id == self.plan.product_id and self.plan.reuse_own

    def resolve(self, value: str | MediaInput, loc: list[str | int]) -> ResolvedImage:
        if isinstance(value, MediaInput):
            overrides = value.model_dump(include=set(_MEDIA_OVERRIDES), exclude_unset=True)
            if value.media_resource_id is not None:
                return self._from_media(str(value.media_resource_id), overrides, loc)
            assert value.url is not None
            return self._from_url(value.url, overrides, loc)
        data = decode_image_string(value, loc)
        if data is None:
            return self._from_url(value, {}, loc)
        return self._from_bytes(inspect_image(data, loc))

    def _from_url(self, url: str, overrides: dict[str, Any], loc: list[str | int]) -> ResolvedImage:
        if not url.startswith(("http://", "https://")):
            raise InvalidField.single(loc, "URL must start with http:// or https://", url[:100])
        if len(url) > MAX_URL_LENGTH:
            raise InvalidField.single(
                loc, f"URL should have at most {MAX_URL_LENGTH} characters", url[:100], "string_too_long"
            )
        key = get_settings().media_key_from_url(url)
        media_id = self.media_id_of(key) if key else None
        if media_id is None:
            # An outside URL is kept as a link: the service does not fetch arbitrary URLs.
            return ResolvedImage(url=url)
        return self._from_media(media_id, overrides, loc)

    def _from_media(self, media_id: str, overrides: dict[str, Any], loc: list[str | int]) -> ResolvedImage:
        source = self._lookup(media_id)
        if source is None or not self._can_use(source):
            raise InvalidField.single(loc, "Media resource not found", media_id, "media_not_found")
        if not source.ready:
            reason = f": {source.failure_reason}" if source.failure_reason else ""
            raise InvalidField.single(
                loc,
                f"Media resource is not ready (its upload is {str(source.status).lower()}{reason})",
                media_id,
                "media_not_ready",
            )
        public = source.public_fields()
        if self.shares(source):
            if overrides:
                public.update(overrides)
            return ResolvedImage(url=public["url"], media=public)
        new_id = str(uuid.uuid4())
        key = self.new_key(new_id, str(public["extension"]))
        self.plan.copies.append((source.key, key))
        if source.product_id is None and source.etag:
            self.plan.copy_if_match[key] = source.etag
        public.update(overrides)
        public.update(id=new_id, url=get_settings().media_url(key), created_at=iso(utcnow()))
        self._add_item(new_id, key, public)
        return ResolvedImage(url=public["url"], media=public)

    def _from_bytes(self, image: InspectedImage) -> ResolvedImage:
        media_id = str(uuid.uuid4())
        key = self.new_key(media_id, image.extension)
        self.plan.uploads.append((key, image.data, image.content_type))
        public = media_public(media_id, get_settings().media_url(key), image, iso(utcnow()))
        self._add_item(media_id, key, public)
        return ResolvedImage(url=public["url"], media=public)

    def _add_item(self, media_id: str, key: str, public: dict[str, Any]) -> None:
        self.plan.new_items.append(
            MediaItem(
                id=media_id,
                product_id=self.plan.product_id,
                owner_id=self.plan.owner_id,
                key=key,
                public=public,
                created_at=public["created_at"],
            )
        )
