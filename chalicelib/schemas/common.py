"""Shapes shared by every resource."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field


class Message(BaseModel):
    message: str


class PageQuery(BaseModel):
    """skip / limit of a list, with the bounds of GET /products/."""

    model_config = ConfigDict(extra="ignore")

    skip: int = Field(default=0, ge=0)
    limit: int = Field(default=100, ge=1, le=1000)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """The stored form of a timestamp: fixed width, so strings sort as the times do."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
