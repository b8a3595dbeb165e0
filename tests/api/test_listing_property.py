"""GET /api/v1/products/ against a brute-force model of the listing rules.

One user gets a few hundred products once per module (random fields from small pools in varied
case, some nulls, some archived, some drafts); hypothesis then draws query parameter combinations
and the answer (ids in order, count, the items themselves) must equal an independent filter + sort
over the products' JSON as the API returned it when they were written.

Rules modelled (shared/spec/README.md, "Listing defaults" and "Product-level shot_status"):
absent filters do not filter, `enabled` defaults to true; brand, brand_collection, season,
product_type (the product's `type`) compare case-insensitively, `search` is a case-insensitive
substring of name or sku; sorting is total: ties broken by id in the same direction, nulls last in
both directions, name/season/product_type compared lower-cased; no `sort_by` means shot-status
bucket (TO_REVIEW, IN_PROGRESS, NOT_STARTED, APPROVED), then updated_at desc, then id desc;
`count` is every match and `data` the [skip:skip + limit] slice.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import cmp_to_key
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from tests.factories import Api
from tests.support import harness
from tests.support.profiles import scaled

Product = dict[str, Any]
Query = dict[str, Any]

N_PRODUCTS = 300
SEED = 20240607

BRANDS = ["Acme", "ACME", "acme", "Nordwind", "nordWIND", "Zeta Co", None]
SEASONS = ["SS24", "ss24", "FW24", "fw24", "Fw25", None]
YEARS = [2022, 2023, 2024, None]
GENDERS = ["MALE", "FEMALE", "UNISEX", None]
TYPES = ["T-Shirt", "t-shirt", "Jeans", "JEANS", "Dress", None]
COLLECTIONS = ["Core", "CORE", "Summer Edit", "summer edit", "Basics", None]
NAMES = ["Black T-Shirt", "black t-shirt", "White Tee", "Blue Jeans", "RED dress", "Alpha", "alpha", "Beta", "b"]

BUCKETS = {"TO_REVIEW": 0, "IN_PROGRESS": 1, "NOT_STARTED": 2, "APPROVED": 3}
SORT_FIELDS = ["name", "season", "year", "gender", "product_type", "shot_status", "created_at", "updated_at"]


class World:
    """The module's client, user and products, plus reads of the store kept by `memoized_reads`."""

    def __init__(self, api: Api, token: str, products: list[Product]) -> None:
        self.api = api
        self.token = token
        self.products = products
        self.slim: dict[tuple[Any, ...], Any] = {}
        self.items: dict[str, Any] = {}

    def __repr__(self) -> str:  # short in failure reports
        return f"<World of {len(self.products)} products>"


def _sku(rng: random.Random, i: int) -> str | None:
    return rng.choice([None, f"SKU-{i:03d}", f"sku-{i:03d}", f"FILLER-{i}", f"fill-{i}", f"Filler{i}", f"XFILL-{i}"])


def _create_products(api: Api, token: str) -> list[Product]:
    rng = random.Random(SEED)
    products: list[Product] = []
    for i in range(N_PRODUCTS):
        body: dict[str, Any] = {
            "name": rng.choice(NAMES),
            "cover_image": "https://example.com/image.jpg",
            "brand": rng.choice(BRANDS),
            "season": rng.choice(SEASONS),
            "year": rng.choice(YEARS),
            "type": rng.choice(TYPES),
            "brand_collection": rng.choice(COLLECTIONS),
            "sku": _sku(rng, i),
            "public": rng.random() < 0.3,
        }
        gender = rng.choice(GENDERS)
        if gender is not None or rng.random() < 0.5:
            body["gender"] = gender  # an explicit null means the default, UNISEX
        if rng.random() < 0.3:
            body["is_filler"] = rng.random() < 0.5
        draft = rng.random() < 0.15
        r = api.post("/api/v1/products/" + ("?mode=basic" if draft else ""), body, token)
        assert r.status == 200, r
        product: Product = r.json
        assert product["enabled"] is not draft
        if rng.random() < 0.15:
            r = api.patch(f"/api/v1/products/{product['id']}/archived?archived=true", token=token)
            assert r.status == 200, r
            product = r.json
            assert product["archived"] is True
        products.append(product)
    return products


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    from chalice.test import Client

    from app import app

    # Built once for the module, which only reads it: the session's moto (item-level
    # transactions, tests/support/harness.py) keeps it until the module ends.
    with harness.shared_world(), Client(app) as client:
        api = Api(client)
        _, token = api.user()
        # In a fresh thread, on a shallow Python stack: deep under pytest, moto's recursive
        # copies make CPython 3.11 map and unmap a 16 KiB frame-stack chunk millions of times.
        with ThreadPoolExecutor(max_workers=1) as pool:
            products = pool.submit(_create_products, api, token).result()
        yield World(api, token, products)


def _hashable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    return value


@pytest.fixture
def memoized_reads(world: World) -> Iterator[None]:
    """Serve the pages' products from memory.

    Each listing reads the scope's catalogue changes (none: the world does not change) and its
    page's products; the products do not change once written, so each is fetched once and then
    reused. The HTTP layer, query parsing, the catalogue's catch-up, predicate, order, paging and
    rendering all still run on every request. `test_listing_unmemoized` checks a few queries
    uncached.
    """
    from chalicelib.store.products import ProductRepository

    batch_get = ProductRepository.batch_get

    def cached_batch_get(self: ProductRepository, product_ids: Sequence[str], consistent: bool = False) -> Any:
        missing = [i for i in product_ids if i not in world.items]
        if missing:
            world.items.update(batch_get(self, missing, consistent))
        return {i: world.items[i] for i in product_ids if i in world.items}

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ProductRepository, "batch_get", cached_batch_get)
        yield


# -- the model -----------------------------------------------------------------------------


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _bucket(p: Product) -> int:
    return BUCKETS[p["shot_status"] or "NOT_STARTED"]


SORT_KEYS: dict[str, Callable[[Product], Any]] = {
    "name": lambda p: p["name"].lower(),
    "season": lambda p: _lower(p["season"]),
    "year": lambda p: p["year"],
    "gender": lambda p: p["gender"],
    "product_type": lambda p: _lower(p["type"]),
    "shot_status": _bucket,
    "created_at": lambda p: _when(p["created_at"]),
    "updated_at": lambda p: _when(p["updated_at"]),
}


def matches(p: Product, q: Query) -> bool:
    for param, attr in (
        ("archived", "archived"),
        ("demo", "demo"),
        ("is_filler", "is_filler"),
        ("is_public", "public"),
        ("gender", "gender"),
        ("year", "year"),
    ):
        if param in q and p[attr] != q[param]:
            return False
    if p["enabled"] != q.get("enabled", True):
        return False
    for param, attr in (("brand", "brand"), ("season", "season"), ("product_type", "type")):
        if param in q and _lower(p[attr]) != q[param].lower():
            return False
    if "brand_collection" in q and _lower(p["brand_collection"]) not in {c.lower() for c in q["brand_collection"]}:
        return False
    if "search" in q:
        needle = q["search"].lower()
        if needle not in p["name"].lower() and (p["sku"] is None or needle not in p["sku"].lower()):
            return False
    return True


def _cmp(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


def expected_order(products: list[Product], sort_by: str | None, sort_order: str) -> list[Product]:
    if sort_by is None:

        def default(a: Product, b: Product) -> int:
            return (
                _cmp(_bucket(a), _bucket(b))
                or -_cmp(_when(a["updated_at"]), _when(b["updated_at"]))
                or -_cmp(a["id"], b["id"])
            )

        return sorted(products, key=cmp_to_key(default))

    key = SORT_KEYS[sort_by]
    sign = -1 if sort_order == "desc" else 1

    def by_field(a: Product, b: Product) -> int:
        ka, kb = key(a), key(b)
        if (ka is None) != (kb is None):
            return 1 if ka is None else -1  # nulls last, whatever the direction
        if ka is not None and (c := _cmp(ka, kb)):
            return sign * c
        return sign * _cmp(a["id"], b["id"])

    return sorted(products, key=cmp_to_key(by_field))


def expected(products: list[Product], q: Query) -> tuple[list[Product], int]:
    found = [p for p in products if matches(p, q)]
    ordered = expected_order(found, q.get("sort_by"), q.get("sort_order", "desc"))
    skip, limit = q.get("skip", 0), q.get("limit", 100)
    return ordered[skip : skip + limit], len(found)


# -- talking to the API --------------------------------------------------------------------


def _wire(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def url(q: Query) -> str:
    pairs: list[tuple[str, str]] = []
    for name, value in q.items():
        for v in value if isinstance(value, list) else [value]:
            pairs.append((name, _wire(v)))
    return "/api/v1/products/" + (f"?{urlencode(pairs)}" if pairs else "")


def listing(world: World, q: Query) -> tuple[list[Product], int]:
    r = world.api.get(url(q), world.token)
    assert r.status == 200, r
    return r.json["data"], r.json["count"]


# -- strategies ----------------------------------------------------------------------------


def _cased(values: list[str | None], extra: list[str]) -> st.SearchStrategy[str]:
    """A pool value (or one no product has) as written, upper-cased, lower-cased or case-swapped."""
    base = st.sampled_from([v for v in values if v is not None] + extra)
    return st.builds(lambda v, f: f(v), base, st.sampled_from([str, str.upper, str.lower, str.swapcase]))


SEARCHES = ["black", "TEE", "t-s", "jeans", "Alpha", "a", "b", "sku-00", "SKU-1", "fill", "FILLER-1", "xfill", "zz"]

FILTERS: dict[str, st.SearchStrategy[Any]] = {
    "archived": st.booleans(),
    "brand": _cased(BRANDS, ["Nobody"]),
    "brand_collection": st.lists(_cased(COLLECTIONS, ["Winter"]), min_size=1, max_size=3),
    "demo": st.booleans(),
    "enabled": st.booleans(),
    "gender": st.sampled_from(["MALE", "FEMALE", "UNISEX"]),
    "is_filler": st.booleans(),
    "is_public": st.booleans(),
    "product_type": _cased(TYPES, ["Hat"]),
    "search": _cased([], SEARCHES),
    "season": _cased(SEASONS, ["SS99"]),
    "year": st.sampled_from([2022, 2023, 2024, 1999]),
}

# A few filters at a time (each alone keeps some products), so most answers are not empty.
filters: st.SearchStrategy[Query] = st.lists(st.sampled_from(sorted(FILTERS)), max_size=3, unique=True).flatmap(
    lambda names: st.fixed_dictionaries({n: FILTERS[n] for n in names})
)

# Mostly a sort field (None, one value in nine, is the default order); the direction may be left out.
ordering: st.SearchStrategy[Query] = st.builds(
    lambda by, direction: {k: v for k, v in (("sort_by", by), ("sort_order", direction)) if v is not None},
    st.sampled_from([None, *SORT_FIELDS]),
    st.sampled_from([None, "asc", "desc"]),
)

paging = st.fixed_dictionaries(
    {},
    optional={
        "skip": st.one_of(st.integers(0, 10), st.integers(0, 320)),
        "limit": st.one_of(st.integers(1, 30), st.integers(1, 1000)),
    },
)

queries = st.builds(lambda f, o, p: {**f, **o, **p}, filters, ordering, paging)

COMMON = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _show(items: list[Product]) -> list[tuple[Any, ...]]:
    return [(p["id"][:8], p["name"], p["season"], p["year"], p["type"], p["updated_at"]) for p in items]


# -- properties ----------------------------------------------------------------------------


def test_world_is_varied(world: World) -> None:
    ps = world.products
    assert len(ps) == N_PRODUCTS
    for flag in ("enabled", "archived", "public", "is_filler"):
        assert {p[flag] for p in ps} == {True, False}, flag
    for attr in ("brand", "season", "year", "type", "brand_collection", "sku"):
        assert any(p[attr] is None for p in ps), attr
    assert {p["gender"] for p in ps} == {"MALE", "FEMALE", "UNISEX"}


def _check(world: World, q: Query) -> None:
    want, want_count = expected(world.products, q)
    got, got_count = listing(world, q)
    event(f"matches: {'0' if not want_count else '1-9' if want_count < 10 else '10+'}")
    assert [p["id"] for p in got] == [p["id"] for p in want], (url(q), _show(want), _show(got))
    assert got_count == want_count, url(q)
    assert got == want  # the listed items are the products as written


@settings(COMMON, max_examples=scaled(150))
@example(q={"sort_by": "season", "sort_order": "desc", "limit": 1000})
@example(q={"sort_by": "year", "sort_order": "asc", "enabled": False})
@example(q={"sort_by": "product_type", "is_filler": True, "skip": 5})
@example(q={"sort_by": "name", "gender": "MALE", "sort_order": "asc"})
@example(q={"search": "SKU-00", "archived": True})
@example(q={"brand_collection": ["summer EDIT", "Winter", "core"], "is_public": False})
@example(q={"brand": "nordwind", "product_type": "JEANS", "demo": False, "limit": 3})
@given(q=queries)
def test_listing_matches_model(world: World, memoized_reads: None, q: Query) -> None:
    _check(world, q)


@settings(COMMON, phases=[Phase.explicit])
@example(q={"search": "T-S", "sort_by": "season", "skip": 3, "limit": 25})
@example(q={"sort_by": "created_at", "sort_order": "asc", "skip": 7, "limit": 11})
@example(q={"skip": 290, "limit": 30})
@example(q={"brand": "ACME", "enabled": False, "sort_by": "name", "sort_order": "asc"})
@given(q=queries)
def test_listing_unmemoized(world: World, q: Query) -> None:
    """Queries with every read going to moto (the catalogue's changes and the page)."""
    _check(world, q)


@settings(COMMON, max_examples=scaled(20))
@given(f=filters, o=ordering, page=st.integers(15, 120))
def test_paging_yields_every_match_once(world: World, memoized_reads: None, f: Query, o: Query, page: int) -> None:
    all_matches, count = expected(world.products, {**f, "limit": 1000})
    seen: list[str] = []
    skip = 0
    while True:
        got, got_count = listing(world, {**f, **o, "skip": skip, "limit": page})
        assert got_count == count
        if not got:
            break
        seen.extend(p["id"] for p in got)
        skip += page
    assert len(seen) == len(set(seen)) == count
    assert set(seen) == {p["id"] for p in all_matches}
    assert seen == [p["id"] for p in expected_order(all_matches, o.get("sort_by"), o.get("sort_order", "desc"))]
