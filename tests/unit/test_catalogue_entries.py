"""A catalogue's packed entries give back what was put in, and cost what the design says."""

from __future__ import annotations

import sys
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.services.catalogue import Entry, ScopeCatalogue

ISO = "2026-12-06T05:13:22.123456+00:00"


def wire(product_id: str, **over: Any) -> list[Any]:
    base: dict[str, Any] = {
        "id": product_id,
        "name_lc": "black tee",
        "sku_lc": "sku-1",
        "brand_lc": "acme",
        "collection_lc": "core",
        "season_lc": "ss24",
        "year": 2024,
        "gender": "MALE",
        "type_lc": "t-shirt",
        "flags": 0b00010,
        "shot_status": "TO_REVIEW",
        "shooting_ids": [str(uuid.uuid4())],
        "created_at": ISO,
        "updated_at": ISO,
    }
    base.update(over)
    return list(base.values())


def test_an_entry_round_trips() -> None:
    catalogue = ScopeCatalogue("USER#x")
    pid = str(uuid.uuid4())
    entry = wire(pid, flags=0b10101)
    catalogue.apply(pid, entry)
    (got,) = catalogue.entries()
    assert got.id == pid and got.name_lc == "black tee" and got.sku_lc == "sku-1"
    assert (got.brand_lc, got.collection_lc, got.season_lc, got.type_lc) == ("acme", "core", "ss24", "t-shirt")
    assert (got.archived, got.enabled, got.demo, got.is_filler, got.public) == (True, False, True, False, True)
    assert got.year == 2024 and got.gender == "MALE" and got.shot_status == "TO_REVIEW"
    assert got.shooting_ids == tuple(entry[11])
    (back,) = catalogue.wire_entries()
    catalogue2 = ScopeCatalogue("USER#x")
    catalogue2.apply(pid, back)
    assert list(catalogue2.entries()) == [got]


def test_nulls_empty_strings_and_non_uuid_ids() -> None:
    catalogue = ScopeCatalogue("USER#x")
    for pid in ("plain-id", "0123456789abcde", "x" * 16, "\u00e9t\u00e9"):
        catalogue.apply(pid, wire(pid, sku_lc=None, brand_lc=None, year=None, shooting_ids=[], name_lc=""))
    got = {e.id: e for e in catalogue.entries()}
    assert set(got) == {"plain-id", "0123456789abcde", "x" * 16, "\u00e9t\u00e9"}
    for e in got.values():
        assert e.sku_lc is None and e.brand_lc is None and e.year is None and e.shooting_ids == () and e.name_lc == ""
    catalogue.apply("plain-id", wire("plain-id", sku_lc=""))
    assert {e.id: e.sku_lc for e in catalogue.entries()}["plain-id"] == ""


def test_a_removal_and_a_replacement() -> None:
    catalogue = ScopeCatalogue("USER#x")
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    catalogue.apply(a, wire(a))
    catalogue.apply(b, wire(b))
    catalogue.apply(a, wire(a, name_lc="renamed"))
    catalogue.apply(b, None)
    catalogue.apply(b, None)  # a removal of what is not there is nothing
    assert [(e.id, e.name_lc) for e in catalogue.entries()] == [(a, "renamed")]


def test_times_keep_their_order_across_formats() -> None:
    catalogue = ScopeCatalogue("USER#x")
    times = ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000001+00:00", "2026-01-01T01:00:00+01:00"]
    for n, t in enumerate(times):
        catalogue.apply(f"p{n}", wire(f"p{n}", created_at=t, updated_at=t))
    got = {e.id: e.created_at for e in catalogue.entries()}
    # 01:00+01:00 is midnight UTC: equal to the first.
    assert got["p0"] == got["p2"] < got["p1"]


text = st.text(max_size=40)
entries = st.builds(
    lambda name, sku, brand, year, flags, shootings: (name, sku, brand, year, flags, shootings),
    text,
    st.none() | text,
    st.none() | text,
    st.none() | st.integers(1900, 2100),
    st.integers(0, 31),
    st.lists(st.uuids().map(str), max_size=4),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(entries, max_size=20))
def test_any_entries_round_trip(drawn: list[tuple[Any, ...]]) -> None:
    catalogue = ScopeCatalogue("USER#x")
    want: dict[str, tuple[Any, ...]] = {}
    for n, (name, sku, brand, year, flags, shootings) in enumerate(drawn):
        pid = str(uuid.UUID(int=n))
        catalogue.apply(
            pid, wire(pid, name_lc=name, sku_lc=sku, brand_lc=brand, year=year, flags=flags, shooting_ids=shootings)
        )
        want[pid] = (name, sku, brand, year, bool(flags & 16), tuple(shootings))
    got = {e.id: (e.name_lc, e.sku_lc, e.brand_lc, e.year, e.public, e.shooting_ids) for e in catalogue.entries()}
    assert got == want


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="sizes are CPython's")
def test_a_product_costs_well_under_300_bytes() -> None:
    import tracemalloc

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        catalogue = ScopeCatalogue("USER#x")
        for n in range(5000):
            pid = str(uuid.uuid4())
            catalogue.apply(
                pid, wire(pid, name_lc=f"seeded product {n:05d}", sku_lc=f"sku-{n:05d}", brand_lc=f"brand {n % 50}")
            )
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(catalogue) == 5000
    assert used / 5000 < 300, used / 5000


def test_entry_fields_are_the_product_attributes_listings_read() -> None:
    from chalicelib.store.models import SLIM_ATTRIBUTES

    # Every slim attribute but the discriminator has a field of the same name.
    assert set(SLIM_ATTRIBUTES) - {"kind"} <= set(Entry._fields)


def test_a_product_write_budgets_the_items_its_log_adds() -> None:
    from chalicelib.store.catalogue import MAX_LOG_ITEMS, product_changes
    from chalicelib.store.facets import MAX_COUNTER_UPDATES
    from chalicelib.store.models import ProductItem
    from chalicelib.store.products import MAX_NEW_MEDIA
    from chalicelib.store.table import MAX_TRANSACTION_ITEMS

    # A move: its removal from one scope and its entry in the other, each with its scope's head.
    product = ProductItem(id="p", owner_id="u", organization_id="o", created_at=ISO, updated_at=ISO)
    product.doc = {"name": "x", "gender": "UNISEX", "archived": False, "enabled": True, "demo": False}
    product.doc |= {"is_filler": False, "public": False}
    product.refresh_keys()
    changes = product_changes(product, previous_scope="USER#u")
    assert len(changes) + len({c.scope for c in changes}) == MAX_LOG_ITEMS
    # The product, its counters, its log and its new media fit one transaction.
    assert 1 + MAX_COUNTER_UPDATES + MAX_LOG_ITEMS + MAX_NEW_MEDIA == MAX_TRANSACTION_ITEMS
