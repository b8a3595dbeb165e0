"""Shapes shared by every resource."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel


class Message(BaseModel):
    message: str


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """The stored form of a timestamp: fixed width, so strings sort as the times do."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
