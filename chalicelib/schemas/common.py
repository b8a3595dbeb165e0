"""Shapes shared by every resource."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field


class WireModel(BaseModel):
    """The base of request and response models: validators built on first use, not at import.

    A route uses one or two models, and a cold start pays only for those (EmailStr, for one,
    imports email_validator, about 20 ms, when its model is built).

    An answer carries every field, defaults included, so a field with a default is required in
    the model's output schema (the served document's), as FastAPI documents it.
    """

    model_config = ConfigDict(defer_build=True, json_schema_serialization_defaults_required=True)


class Message(WireModel):
    message: str


class PageQuery(WireModel):
    """skip / limit of a list, with the bounds of GET /products/."""

    model_config = ConfigDict(extra="ignore")

    skip: int = Field(default=0, ge=0)
    limit: int = Field(default=100, ge=1, le=1000)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """The stored form of a timestamp: fixed width, so strings sort as the times do."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
