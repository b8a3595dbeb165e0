"""Generations, predictions, refines and selected shots on the wire.

Output models mirror the reference's tables (GenerationPublic, PredictionPublic, RefinePublic,
Product) field for field; a field the reference types is typed so, one it leaves untyped is
nullable. Output models carry no input rules: what was stored is shown as stored. The inputs
(`GenerationCreate`, `PredictionUpdate`, `RefineCreate`, `RefineUpdate`) are this service's own:
the reference names the read side only; their bounds keep a generation (one DynamoDB item with
its predictions and refines) within 400 KB, and `SelectedShotRequest` is the reference's.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, RootModel, field_validator

from chalicelib.schemas.common import PageQuery, WireModel, not_nullable
from chalicelib.schemas.enums import (
    AgeClass,
    GenerationStatus,
    GenerationStrategy,
    GenerationType,
    PredictionStatus,
    ProductGender,
    RefineStatus,
)
from chalicelib.schemas.products import MAX_URL_LENGTH, MediaInput, MediaResourcePublic

# Budgets of one generation item (see the module docstring of store/generation_models.py).
MAX_BATCH_SIZE = 8
MAX_REFINES_PER_PREDICTION = 20
MAX_REFERENCE_IMAGE_PATHS = 20
MAX_SELECTED_SHOTS = 50
MAX_PROMPT = 5000
MAX_DESCRIPTION = 3000
MAX_MESSAGE = 2000
MAX_SHORT = 255
MAX_SEED = 2**32 - 1


class _Input(WireModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")


# Documented for the fields `_http_url` checks.
HTTP_URL: dict[str, Any] = {"pattern": "^https?://"}


def _http_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("URL must start with http:// or https://")
    return value


_NOT_NULL = "Field cannot be null"


# -- inputs --------------------------------------------------------------------------------


class GenerationCreate(_Input):
    """POST /generations/: the product, the batch, and GenerationPublic's input fields."""

    product_id: uuid.UUID
    batch_size: int = Field(ge=1, le=MAX_BATCH_SIZE)
    organization_id: uuid.UUID | None = None
    shooting_look_id: uuid.UUID | None = None
    shot_id: uuid.UUID | None = None

    negative_prompt: str | None = Field(default=None, max_length=MAX_PROMPT)
    generated_prompt: str | None = Field(default=None, max_length=MAX_PROMPT)
    extra_prompt: str | None = Field(default=None, max_length=MAX_PROMPT)
    subject_id: uuid.UUID | None = None
    subject_image_url: str | None = Field(default=None, max_length=MAX_URL_LENGTH, json_schema_extra=HTTP_URL)
    subject_lora_weight: float = Field(default=1.0, ge=-10, le=10, allow_inf_nan=False)
    subject_description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    product_image_url: str | None = Field(default=None, max_length=MAX_URL_LENGTH, json_schema_extra=HTTP_URL)
    product_lora_weight: float = Field(default=1.0, ge=-10, le=10, allow_inf_nan=False)
    product_description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    product2_id: uuid.UUID | None = None
    product2_image_url: str | None = Field(default=None, max_length=MAX_URL_LENGTH, json_schema_extra=HTTP_URL)
    product2_lora_weight: float = Field(default=1.0, ge=-10, le=10, allow_inf_nan=False)
    product2_description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    style_id: uuid.UUID | None = None
    style_name: str | None = Field(default=None, max_length=MAX_SHORT)
    style_description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    width: int = Field(default=1024, ge=64, le=8192)
    height: int = Field(default=1024, ge=64, le=8192)
    steps: int = Field(default=30, ge=1, le=500)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    refine: bool = False
    revised: bool = False
    scale_factor: float | None = Field(default=None, gt=0, le=16, allow_inf_nan=False)
    lighting: str | None = Field(default=None, max_length=MAX_SHORT)
    framing: str | None = Field(default=None, max_length=MAX_SHORT)
    perspective: str | None = Field(default=None, max_length=MAX_SHORT)
    background: str | None = Field(default=None, max_length=MAX_SHORT)
    tone: str | None = Field(default=None, max_length=MAX_SHORT)
    pose: str | None = Field(default=None, max_length=MAX_SHORT)
    generation_type: GenerationType = GenerationType.BASE
    generation_strategy: GenerationStrategy = GenerationStrategy.GENERATE
    tool: str | None = Field(default=None, max_length=100)
    shot_type_id: uuid.UUID | None = None
    shot_type_string: str | None = Field(default=None, max_length=MAX_SHORT)
    has_subject_lora: bool = False
    has_product_lora: bool = False
    has_product2_lora: bool = False
    has_style_lora: bool = False
    garment_placement_base_image_url: str | None = Field(
        default=None, max_length=MAX_URL_LENGTH, json_schema_extra=HTTP_URL
    )
    reference_images_paths: list[str] = Field(default_factory=list, max_length=MAX_REFERENCE_IMAGE_PATHS)
    generative_models_id: uuid.UUID | None = None
    autogenerated: bool = False

    @field_validator("subject_image_url", "product_image_url", "product2_image_url", "garment_placement_base_image_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return _http_url(value)

    @field_validator("reference_images_paths")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        for path in value:
            if len(path) > MAX_URL_LENGTH:
                raise ValueError(f"Each path should have at most {MAX_URL_LENGTH} characters")
        return value


# Fields of GenerationCreate that are not the generation's own document.
CREATE_ONLY_FIELDS = frozenset({"product_id", "batch_size", "organization_id"})


class PredictionUpdate(_Input):
    """PATCH /predictions/{id}: what the generation service records. Only the fields sent change;
    `result_image: null` clears the image, a null status, seed or favourite is refused."""

    model_config = ConfigDict(json_schema_extra=not_nullable("status", "seed", "favourite"))

    status: PredictionStatus | None = None
    result_image: str | MediaInput | None = None
    result_video_url: str | None = Field(default=None, max_length=MAX_URL_LENGTH, json_schema_extra=HTTP_URL)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    duration_seconds: float | None = Field(default=None, ge=0, le=86400, allow_inf_nan=False)
    error_message: str | None = Field(default=None, max_length=MAX_MESSAGE)
    error_category: str | None = Field(default=None, max_length=100)
    shot_type: str | None = Field(default=None, max_length=100)
    favourite: bool | None = None

    @field_validator("status", "seed", "favourite", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError(_NOT_NULL)
        return value

    @field_validator("result_video_url")
    @classmethod
    def _video_url(cls, value: str | None) -> str | None:
        return _http_url(value)


class _RefineFields(_Input):
    result_image: str | MediaInput | None = None
    width: int | None = Field(default=None, ge=1, le=16384)
    height: int | None = Field(default=None, ge=1, le=16384)
    scale_factor: float | None = Field(default=None, gt=0, le=16, allow_inf_nan=False)
    prompt: str | None = Field(default=None, max_length=MAX_MESSAGE)
    task_id: str | None = Field(default=None, max_length=MAX_SHORT)
    error_message: str | None = Field(default=None, max_length=MAX_MESSAGE)
    error_category: str | None = Field(default=None, max_length=100)


class RefineCreate(_RefineFields):
    """POST /predictions/{id}/refines: a refine of the prediction (or of one of its refines)."""

    status: RefineStatus = RefineStatus.PENDING
    refine_model_id: str | None = Field(default=None, max_length=MAX_SHORT)
    refines_refine_id: uuid.UUID | None = None


class RefineUpdate(_RefineFields):
    """PATCH /refines/{id}: only the fields sent change; a null status is refused."""

    model_config = ConfigDict(json_schema_extra=not_nullable("status"))

    status: RefineStatus | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError(_NOT_NULL)
        return value


class SelectedShotRequest(WireModel):
    """The reference's body: `id`, `created_at`, `updated_at` are accepted and ignored."""

    model_config = ConfigDict(defer_build=True, extra="ignore")

    id: uuid.UUID | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    product_id: uuid.UUID
    shot_type: str = Field(min_length=1, max_length=100)
    prediction_id: uuid.UUID | None = None


class GenerationListQuery(PageQuery):
    """GET /products/{id}/generations. At most 100 a page: each generation carries its
    predictions and refines, and a Lambda answer is at most 6 MB."""

    organization_id: uuid.UUID | None = None
    limit: int = Field(default=100, ge=1, le=100)


# -- outputs -------------------------------------------------------------------------------


class RefinePublic(WireModel):
    created_at: datetime
    error_category: str | None = None
    error_message: str | None = None
    height: int | None = None
    id: uuid.UUID
    prediction_id: uuid.UUID
    prompt: str | None = None
    refine_model_id: str | None = None
    refines_refine_id: uuid.UUID | None = None
    result_image_media: MediaResourcePublic | None = None
    result_image_url: str | None = None
    scale_factor: float | None = None
    status: RefineStatus
    task_id: str | None = None
    updated_at: datetime
    width: int | None = None


class PredictionPublic(WireModel):
    created_at: datetime
    duration_seconds: float | None = None
    error_category: str | None = None
    error_message: str | None = None
    favourite: bool
    generation_id: uuid.UUID
    id: uuid.UUID
    # The most recent successful refine's result_image_url (the reference's computed field).
    refined_image_url: str | None = None
    refines: list[RefinePublic]
    result_image_media: MediaResourcePublic | None = None
    result_image_url: str | None = None
    result_video_media: MediaResourcePublic | None = None
    result_video_url: str | None = None
    seed: int
    shot_type: str | None = None
    status: PredictionStatus
    updated_at: datetime


class GenerationPublic(WireModel):
    autogenerated: bool
    background: str | None = None
    batch_size: int
    created_at: datetime
    extra_prompt: str | None = None
    framing: str | None = None
    garment_placement_base_image_media: MediaResourcePublic | None = None
    garment_placement_base_image_url: str | None = None
    generated_prompt: str | None = None
    generation_strategy: GenerationStrategy
    generation_type: GenerationType
    generative_models_id: uuid.UUID | None = None
    has_product2_lora: bool
    has_product_lora: bool
    has_style_lora: bool
    has_subject_lora: bool
    height: int
    id: uuid.UUID
    lighting: str | None = None
    negative_prompt: str | None = None
    organization_id: uuid.UUID | None = None
    owner_id: uuid.UUID
    perspective: str | None = None
    pose: str | None = None
    predictions: list[PredictionPublic]
    product2_description: str | None = None
    product2_id: uuid.UUID | None = None
    product2_image_media: MediaResourcePublic | None = None
    product2_image_url: str | None = None
    product2_lora_weight: float
    product_description: str | None = None
    product_id: uuid.UUID | None = None
    product_image_media: MediaResourcePublic | None = None
    product_image_url: str | None = None
    product_lora_weight: float
    reference_images_media: list[MediaResourcePublic] | None = None
    reference_images_paths: list[str]
    refine: bool
    revised: bool
    scale_factor: float | None = None
    seed: int
    shooting_look_id: uuid.UUID | None = None
    shot_id: uuid.UUID | None = None
    shot_type_id: uuid.UUID | None = None
    shot_type_string: str | None = None
    status: GenerationStatus
    steps: int
    style_description: str | None = None
    style_id: uuid.UUID | None = None
    style_name: str | None = None
    subject_description: str | None = None
    subject_id: uuid.UUID | None = None
    subject_image_media: MediaResourcePublic | None = None
    subject_image_url: str | None = None
    subject_lora_weight: float
    tone: str | None = None
    tool: str | None = None
    updated_at: datetime
    width: int


class Product(WireModel):
    """The reference's `Product` (the answer of POST /products/selected_shot/{id}): a product's
    fields with the caption's and `selected_shots` (shot type -> prediction id)."""

    organization_id: uuid.UUID | None = None
    owner_id: uuid.UUID
    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    sku: str | None = None
    name: str
    brand: str | None = None
    master_item_code: str | None = None
    product_type_id: uuid.UUID | None = None
    gender: ProductGender = ProductGender.UNISEX
    age_class: AgeClass | None = None
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
    brand_metadata: dict[str, Any] | None = None
    enabled: bool = True
    archived: bool = False
    public: bool = False
    demo: bool = False
    is_filler: bool = False
    caption_task_id: str | None = None
    caption_status: str | None = None
    caption_retry_count: int = 0
    cover_image_url: str | None = None
    back_image_url: str | None = None
    reference_images: list[str] = Field(default_factory=list)
    selected_shots: dict[str, str] = Field(default_factory=dict)


class GenerationList(RootModel[list[GenerationPublic]]):
    """The answer of GET /products/{id}/generations: a bare JSON list, as the reference shows."""
