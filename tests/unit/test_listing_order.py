"""chalicelib.services.listing on hand-made slim items: order, predicate, index choice."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.schemas.enums import ProductShootingStatus, ProductSortField, SortOrder
from chalicelib.schemas.products import ProductListQuery
from chalicelib.services.listing import build_predicate, order
from chalicelib.store.models import ATTENTION_ORDER, ProductItem

ASC, DESC = SortOrder.ASC, SortOrder.DESC

# The listing's names for the slim attributes that the item stores lower-cased.
_ATTRIBUTE = {
    "name": "name_lc",
    "sku": "sku_lc",
    "brand": "brand_lc",
    "collection": "collection_lc",
    "season": "season_lc",
    "product_type": "type_lc",
}


def slim(id: str, **fields: Any) -> ProductItem:
    """A slim item as the listing indexes project it."""
    values: dict[str, Any] = {
        "id": id,
        "name_lc": "shirt",
        "gender": "UNISEX",
        "archived": False,
        "enabled": True,
        "demo": False,
        "is_filler": False,
        "public": False,
        "shot_status": "NOT_STARTED",
        "created_at": "2024-01-01T00:00:00.000000Z",
        "updated_at": "2024-01-01T00:00:00.000000Z",
    }
    values.update({_ATTRIBUTE.get(name, name): value for name, value in fields.items()})
    return ProductItem(**values)


def ids(items: list[ProductItem]) -> list[str]:
    return [s.id for s in items]


def query(**params: Any) -> ProductListQuery:
    return ProductListQuery.model_validate(params)


# -- order() -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "attr", "low", "high"),
    [
        (ProductSortField.SEASON, "season", "fw24", "ss24"),
        (ProductSortField.YEAR, "year", 2022, 2024),
        (ProductSortField.PRODUCT_TYPE, "product_type", "dress", "jeans"),
    ],
)
def test_nulls_last_in_both_directions(field: ProductSortField, attr: str, low: object, high: object) -> None:
    items = [slim("a", **{attr: None}), slim("b", **{attr: high}), slim("c", **{attr: low}), slim("d", **{attr: None})]
    assert ids(order(items, field, ASC)) == ["c", "b", "a", "d"]
    assert ids(order(items, field, DESC)) == ["b", "c", "d", "a"]


def test_ties_broken_by_id_in_the_same_direction() -> None:
    items = [slim("b", name="x"), slim("c", name="a"), slim("a", name="x"), slim("d", name="x")]
    assert ids(order(items, ProductSortField.NAME, ASC)) == ["c", "a", "b", "d"]
    assert ids(order(items, ProductSortField.NAME, DESC)) == ["d", "b", "a", "c"]


def test_all_equal_keys_order_by_id() -> None:
    items = [slim(i, gender="MALE") for i in ("q", "e", "w", "r")]
    assert ids(order(items, ProductSortField.GENDER, ASC)) == ["e", "q", "r", "w"]
    assert ids(order(items, ProductSortField.GENDER, DESC)) == ["w", "r", "q", "e"]


def test_timestamps_sort_chronologically() -> None:
    items = [
        slim("a", created_at="2024-03-01T10:00:00.000001Z"),
        slim("b", created_at="2024-03-01T10:00:00.000000Z"),
        slim("c", created_at="2023-12-31T23:59:59.999999Z"),
    ]
    assert ids(order(items, ProductSortField.CREATED_AT, ASC)) == ["c", "b", "a"]
    assert ids(order(items, ProductSortField.CREATED_AT, DESC)) == ["a", "b", "c"]


def test_shot_status_sorts_by_bucket() -> None:
    items = [
        slim("a", shot_status="APPROVED"),
        slim("b", shot_status="NOT_STARTED"),
        slim("c", shot_status="TO_REVIEW"),
        slim("d", shot_status="IN_PROGRESS"),
    ]
    assert ids(order(items, ProductSortField.SHOT_STATUS, ASC)) == ["c", "d", "b", "a"]
    assert ids(order(items, ProductSortField.SHOT_STATUS, DESC)) == ["a", "b", "d", "c"]


def test_default_order_buckets_then_updated_desc_then_id_desc() -> None:
    t1, t2 = "2024-01-01T00:00:00.000000Z", "2024-06-01T00:00:00.000000Z"
    items = [
        slim("a", shot_status="APPROVED", updated_at=t2),
        slim("b", shot_status="NOT_STARTED", updated_at=t1),
        slim("c", shot_status="NOT_STARTED", updated_at=t2),
        slim("d", shot_status="TO_REVIEW", updated_at=t1),
        slim("e", shot_status="IN_PROGRESS", updated_at=t1),
        slim("f", shot_status="NOT_STARTED", updated_at=t1),
        slim("g", shot_status="TO_REVIEW", updated_at=t1),
    ]
    expected = ["g", "d", "e", "c", "f", "b", "a"]
    assert ids(order(items, None, DESC)) == expected
    assert ids(order(items, None, ASC)) == expected  # sort_order does not flip the default order
    assert ids(order(list(reversed(items)), None, DESC)) == expected


def test_order_does_not_depend_on_input_order() -> None:
    items = [slim(f"{i:02d}", season=[None, "ss24", "fw24"][i % 3], name="ab"[i % 2]) for i in range(12)]
    for field in ProductSortField:
        for direction in SortOrder:
            assert order(items, field, direction) == order(list(reversed(items)), field, direction)


# -- build_predicate() ---------------------------------------------------------------------


def kept(q: ProductListQuery, items: list[ProductItem]) -> list[str]:
    return ids([s for s in items if build_predicate(q)(s)])


def test_enabled_defaults_to_true_and_absent_flags_do_not_filter() -> None:
    items = [
        slim("draft", enabled=False),
        slim("archived", archived=True),
        slim("demo", demo=True),
        slim("filler", is_filler=True),
        slim("public", public=True),
    ]
    assert kept(query(), items) == ["archived", "demo", "filler", "public"]
    assert kept(query(enabled=False), items) == ["draft"]
    assert kept(query(archived=True), items) == ["archived"]
    assert kept(query(archived=False, demo=False, is_filler=False, is_public=False), items) == []
    assert kept(query(is_public=True), items) == ["public"]
    assert kept(query(is_filler=True), items) == ["filler"]


def test_string_filters_are_case_insensitive() -> None:
    items = [
        slim("a", brand="acme", season="ss24", product_type="t-shirt", collection="core"),
        slim("b", brand="nordwind", season="fw24", product_type="jeans", collection="summer edit"),
        slim("c"),
    ]
    assert kept(query(brand="ACME"), items) == ["a"]
    assert kept(query(season="Fw24"), items) == ["b"]
    assert kept(query(product_type="T-SHIRT"), items) == ["a"]
    assert kept(query(brand_collection=["CORE"]), items) == ["a"]
    assert kept(query(brand_collection=["Summer Edit", "core"]), items) == ["a", "b"]
    assert kept(query(brand="nobody"), items) == []


def test_search_is_a_substring_of_name_or_sku() -> None:
    items = [slim("a", name="black t-shirt", sku="sku-001"), slim("b", name="blue jeans", sku=None), slim("c")]
    assert kept(query(search="BLACK"), items) == ["a"]
    assert kept(query(search="SKU-0"), items) == ["a"]
    assert kept(query(search="bl"), items) == ["a", "b"]
    assert kept(query(search="shirt"), items) == ["a", "c"]
    assert kept(query(search="zz"), items) == []


def test_year_gender_and_shot_status_filters() -> None:
    items = [
        slim("a", year=2024, gender="MALE", shot_status="TO_REVIEW"),
        slim("b", year=2023, gender="FEMALE", shot_status="APPROVED"),
        slim("c", year=None),
    ]
    assert kept(query(year=2024), items) == ["a"]
    assert kept(query(gender="FEMALE"), items) == ["b"]
    assert kept(query(shot_statuses=["TO_REVIEW", "APPROVED"]), items) == ["a", "b"]
    assert kept(query(shot_statuses=["NOT_STARTED"]), items) == ["c"]


# -- index choice --------------------------------------------------------------------------


def test_attention_order_is_the_shot_status_buckets() -> None:
    assert set(ATTENTION_ORDER) == {s.value for s in ProductShootingStatus}
    assert ATTENTION_ORDER[0] == "TO_REVIEW" and ATTENTION_ORDER[-1] == "APPROVED"
