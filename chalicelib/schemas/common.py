"""Shapes shared by every resource."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WireModel(BaseModel):
    """The base of request and response models: validators built on first use, not at import.

    A route uses one or two models, and a cold start pays only for those (EmailStr, for one,
    imports email_validator, about 20 ms, when its model is built).

    An answer carries every field, defaults included, so a field with a default is required in
    the model's output schema (the served document's), as FastAPI documents it.
    """

    model_config = ConfigDict(defer_build=True, json_schema_serialization_defaults_required=True)


# The characters str.strip() removes (str.isspace()), spelled out so that a JSON Schema pattern
# (ECMA regex, whose \s differs) and the service agree on which strings are blank.
SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# A string with at least one character that is not white space: documented (JSON Schema
# `pattern`) for a field whose validator refuses a blank value with its own message.
NOT_BLANK = f"[^{SPACE}]"
NOT_BLANK_SCHEMA: dict[str, Any] = {"pattern": NOT_BLANK}


def not_nullable(*names: str) -> Callable[[dict[str, Any]], None]:
    """A partial update's `json_schema_extra`: the fields named may be left out but not sent as
    null (a check refuses null), so their documented schema admits no null and has no default."""

    def edit(schema: dict[str, Any]) -> None:
        for name in names:
            prop = schema["properties"][name]
            options = [o for o in prop.pop("anyOf", []) if o != {"type": "null"}]
            if len(options) == 1:
                prop.update(options[0])
            elif options:
                prop["anyOf"] = options
            if prop.get("default", ...) is None:
                del prop["default"]

    return edit


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
