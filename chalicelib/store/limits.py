"""DynamoDB's item size limit, budgeted before a write instead of failing it.

The size follows DynamoDB's rules (names and values in UTF-8 bytes, numbers about one byte per
two digits, one byte per list or map element plus three of overhead); it errs on the large
side, so an item that passes the check is accepted by DynamoDB.
"""

from __future__ import annotations

import json
from typing import Any

from pynamodb.models import Model

MAX_ITEM_BYTES = 400 * 1024


class ItemTooLarge(ValueError):
    """The item would exceed MAX_ITEM_BYTES; `field` is the largest field of its document."""

    def __init__(self, size: int, field: str | None, field_size: int) -> None:
        super().__init__(f"item of {size} bytes (at most {MAX_ITEM_BYTES})")
        self.size = size
        self.field = field
        self.field_size = field_size


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one serialized attribute value ({"S": ...}, {"N": ...}, {"L": [...]}, ...)."""
    (kind, data), *_ = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        return len(str(data)) // 2 + 2
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(len(str(v).encode()) for v in data) + 3
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in data.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: Model) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.serialize().items())


def check_item_size(item: Model, doc: dict[str, Any] | None = None) -> None:
    """Raise ItemTooLarge when the item would not fit; `doc` names the culprit field."""
    size = item_size(item)
    if size <= MAX_ITEM_BYTES:
        return
    sizes = {name: len(json.dumps(value, default=str).encode()) for name, value in (doc or {}).items()}
    largest = max(sizes, key=lambda name: sizes[name]) if sizes else None
    raise ItemTooLarge(size, largest, sizes.get(largest, 0) if largest else 0)
