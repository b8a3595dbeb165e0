"""ops/migrations.py on moto: backfill of products written before the listing indexes and counters
existed, a resumed backfill, counter drift found and fixed, and a write racing the backfill.

"Written before" is simulated on products made through the API: their index keys (and, for half
of them, their slim copies) are removed with raw UpdateItems and every counter item is deleted.
What the API answered before that is what it must answer after the backfill.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from chalicelib.config import get_settings
from ops import migrations
from ops.migrations import PageDone, backfill, verify_counters
from tests.factories import Api

INDEX_KEYS = ("list_pk", "created_sk", "updated_sk", "attention_sk", "brand_pk", "season_pk", "year_pk")
SLIM_COPIES = ("name_lc", "brand_lc", "collection_lc", "season_lc", "year", "gender", "enabled", "archived")
FACET_LISTS = ("/api/v1/brands/", "/api/v1/brand-collections/", "/api/v1/seasons/", "/api/v1/years/")
# One query per index (attention, scope, updated, brand, season) and the several-facets path,
# whose counts come from the counters.
PRODUCT_QUERIES = (
    "",
    "?sort_by=created_at",
    "?sort_by=updated_at&sort_order=asc",
    "?enabled=false",
    "?brand=acme",
    "?season=ss24",
    "?brand=acme&year=2024",
)


def table() -> str:
    return get_settings().table_name


@pytest.fixture
def dynamodb() -> Any:
    return boto3.client("dynamodb", region_name=get_settings().aws_region)


def items_of(client: Any, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    items: dict[tuple[str, str], dict[str, Any]] = {}
    request: dict[str, Any] = {"TableName": table(), "ConsistentRead": True}
    while True:
        page = client.scan(**request)
        for item in page["Items"]:
            if item["kind"]["S"] == kind:
                items[(item["pk"]["S"], item["sk"]["S"])] = item
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def counts(client: Any) -> dict[tuple[str, str], tuple[int, str | None]]:
    """Counter items that count something: product_count and display value."""
    out = {}
    for key, item in items_of(client, "Facet").items():
        count = int(item.get("product_count", {"N": "0"})["N"])
        if count:
            out[key] = (count, item.get("value", {}).get("S"))
    return out


@dataclass
class World:
    a_id: str
    a: str
    b: str
    org: str
    products: list[str]


def build(api: Api) -> World:
    """Two users, an organization of both, products in the three scopes with facet values; one
    disabled; the superuser token made too (its facet lists read the shards)."""
    a_id, a = api.user()
    b_id, b = api.user()
    org = api.org(a, "Migrations")
    api.add_member(a, org, b_id)
    ids = []
    specs: list[tuple[str, str | None, dict[str, Any]]] = [
        (a, None, {"name": "Tee", "brand": "Acme", "brand_collection": "Core", "season": "SS24", "year": 2024}),
        (a, None, {"name": "Tee two", "brand": "Acme", "season": "FW23", "year": 2023}),
        (a, None, {"name": "Coat", "brand": "Zeta", "brand_collection": "Core", "year": 2024}),
        (a, org, {"name": "Org tee", "brand": "Acme", "season": "SS24", "year": 2024}),
        (b, org, {"name": "Org coat", "brand": "Zeta", "brand_collection": "Run", "season": "SS24"}),
        (b, None, {"name": "B tee", "brand": "Acme", "year": 2025}),
    ]
    for token, org_id, fields in specs:
        ids.append(api.product(token, org_id, **fields)["id"])
    draft = api.post(
        f"/api/v1/products/?mode=basic&organization_id={org}",
        {"name": "Draft", "brand": "Acme", "cover_image": "https://e.com/a.jpg"},
        b,
    )
    assert draft.status == 200, draft
    ids.append(draft.json["id"])
    assert api.admin_token
    return World(a_id=a_id, a=a, b=b, org=org, products=ids)


def answers(api: Api, world: World) -> dict[str, Any]:
    """What the listings and facet lists answer in every scope, and the superuser's facet lists."""
    out: dict[str, Any] = {}
    for who, token, org in (("a", world.a, None), ("a-org", world.a, world.org), ("b", world.b, None)):
        for query in PRODUCT_QUERIES:
            sep = "&" if query else "?"
            path = f"/api/v1/products/{query}" + (f"{sep}organization_id={org}" if org else "")
            out[f"{who} {path}"] = api.get(path, token).json
        for facet in FACET_LISTS:
            params = {"with_counts": "true", **({"organization_id": org} if org else {})}
            out[f"{who} {facet}"] = api.get(f"{facet}?{urlencode(params)}", token).json
    for facet in FACET_LISTS:
        out[f"admin {facet}"] = api.get(f"{facet}?with_counts=true", api.admin_token).json
    return out


def make_legacy(client: Any, products: list[str]) -> None:
    """Products as written before the page indexes, counters and catalogue log: index keys removed
    (slim copies too, for every other product), and no counter or catalogue item left."""
    for n, product_id in enumerate(products):
        names = INDEX_KEYS + (SLIM_COPIES if n % 2 else ())
        client.update_item(
            TableName=table(),
            Key={"pk": {"S": f"PRODUCT#{product_id}"}, "sk": {"S": "PRODUCT"}},
            UpdateExpression="REMOVE " + ", ".join(f"#a{i}" for i in range(len(names))),
            ExpressionAttributeNames={f"#a{i}": name for i, name in enumerate(names)},
        )
    for pk, sk in items_of(client, "Facet"):
        client.delete_item(TableName=table(), Key={"pk": {"S": pk}, "sk": {"S": sk}})
    # Nor any catalogue: the change log came after them.
    for kind in ("CatalogueHead", "CatalogueChange", "CatalogueChunk"):
        for pk, sk in items_of(client, kind):
            client.delete_item(TableName=table(), Key={"pk": {"S": pk}, "sk": {"S": sk}})


def without_version(item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name != "version"}


def version(item: dict[str, Any]) -> int:
    return int(item["version"]["N"])


def quiet(_: str) -> None:
    """Progress lines are not what these tests check."""


# -- (1) products written before the indexes and counters -------------------------------------


def test_backfill_restores_index_attributes_and_counters_as_a_fresh_write_has_them(
    api: Api, dynamodb: Any, tmp_path: Path
) -> None:
    world = build(api)
    products = items_of(dynamodb, "Product")
    counters = counts(dynamodb)
    expected = answers(api, world)
    make_legacy(dynamodb, world.products)

    legacy = answers(api, world)
    # The simulation bites: the indexes and counters show none of the products.
    assert legacy["a /api/v1/products/"] == {"data": [], "count": 0, "next_cursor": None}
    assert legacy[f"admin {FACET_LISTS[0]}"]["data"] == []

    report = backfill(table(), tmp_path / "checkpoint.json", segments=3, page_size=2, out=quiet)

    assert report.ok, report.problems
    assert (report.run.scanned, report.run.resaved, report.run.unchanged) == (len(products), len(products), 0)
    restored = items_of(dynamodb, "Product")
    assert {k: without_version(v) for k, v in restored.items()} == {k: without_version(v) for k, v in products.items()}
    assert all(version(restored[k]) == version(products[k]) + 1 for k in products)
    assert counts(dynamodb) == counters
    assert answers(api, world) == expected
    assert report.counters is not None and len(report.counters.fixed) == len(counters)

    again = backfill(table(), tmp_path / "second.json", segments=2, page_size=50, out=quiet)
    assert (again.run.resaved, again.run.unchanged) == (0, len(products))
    assert again.counters is not None and again.counters.drift == []
    assert {k: version(v) for k, v in items_of(dynamodb, "Product").items()} == {
        k: version(v) for k, v in restored.items()
    }


# -- (2) an interrupted run resumed -------------------------------------------------------------


class Crash(Exception):
    pass


def pages_by_segment(calls: list[PageDone]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for call in calls:
        out.setdefault(call.segment, []).append(call.page)
    return out


def test_interrupted_backfill_resumes_each_segment_where_it_stopped(api: Api, dynamodb: Any, tmp_path: Path) -> None:
    world = build(api)
    for n in range(5):
        world.products.append(api.product(world.a, None, name=f"More {n}", brand="Acme")["id"])
    products = items_of(dynamodb, "Product")
    make_legacy(dynamodb, world.products)
    checkpoint = tmp_path / "backfill.json"

    def crash(page: PageDone) -> None:
        # Twelve products in two segments of two-item pages: some segment has a page with products
        # that is not its last, so this always fires with work left.
        if page.products and not page.done:
            raise Crash()

    with pytest.raises(Crash):
        backfill(table(), checkpoint, segments=2, page_size=2, on_page=crash, out=quiet)
    stopped = json.loads(checkpoint.read_text())
    assert not all(s["done"] for s in stopped["segments"])
    assert stopped["segments"][0]["last_key"] or stopped["segments"][1]["last_key"]
    first = [s["tally"] for s in stopped["segments"]]
    assert sum(t["scanned"] for t in first) > 0

    resumed: list[PageDone] = []
    report = backfill(table(), checkpoint, segments=2, page_size=2, on_page=resumed.append, out=quiet)
    assert report.ok, report.problems
    done_before = [n for n, s in enumerate(stopped["segments"]) if s["done"]]
    assert report.segments_skipped == done_before
    second = pages_by_segment(resumed)
    for n, segment in enumerate(stopped["segments"]):
        if segment["done"]:
            assert n not in second
        else:
            # Numbered on from the checkpoint: the segment went on from its last page.
            assert second[n][0] == segment["tally"]["pages"] + 1

    # Every product scanned and re-saved once over both runs.
    assert sum(t["scanned"] for t in first) + report.run.scanned == len(products)
    assert sum(t["resaved"] for t in first) + report.run.resaved == len(products)
    assert report.total.resaved == len(products)
    restored = items_of(dynamodb, "Product")
    assert {k: without_version(v) for k, v in restored.items()} == {k: without_version(v) for k, v in products.items()}
    assert all(version(restored[k]) == version(products[k]) + 1 for k in products)

    finished = backfill(table(), checkpoint, segments=2, page_size=2, out=quiet)
    assert finished.segments_skipped == [0, 1] and finished.run.scanned == 0

    with pytest.raises(migrations.MigrationError):
        backfill(table(), checkpoint, segments=3, page_size=2, out=quiet)


# -- (3) counter drift: reported, fixed, then clean ---------------------------------------------


def test_verify_counters_reports_drift_without_writing_and_fix_repairs_it(
    api: Api, dynamodb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    world = build(api)
    brand = api.post(f"/api/v1/brands/?organization_id={world.org}", {"name": "Acme"}, world.a)
    assert brand.status == 200, brand
    expected_answers = answers(api, world)
    counters = counts(dynamodb)
    guard = items_of(dynamodb, "Facet")[(f"FACETS#ORG#{world.org}", "BRAND#acme")]
    assert int(guard["registered"]["N"]) == 1 and counters[guard["pk"]["S"], "BRAND#acme"][0] == 2
    assert verify_counters(table(), out=quiet).ok

    user_scope = f"FACETS#USER#{world.a_id}"
    shard = next(pk for pk, sk in counters if pk.startswith("FACETS#ALL#") and sk == "YEAR#2024")

    def set_count(pk: str, sk: str, value: int) -> None:
        dynamodb.update_item(
            TableName=table(),
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            UpdateExpression="SET product_count = :n, kind = :k",
            ExpressionAttributeValues={":n": {"N": str(value)}, ":k": {"S": "Facet"}},
        )

    set_count(user_scope, "BRAND#acme", 7)
    set_count(shard, "YEAR#2024", 0)
    set_count("FACETS#USER#nobody", "BRAND#ghost", 3)
    set_count(guard["pk"]["S"], "BRAND#acme", 5)
    org_list = (f"FACETS#ORG#{world.org}", "PRODUCTS#ENABLED")
    dynamodb.delete_item(TableName=table(), Key={"pk": {"S": org_list[0]}, "sk": {"S": org_list[1]}})
    tampered = items_of(dynamodb, "Facet")

    capsys.readouterr()
    assert migrations.main(["verify-counters", "--segments", "3"]) == 1
    output = capsys.readouterr().out
    assert "BRAND#acme: expected 2, stored 7" in output
    assert "BRAND#ghost: expected 0, stored 3" in output
    assert "PRODUCTS#ENABLED: expected 2, stored none" in output
    assert "5 counters drifted" in output
    assert items_of(dynamodb, "Facet") == tampered

    report = verify_counters(table(), out=quiet)
    assert {(d.key, d.expected, d.stored) for d in report.drift} == {
        ((user_scope, "BRAND#acme"), 2, 7),
        ((shard, "YEAR#2024"), counters[shard, "YEAR#2024"][0], 0),
        (("FACETS#USER#nobody", "BRAND#ghost"), 0, 3),
        ((guard["pk"]["S"], "BRAND#acme"), 2, 5),
        (org_list, 2, None),
    }

    assert migrations.main(["verify-counters", "--fix", "--table", table()]) == 0
    assert migrations.main(["verify-counters"]) == 0
    assert "no drift" in capsys.readouterr().out
    assert counts(dynamodb) == counters
    facets = items_of(dynamodb, "Facet")
    # A counter nothing counts in and no registration holds is swept; the registration's guard
    # keeps its registration.
    assert ("FACETS#USER#nobody", "BRAND#ghost") not in facets
    fixed_guard = facets[(guard["pk"]["S"], "BRAND#acme")]
    assert (fixed_guard["registered"], fixed_guard["entity_id"]) == (guard["registered"], guard["entity_id"])
    assert answers(api, world) == expected_answers


def test_fix_keeps_a_count_that_changed_after_the_recount(api: Api, dynamodb: Any, monkeypatch: Any) -> None:
    """A product write between the recount's last read and the fix: its +1 is kept."""
    world = build(api)
    key = next(k for k in counts(dynamodb) if k[0] == "FACETS#ORG#" + world.org and k[1] == "PRODUCTS#ENABLED")
    dynamodb.delete_item(TableName=table(), Key={"pk": {"S": key[0]}, "sk": {"S": key[1]}})
    original = migrations._fix_counter
    raced: list[str] = []

    def racing(*args: Any) -> bool:
        if not raced:
            raced.append(api.product(world.a, world.org, name="Late")["id"])
        return original(*args)

    monkeypatch.setattr(migrations, "_fix_counter", racing)
    report = verify_counters(table(), fix=True, out=quiet)
    assert report.ok and [d.key for d in report.fixed] == [key]
    # Two products when the recount read; the late one's increment landed on the deleted counter
    # (making it 1), and the fix, re-reading, added the recount's difference on top of it.
    assert counts(dynamodb)[key][0] == 3
    assert verify_counters(table(), out=quiet).drift == []


# -- (4) a write racing the backfill ------------------------------------------------------------


@pytest.fixture
def racing_api(api: Api, threaded_client: None) -> Iterator[Api]:
    yield api


@pytest.mark.parametrize("writer", ["old app", "api"])
def test_a_write_between_read_and_resave_is_kept(racing_api: Api, dynamodb: Any, tmp_path: Path, writer: str) -> None:
    api = racing_api
    world = build(api)
    target = world.products[0]
    key = {"pk": {"S": f"PRODUCT#{target}"}, "sk": {"S": "PRODUCT"}}
    make_legacy(dynamodb, world.products)
    read_version = version(dynamodb.get_item(TableName=table(), Key=key)["Item"])
    raced: list[str] = []

    def concurrent_write(product_id: str) -> None:
        if product_id != target or raced:
            return
        raced.append(product_id)
        if writer == "api":
            assert api.patch(f"/api/v1/products/{target}", {"name": "Renamed"}, world.a).status == 200
            return
        # An instance of the previous release, still serving while the migration runs: it writes
        # the document and version, and knows nothing of the new attributes.
        doc = json.loads(dynamodb.get_item(TableName=table(), Key=key)["Item"]["doc"]["S"])
        dynamodb.update_item(
            TableName=table(),
            Key=key,
            UpdateExpression="SET doc = :doc, version = version + :one",
            ExpressionAttributeValues={":doc": {"S": json.dumps({**doc, "name": "Renamed"})}, ":one": {"N": "1"}},
        )

    report = backfill(
        table(), tmp_path / "race.json", segments=1, page_size=3, before_write=concurrent_write, out=quiet
    )

    assert raced == [target]
    assert report.ok, report.problems
    assert report.run.retried == 1 and report.run.conflicts == 0
    item = dynamodb.get_item(TableName=table(), Key=key, ConsistentRead=True)["Item"]
    assert json.loads(item["doc"]["S"])["name"] == "Renamed"
    assert item["name_lc"]["S"] == "renamed"
    assert all(name in item for name in ("list_pk", "attention_sk", "updated_sk", "brand_pk"))
    # The racing write's version, then the backfill's own (the API's write left nothing to do).
    assert version(item) == read_version + (1 if writer == "api" else 2)
    assert (report.run.resaved, report.run.unchanged) == (
        (len(world.products) - 1, 1) if writer == "api" else (len(world.products), 0)
    )
    listed = api.get("/api/v1/products/?search=renamed", world.a).json
    assert [p["id"] for p in listed["data"]] == [target]
    assert verify_counters(table(), out=quiet).drift == []


def test_a_counter_written_while_the_products_are_read_is_left_alone(api: Api, dynamodb: Any, monkeypatch: Any) -> None:
    """The recount cannot tell whether its scan saw a product written meanwhile: not judged."""
    world = build(api)
    scope_list = (f"FACETS#USER#{world.a_id}", "PRODUCTS#ENABLED")
    stale = ("FACETS#USER#nobody", "BRAND#ghost")
    for pk, sk in (scope_list, stale):
        dynamodb.update_item(
            TableName=table(),
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            UpdateExpression="SET product_count = :n, kind = :k",
            ExpressionAttributeValues={":n": {"N": "9"}, ":k": {"S": "Facet"}},
        )
    original = migrations.recount_products
    late: list[str] = []

    def write_during_the_scan(products: Any) -> Any:
        # Between the counters' two reads; the products were read without it.
        late.append(api.product(world.a, None, name="Late", brand="Acme")["id"])
        return original(products)

    monkeypatch.setattr(migrations, "recount_products", write_during_the_scan)
    report = verify_counters(table(), fix=True, out=quiet)
    monkeypatch.setattr(migrations, "recount_products", original)

    assert not report.ok
    assert scope_list in report.unsettled and (f"FACETS#USER#{world.a_id}", "BRAND#acme") in report.unsettled
    assert [d.key for d in report.fixed] == [stale]
    assert counts(dynamodb)[scope_list][0] == 10
    again = verify_counters(table(), fix=True, out=quiet)
    assert again.ok and [(d.key, d.expected, d.stored) for d in again.drift] == [(scope_list, 4, 10)]
    assert verify_counters(table(), out=quiet).drift == []
