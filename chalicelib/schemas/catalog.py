"""Brands, collections, seasons and years: the distinct-value lists and the registry."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field, field_validator

from chalicelib.schemas.common import NOT_BLANK_SCHEMA, WireModel


class FacetQuery(WireModel):
    model_config = ConfigDict(extra="ignore")

    organization_id: uuid.UUID | None = None
    # Beyond the reference: how many products in scope carry each value.
    with_counts: bool = False


class CollectionFacetQuery(FacetQuery):
    brand: str | None = None


class CountedValues(WireModel):
    # `counts` is left out of the answer unless asked for (with_counts=true).
    model_config = ConfigDict(json_schema_serialization_defaults_required=False)

    count: int
    counts: dict[str, int] | None = Field(default=None, description="products per value (with_counts=true)")


class BrandsPublic(CountedValues):
    data: list[str]


class BrandCollectionsPublic(CountedValues):
    data: list[str]


class SeasonsPublic(CountedValues):
    data: list[str]


class YearsPublic(CountedValues):
    data: list[int]


def _clean(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("must not be blank")
    return text


class BrandCreate(WireModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=1000, json_schema_extra=NOT_BLANK_SCHEMA)
    organization_id: uuid.UUID | None = None

    _strip = field_validator("name")(_clean)


class BrandUpdate(WireModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=1000, json_schema_extra=NOT_BLANK_SCHEMA)

    _strip = field_validator("name")(_clean)


class BrandPublic(WireModel):
    id: uuid.UUID
    name: str
    owner_id: uuid.UUID
    organization_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class BrandCollectionCreate(WireModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=255, json_schema_extra=NOT_BLANK_SCHEMA)
    brand: str = Field(max_length=1000, json_schema_extra=NOT_BLANK_SCHEMA)
    organization_id: uuid.UUID | None = None

    _strip = field_validator("name", "brand")(_clean)


class BrandCollectionPublic(WireModel):
    id: uuid.UUID
    name: str
    brand: str
    owner_id: uuid.UUID
    organization_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
