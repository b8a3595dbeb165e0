"""Facet counters under concurrent product writes: no increment may be lost.

Fifty threads create, update (brand, collection, season, year) and delete products of one
organization at once, many of them on the same few products. Afterwards every product is
read back and every counter must equal the recount: through the API (the organization's
lists and the superuser's) and item by item (the scope's counters and the all-scopes shards).

Two things in the test harness are not thread-safe and are made so (tests/conftest.py,
`threaded_client`, and tests/support/harness.py):

* moto's in-process DynamoDB backend. Its transact_write_items deep-copies the table first
  and, when any transaction is cancelled, puts that copy back, silently discarding what other
  threads committed meanwhile; its update_item (ADD on a counter) is a read-modify-write that
  is not atomic either. Real DynamoDB has neither race. To test *our* concurrency control
  rather than moto's, every test runs on the patched moto (ops/local/moto_transactions.py):
  each backend operation runs under one lock, which makes it atomic as DynamoDB's are, and a
  cancelled transaction restores only its own items. Only single operations are serialized,
  so the service's read-modify-write (get the product, write it back under a version
  condition, with the counters in the same transaction) still interleaves freely with other
  threads' writes: a lost update can only be prevented by the version condition, as in
  production.
* chalice's app object keeps the request being handled in one attribute (`current_request`),
  shared by every thread; the fixture makes it thread-local.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.store.models import (
    FacetItem,
    facet_all_pks,
    facet_counter_pk,
    facet_shard_pk,
    facet_sk,
    list_counter_sk,
)
from tests.api.test_facets_state_machine import (
    BRAND_FILTERS,
    BRANDS,
    COLLECTIONS,
    FACET_LISTS,
    SEASONS,
    YEARS,
    assert_facet_list,
    clean,
    recount,
)
from tests.factories import Api

THREADS = 50
OPS_PER_THREAD = 6
# Products written to by many threads at once: most updates and deletes aim at these.
HOT_PRODUCTS = 8


def facet_fields(rng: random.Random, at_least_one: bool) -> dict[str, Any]:
    pools: dict[str, list[Any]] = {
        "brand": list(BRANDS),
        "brand_collection": list(COLLECTIONS),
        "season": list(SEASONS),
        "year": list(YEARS),
    }
    names = [n for n in pools if rng.random() < 0.5]
    if at_least_one and not names:
        names = [rng.choice(list(pools))]
    return {n: rng.choice(pools[n]) for n in names}


def product_counter_sks(product: dict[str, Any]) -> set[str]:
    """The counter items (sort keys) a product must count in, from its public JSON."""
    brand = clean(product["brand"])
    sks = set()
    if brand:
        sks.add(facet_sk("brand", brand))
    if clean(product["brand_collection"]):
        sks.add(facet_sk("collection", str(clean(product["brand_collection"])), brand))
    if clean(product["season"]):
        sks.add(facet_sk("season", str(clean(product["season"]))))
    if product["year"] is not None:
        sks.add(facet_sk("year", int(product["year"])))
    return sks


def stored_counts(pk: str) -> dict[str, int]:
    return {str(item.sk): int(item.product_count or 0) for item in FacetItem.query(pk) if isinstance(item, FacetItem)}


def test_concurrent_product_writes_lose_no_count(api: Api, threaded_client: None) -> None:
    _, owner = api.user()
    member_id, member = api.user()
    org = api.org(owner, "Concurrency")
    api.add_member(owner, org, member_id)
    tokens = [owner, member]
    base = f"/api/v1/products/?organization_id={org}"

    seed = random.Random(20240601)
    ids: list[str] = []
    for n in range(HOT_PRODUCTS):
        body = {"name": f"Hot {n}", "cover_image": "https://example.com/a.jpg", **facet_fields(seed, False)}
        r = api.post(base, body, owner)
        assert r.status == 200, r
        ids.append(r.json["id"])
    # Warm every lazily built client and cache before the threads start.
    assert api.put(f"/api/v1/products/{ids[0]}", {"season": "Warm"}, member).status == 200
    assert api.get(f"/api/v1/brands/?organization_id={org}", owner).status == 200

    ids_lock = threading.Lock()
    statuses: Counter[str] = Counter()
    unexpected: list[str] = []
    barrier = threading.Barrier(THREADS)

    def record(op: str, status: int, allowed: set[int], response: Any) -> None:
        with ids_lock:
            statuses[f"{op} {status}"] += 1
            if status not in allowed:
                unexpected.append(f"{op}: {response!r}")

    def worker(n: int) -> None:
        rng = random.Random(1000 + n)
        token = tokens[n % 2]
        barrier.wait()
        for _ in range(OPS_PER_THREAD):
            roll = rng.random()
            with ids_lock:
                hot = ids[:HOT_PRODUCTS]
                target = rng.choice(hot if rng.random() < 0.7 else ids)
            if roll < 0.25:
                body = {"name": f"T{n}", "cover_image": "https://example.com/a.jpg", **facet_fields(rng, False)}
                r = api.post(base, body, token)
                record("create", r.status, {200}, r)
                if r.status == 200:
                    with ids_lock:
                        ids.append(r.json["id"])
            elif roll < 0.9:
                fields = facet_fields(rng, True)
                r = api.put(f"/api/v1/products/{target}", fields, token)
                # 503 (Busy, with Retry-After): the version conflict outlasted the service's
                # retries; 404: deleted meanwhile.
                record("update", r.status, {200, 404, 503}, r)
                if r.status == 200:
                    for name, value in fields.items():
                        if r.json[name] != value:
                            unexpected.append(f"update answered {name}={r.json[name]!r}, sent {value!r}")
            else:
                r = api.delete(f"/api/v1/products/{target}", token)
                record("delete", r.status, {200, 404, 503}, r)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for future in [pool.submit(worker, n) for n in range(THREADS)]:
            future.result()

    print(dict(sorted(statuses.items())))
    assert not unexpected, unexpected[:10]
    assert statuses["update 200"] > 0 and statuses["create 200"] > 0, statuses

    # The truth: every product as it now is (a 503 left it unchanged, so read them all back).
    products: list[dict[str, Any]] = []
    for pid in ids:
        r = api.get(f"/api/v1/products/{pid}", api.admin_token)
        assert r.status in (200, 404), r
        if r.status == 200:
            products.append(r.json)
    assert all(p["organization_id"] == org for p in products)

    # Item by item: the scope's counters, and the all-scopes shards (each product in its own).
    want_scope: Counter[str] = Counter()
    want_shards: dict[str, Counter[str]] = {pk: Counter() for pk in facet_all_pks()}
    for p in products:
        # The listing's count of the scope's enabled (or disabled) products, beside the facets.
        want_scope[list_counter_sk(bool(p["enabled"]))] += 1
        for sk in product_counter_sks(p):
            want_scope[sk] += 1
            want_shards[facet_shard_pk(p["id"])][sk] += 1
    stored = stored_counts(facet_counter_pk(f"ORG#{org}"))
    assert {sk: n for sk, n in stored.items() if n} == dict(want_scope), "organization counters"
    assert all(n >= 0 for n in stored.values()), stored
    for pk, want in want_shards.items():
        got = stored_counts(pk)
        assert {sk: n for sk, n in got.items() if n} == dict(want), f"counters of {pk}"
        assert all(n >= 0 for n in got.values()), (pk, got)

    # Through the API: the organization's lists (read by either member) and the superuser's.
    for name, token, org_param in (("org", member, org), ("superuser", api.admin_token, None)):
        for facet, path in FACET_LISTS:
            assert_facet_list(api, path, token, org_param, recount(products, facet), f"{name} {facet}")
        for brand in BRAND_FILTERS:
            assert_facet_list(
                api,
                "/api/v1/brand-collections/",
                token,
                org_param,
                recount(products, "collection", brand),
                f"{name} collections of {brand!r}",
                brand=brand,
            )
