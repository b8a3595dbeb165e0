"""Products on the wire: ProductCreate, ProductUpdate, ProductPublic, ProductsPublic, media."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from chalicelib.schemas.common import WireModel, not_nullable
from chalicelib.schemas.enums import (
    AgeClass,
    MediaResourceType,
    ProductGender,
    ProductPlacement,
    ProductShootingStatus,
    ProductSortField,
    ShotStatusFilter,
    SortOrder,
)

Str100 = Annotated[str, Field(max_length=100)]
Str255 = Annotated[str, Field(max_length=255)]
Str1000 = Annotated[str, Field(max_length=1000)]


MAX_BRAND_METADATA_BYTES = 64 * 1024


def _bounded_metadata(value: dict[str, Any]) -> dict[str, Any]:
    # The product is one DynamoDB item (400 KB at most): an unbounded map would fail the write.
    size = len(json.dumps(value, default=str).encode())
    if size > MAX_BRAND_METADATA_BYTES:
        raise ValueError(f"brand_metadata is {size} bytes as JSON; at most {MAX_BRAND_METADATA_BYTES}")
    return value


BrandMetadata = Annotated[dict[str, Any], AfterValidator(_bounded_metadata)]


# Longer URLs are refused: a product holds up to 42 of them in one DynamoDB item (400 KB).
MAX_URL_LENGTH = 2048


class MediaInput(WireModel):
    """An image given by reference: an existing media resource, or a URL."""

    media_resource_id: uuid.UUID | None = None
    url: str | None = Field(default=None, max_length=MAX_URL_LENGTH)
    alt_text: str | None = Field(default=None, max_length=1000)
    caption: str | None = Field(default=None, max_length=3000)
    color_profile: str | None = Field(default=None, max_length=100)
    dominant_color: str | None = Field(default=None, max_length=32)
    duration: float | None = None
    height: int | None = Field(default=None, ge=0)
    width: int | None = Field(default=None, ge=0)
    protected: bool = False

    @model_validator(mode="after")
    def _has_source(self) -> MediaInput:
        if self.media_resource_id is None and not self.url:
            raise ValueError("MediaInput needs media_resource_id or url")
        return self


ImageInput = str | MediaInput


class MediaResourcePublic(WireModel):
    id: uuid.UUID
    url: str
    resource_type: MediaResourceType = MediaResourceType.IMAGE
    content_hash: str
    extension: str
    file_size: int
    width: int | None = None
    height: int | None = None
    aspect_ratio: float | None = None
    orientation: str | None = None
    dominant_color: str | None = None
    color_profile: str | None = None
    duration: float | None = None
    alt_text: str | None = None
    caption: str | None = None
    protected: bool = False
    created_at: datetime


class _ProductFields(WireModel):
    """Descriptive fields common to create and update."""

    sku: str | None = Field(default=None, max_length=255)
    brand: Str1000 | None = None
    master_item_code: Str255 | None = None
    product_type_id: uuid.UUID | None = None
    age_class: AgeClass | None = None
    type: str | None = Field(default=None, max_length=255)
    category: str | None = Field(default=None, max_length=255)
    sleeve_type: Str100 | None = None
    neckline: Str100 | None = None
    closure_type: Str100 | None = None
    fit_type: Str100 | None = None
    length_type: Str100 | None = None
    pattern: Str255 | None = None
    materials: Str1000 | None = None
    colour: Str255 | None = None
    season: Str100 | None = None
    year: int | None = Field(default=None, ge=1900, le=2200)
    style_code: Str255 | None = None
    in_store_date: datetime | None = None
    theme: Str255 | None = None
    brand_collection: Str255 | None = None
    description: str | None = Field(default=None, max_length=3000)
    back_description: Str1000 | None = None
    ecommerce_description: str | None = Field(default=None, max_length=5000)
    brand_metadata: BrandMetadata | None = None
    back_image: ImageInput | None = None
    reference_images: list[ImageInput] | None = None
    data_images: list[str] | None = None
    is_filler: bool | None = None
    organization_id: uuid.UUID | None = None


class ProductCreate(_ProductFields):
    name: str = Field(max_length=255, min_length=1)
    gender: ProductGender | None = ProductGender.UNISEX
    cover_image: ImageInput
    public: bool = False


# Fields of an update that may be left out but not cleared (the product service refuses null).
NOT_NULLABLE_UPDATES = ("name", "public", "enabled")


class ProductUpdate(_ProductFields):
    """Partial: only the fields sent are changed (see `model_fields_set`)."""

    model_config = ConfigDict(json_schema_extra=not_nullable(*NOT_NULLABLE_UPDATES))

    name: str | None = Field(default=None, max_length=255, min_length=1)
    gender: ProductGender | None = None
    cover_image: ImageInput | None = None
    public: bool | None = None
    materials: str | None = Field(default=None, max_length=5000)
    # Extension of the reference: true completes a `mode=basic` draft.
    enabled: bool | None = None


class ProductPublic(WireModel):
    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    sku: str | None = None
    name: str
    brand: str | None = None
    master_item_code: str | None = None
    product_family: str | None = None
    product_type: str | None = None
    product_type_id: uuid.UUID | None = None
    gender: ProductGender
    age_class: AgeClass | None = None
    placement: ProductPlacement | None = None
    zone: str | None = None
    type: str | None = None
    category: str | None = None
    sleeve_type: str | None = None
    neckline: str | None = None
    closure_type: str | None = None
    fit_type: str | None = None
    length_type: str | None = None
    pattern: str | None = None
    materials: str | None = None
    colour: str | None = None
    season: str | None = None
    year: int | None = None
    style_code: str | None = None
    in_store_date: datetime | None = None
    theme: str | None = None
    brand_collection: str | None = None
    description: str | None = None
    back_description: str | None = None
    ecommerce_description: str | None = None
    # An output model carries no input rules: what was stored is shown as stored.
    brand_metadata: dict[str, Any] | None = None
    cover_image_url: str | None = None
    back_image_url: str | None = None
    reference_images: list[str] = Field(default_factory=list)
    cover_image_media: MediaResourcePublic | None = None
    back_image_media: MediaResourcePublic | None = None
    reference_images_media: list[MediaResourcePublic] | None = None
    data_image_urls: list[str] = Field(default_factory=list)
    public: bool
    enabled: bool
    archived: bool
    demo: bool
    is_filler: bool
    owner_id: uuid.UUID
    organization_id: uuid.UUID | None = None
    shot_status: ProductShootingStatus | None = None
    shot_status_shooting_look_id: uuid.UUID | None = None
    integration_name: str | None = None
    exports_completed: int | None = None
    exports_total: int | None = None
    shots: list[Any] = Field(default_factory=list)
    # The reference's `Product` fields for captioning (an extension of ProductPublic here, so a
    # client sees a caption's progress): caption_status takes TaskStatus values.
    caption_task_id: str | None = None
    caption_status: str | None = None
    caption_retry_count: int = 0


# ProductPublic's fields that the service derives rather than stores as written.
DERIVED_FIELDS = frozenset(
    {
        "id",
        "created_at",
        "updated_at",
        "owner_id",
        "organization_id",
        "product_family",
        "product_type",
        "placement",
        "zone",
        "shot_status",
        "shot_status_shooting_look_id",
        "integration_name",
        "exports_completed",
        "exports_total",
        "shots",
        "caption_task_id",
        "caption_status",
        "caption_retry_count",
    }
)
# The fields of a product's stored document: ProductPublic's, less the derived ones.
STORED_FIELDS = tuple(name for name in ProductPublic.model_fields if name not in DERIVED_FIELDS)


class ProductsPublic(WireModel):
    data: list[ProductPublic]
    count: int
    next_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` (with the same filters and order) for the page after this one; "
        "null on the last page.",
    )


class ProductListQuery(WireModel):
    """GET /products/ query parameters; absent filters do not filter."""

    model_config = ConfigDict(extra="ignore")

    archived: bool | None = None
    brand: str | None = None
    brand_collection: list[str] | None = None
    demo: bool | None = None
    enabled: bool | None = True
    gender: ProductGender | None = None
    is_filler: bool | None = None
    is_public: bool | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    organization_id: uuid.UUID | None = None
    product_type: str | None = None
    search: str | None = None
    season: str | None = None
    shooting_id: uuid.UUID | None = None
    shot_statuses: list[ShotStatusFilter] | None = None
    skip: int = Field(default=0, ge=0)
    cursor: str | None = Field(
        default=None,
        max_length=1024,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The `next_cursor` of the previous page: the page starts after its last item, "
        "whatever was added or removed before it since. `skip` then counts from there.",
    )
    sort_by: ProductSortField | None = None
    sort_order: SortOrder = SortOrder.DESC
    year: int | None = None


class OrganizationQuery(WireModel):
    model_config = ConfigDict(extra="ignore")

    organization_id: uuid.UUID | None = None


class CreateQuery(OrganizationQuery):
    mode: Literal["basic", "complete"] = "complete"
    sync_captioning: bool = True


class ArchivedQuery(OrganizationQuery):
    archived: bool
