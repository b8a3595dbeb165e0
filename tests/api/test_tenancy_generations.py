"""Tenancy of the doors between objects (issue 16, holes 5, 7 and 8), through the API.

Every id that leads from an object the caller may see to another object is checked against the
caller when it is used:
- hole 5: a write of a prediction, refine, shot or push record checks the caller's current
  access to the product it changes, not the scope the generation or look was stored with;
- hole 7: the ids a generation (shooting_look_id, shot_id, product2_id) or a revision image
  (prediction_id, refine_id) stores name objects that exist, that the caller may read, and that
  belong together (the look of the generation's product, a shot of that look, a prediction or
  refine of the look's product);
- hole 8: a product's related looks are read a page at a time from the caller's own scope: what
  other tenants name the product in costs the reader nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
import pytest

from tests.factories import Api, Response, png_b64

API = "/api/v1"
BUCKET = "test-images"
NOT_FOUND = {"detail": "Product not found"}
FORBIDDEN = {"detail": "Not enough permissions"}
PREDICTION_NOT_FOUND = {"detail": "Prediction not found"}
REFINE_NOT_FOUND = {"detail": "Refine not found"}
SHOT_NOT_FOUND = {"detail": "Shot not found"}

Json = dict[str, Any]


# -- helpers ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def keys_under(prefix: str) -> list[str]:
    listed = s3().list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def ok(r: Response) -> Any:
    assert r.status == 200, r
    return r.json


def assert_422(r: Response, loc: list[Any]) -> None:
    assert r.status == 422, r
    detail = r.json["detail"]
    assert isinstance(detail, list) and detail, r
    for entry in detail:
        assert {"type", "loc", "msg", "input"} <= set(entry), entry
    assert [e["loc"] for e in detail] == [loc], detail


def with_org(path: str, org: str | None) -> str:
    return f"{path}{'&' if '?' in path else '?'}organization_id={org}" if org else path


def generation(api: Api, token: str, product_id: str, org: str | None = None, **fields: Any) -> Json:
    body = {"product_id": product_id, "batch_size": 1, **fields}
    result: Json = ok(api.post(with_org(f"{API}/generations/", org), body, token))
    return result


def succeeded(api: Api, token: str, product_id: str) -> tuple[str, str]:
    """A succeeded prediction of the product with a succeeded refine: (prediction id, refine id)."""
    prediction = generation(api, token, product_id)["predictions"][0]["id"]
    ok(api.patch(f"{API}/predictions/{prediction}", {"status": "succeeded", "result_image": png_b64()}, token))
    refine = ok(api.post(f"{API}/predictions/{prediction}/refines", {"status": "succeeded"}, token))
    return prediction, str(refine["id"])


def shooting(api: Api, token: str, org: str | None = None) -> str:
    return str(ok(api.post(with_org(f"{API}/shootings/", org), {"name": "Shoot"}, token))["id"])


def look(api: Api, token: str, shooting_id: str, product_id: str, outfit: list[str] | None = None) -> str:
    body = {"product_id": product_id, "outfit_product_ids": outfit or []}
    return str(ok(api.post(f"{API}/shootings/{shooting_id}/looks", body, token))["id"])


def shot(api: Api, token: str, look_id: str) -> str:
    return str(ok(api.post(f"{API}/shooting-looks/{look_id}/shots", {"shot_type": "front"}, token))["id"])


def remove_member(api: Api, owner: str, org: str, user_id: str) -> None:
    ok(api.delete(f"{API}/organizations/{org}/members/{user_id}", owner))


def stored_generations(product_id: str) -> list[Json]:
    """A product's generations as stored, every scope (the API lists one scope at a time)."""
    from chalicelib.store.generation_models import GenerationItem
    from chalicelib.store.models import TableItem, bind_table

    bind_table()
    found = TableItem.query(f"PRODUCT#{product_id}", TableItem.sk.startswith("GENERATION#"))
    return [{"status": g.status, "predictions": g.predictions} for g in found if isinstance(g, GenerationItem)]


# -- hole 5: a removed member keeps writing ----------------------------------------------------


@pytest.fixture
def removed(api: Api) -> Json:
    """A member's personal generation (with a refine), and a look of the organization's with a
    shot, a revision and a push record, on each of two organization products (one public); then
    the member is removed."""
    _, owner = api.user()
    member_id, member = api.user()
    org = api.org(owner)
    api.add_member(owner, org, member_id)
    private = api.product(member, org, name="Private dress")
    public = api.product(member, org, name="Public dress", public=True)
    world: Json = {"owner": owner, "member": member, "org": org, "private": private, "public": public}
    for kind, product in (("private", private), ("public", public)):
        # Personal: no organization_id, the member's own scope, kept after the removal.
        gen = generation(api, member, product["id"])
        prediction = gen["predictions"][0]["id"]
        refine = ok(api.post(f"{API}/predictions/{prediction}/refines", {}, member))["id"]
        look_id = look(api, member, shooting(api, member, org), product["id"])
        shot_id = shot(api, member, look_id)
        revision = ok(api.post(f"{API}/shots/{shot_id}/revisions", {"images": [{"image": png_b64()}]}, member))
        push = ok(
            api.post(
                f"{API}/shots/{shot_id}/revisions/{revision['id']}/push-records",
                {"integration_id": str(uuid.uuid4())},
                member,
            )
        )
        world[kind] = {
            **product,
            "prediction": prediction,
            "refine": refine,
            "shot": shot_id,
            "revision": revision["id"],
            "push": push["id"],
        }
    remove_member(api, owner, org, member_id)
    return world


def generation_writes(w: Json, kind: str) -> list[tuple[str, str, Json, dict[str, str]]]:
    p = w[kind]
    image = {"result_image": png_b64((1, 2, 3))}
    return [
        ("PATCH", f"{API}/predictions/{p['prediction']}", {"status": "succeeded", **image}, PREDICTION_NOT_FOUND),
        ("POST", f"{API}/predictions/{p['prediction']}/refines", image, PREDICTION_NOT_FOUND),
        ("PATCH", f"{API}/refines/{p['refine']}", {"status": "succeeded", **image}, REFINE_NOT_FOUND),
    ]


def shot_writes(w: Json, kind: str) -> list[tuple[str, str, Json]]:
    p = w[kind]
    revisions = f"{API}/shots/{p['shot']}/revisions"
    return [
        ("PATCH", f"{API}/shots/{p['shot']}", {"status": "APPROVED"}),
        ("POST", revisions, {"images": [{"image": png_b64((9, 9, 9))}]}),
        ("POST", f"{revisions}/{p['revision']}/push-records", {"integration_id": str(uuid.uuid4())}),
        ("PATCH", f"{revisions}/{p['revision']}/push-records/{p['push']}", {"push_status": "IN_PROGRESS"}),
    ]


def test_a_removed_member_no_longer_writes_generations_of_a_private_product(api: Api, removed: Json) -> None:
    """The product is no longer visible to them: its predictions and refines are not found."""
    product = removed["private"]
    before, objects = stored_generations(product["id"]), keys_under(f"products/{product['id']}/")
    for method, path, body, detail in generation_writes(removed, "private"):
        r = api.call(method, path, removed["member"], body)
        assert (r.status, r.json) == (404, detail), (method, path, r)
    assert stored_generations(product["id"]) == before
    assert keys_under(f"products/{product['id']}/") == objects


def test_a_removed_member_may_not_write_generations_of_a_public_product(api: Api, removed: Json) -> None:
    """They still see the product (it is public) and their own generation, but may not change it."""
    product = removed["public"]
    before, objects = stored_generations(product["id"]), keys_under(f"products/{product['id']}/")
    for method, path, body, _ in generation_writes(removed, "public"):
        r = api.call(method, path, removed["member"], body)
        assert (r.status, r.json) == (403, FORBIDDEN), (method, path, r)
    assert stored_generations(product["id"]) == before
    assert keys_under(f"products/{product['id']}/") == objects


def test_a_removed_member_no_longer_writes_shots_of_the_organizations_products(api: Api, removed: Json) -> None:
    """Shots already checked the product's writers on every write: kept so (a guard, not a hole)."""
    for kind in ("private", "public"):
        product = removed[kind]
        objects = keys_under(f"products/{product['id']}/")
        for method, path, body in shot_writes(removed, kind):
            r = api.call(method, path, removed["member"], body)
            assert r.status == 404, (kind, method, path, r)
        assert keys_under(f"products/{product['id']}/") == objects


def test_the_generation_is_written_by_whoever_may_write_its_product(api: Api, removed: Json) -> None:
    """What decides is the product now: a superuser writes it; the member, added again, too."""
    _, admin = api.user(superuser=True)
    product = removed["private"]
    ok(api.patch(f"{API}/predictions/{product['prediction']}", {"status": "processing"}, admin))
    member_id = ok(api.get(f"{API}/users/me", removed["member"]))["id"]
    api.add_member(removed["owner"], removed["org"], member_id)
    ok(api.patch(f"{API}/refines/{product['refine']}", {"status": "processing"}, removed["member"]))


# -- hole 7: ids stored unchecked ----------------------------------------------------------------


@dataclass
class Tenant:
    token: str
    main: str  # a product with two looks, a shot in each, two succeeded predictions with a refine each
    look: str
    shot: str
    second_look: str
    second_shot: str
    prediction: str
    refine: str
    second_prediction: str
    second_refine: str
    other: str  # another product of the same tenant, with its look, shot, prediction and refine
    other_look: str
    other_shot: str
    other_prediction: str
    other_refine: str


def tenant(api: Api) -> Tenant:
    _, token = api.user()
    main = api.product(token, name="Main")["id"]
    other = api.product(token, name="Other")["id"]
    shoot = shooting(api, token)
    looks = [look(api, token, shoot, product) for product in (main, main, other)]
    shots = [shot(api, token, look_id) for look_id in looks]
    results = [succeeded(api, token, product) for product in (main, main, other)]
    return Tenant(
        token,
        main,
        looks[0],
        shots[0],
        looks[1],
        shots[1],
        *results[0],
        *results[1],
        other,
        looks[2],
        shots[2],
        *results[2],
    )


def test_a_generation_names_only_a_look_shot_and_product_the_caller_may_read(api: Api) -> None:
    me, them = tenant(api), tenant(api)
    public = api.product(them.token, name="Their public coat", public=True)["id"]

    def create(**ids: str) -> Response:
        return api.post(f"{API}/generations/", {"product_id": me.main, "batch_size": 1, **ids}, me.token)

    before = stored_generations(me.main)
    refused = [
        ({"shooting_look_id": them.look}, "shooting_look_id"),  # another tenant's look
        ({"shooting_look_id": str(uuid.uuid4())}, "shooting_look_id"),  # no such look
        ({"shooting_look_id": me.other_look}, "shooting_look_id"),  # mine, of another product
        ({"shot_id": them.shot}, "shot_id"),
        ({"shot_id": str(uuid.uuid4())}, "shot_id"),
        ({"shot_id": me.other_shot}, "shot_id"),  # mine, in a look of another product
        ({"shooting_look_id": me.look, "shot_id": me.second_shot}, "shot_id"),  # a shot of another look
        ({"product2_id": them.other}, "product2_id"),  # another tenant's private product
        ({"product2_id": str(uuid.uuid4())}, "product2_id"),
    ]
    for ids, field in refused:
        assert_422(create(**ids), ["body", field])
    assert stored_generations(me.main) == before

    made = ok(create(shooting_look_id=me.look, shot_id=me.shot, product2_id=public))
    assert (made["shooting_look_id"], made["shot_id"], made["product2_id"]) == (me.look, me.shot, public)
    # A shot alone: its look must be one of the product's.
    assert ok(create(shot_id=me.second_shot))["shot_id"] == me.second_shot


def test_a_revision_image_names_only_predictions_and_refines_of_the_looks_product(api: Api) -> None:
    me, them = tenant(api), tenant(api)
    path = f"{API}/shots/{me.shot}/revisions"

    def revise(**ids: str) -> Response:
        images = [{"image": png_b64()}, {"image": png_b64((0, 90, 0)), "source_type": "PREDICTION", **ids}]
        return api.post(path, {"images": images}, me.token)

    objects = keys_under(f"products/{me.main}/")
    refused = [
        ({"prediction_id": them.prediction}, "prediction_id"),  # another tenant's
        ({"prediction_id": str(uuid.uuid4())}, "prediction_id"),
        ({"prediction_id": me.other_prediction}, "prediction_id"),  # mine, of another product
        ({"refine_id": them.refine}, "refine_id"),
        ({"refine_id": str(uuid.uuid4())}, "refine_id"),
        ({"refine_id": me.other_refine}, "refine_id"),
        ({"prediction_id": me.prediction, "refine_id": me.second_refine}, "refine_id"),  # of another prediction
    ]
    for ids, field in refused:
        assert_422(revise(**ids), ["body", "images", 1, field])
    # Nothing was written or stored.
    shots = ok(api.get(f"{API}/products/{me.main}/shots", me.token))["data"]
    assert [s["revisions"] for s in shots] == [[], []]
    assert keys_under(f"products/{me.main}/") == objects

    revision = ok(revise(prediction_id=me.prediction, refine_id=me.refine))
    assert (revision["images"][1]["prediction_id"], revision["images"][1]["refine_id"]) == (me.prediction, me.refine)
    ok(revise(refine_id=me.second_refine))


# -- hole 8: amplification ---------------------------------------------------------------------

FOREIGN_LOOKS = 25


def test_related_looks_read_a_page_of_the_callers_own_references(api: Api) -> None:
    """A stranger names the owner's public product in many looks of their own; the owner's page of
    related looks reads the owner's references only, a page of them, and the page's looks."""
    from bench.dynamodb_calls import DynamoDBCallCounter

    _, owner = api.user()
    _, stranger = api.user()
    product = api.product(owner, name="Public shoes", public=True)["id"]
    their_main, their_shooting = api.product(stranger, name="Their coat")["id"], shooting(api, stranger)
    theirs = [look(api, stranger, their_shooting, their_main, [product]) for _ in range(FOREIGN_LOOKS)]
    own_main, own_shooting = api.product(owner, name="Own coat")["id"], shooting(api, owner)
    mine = [look(api, owner, own_shooting, own_main, [product]) for _ in range(3)]
    related = f"{API}/products/{product}/related-shooting-looks"

    counter = DynamoDBCallCounter()
    counter.install()
    try:
        with counter.measure() as stats:
            page = ok(api.get(f"{related}?limit=2", owner))
    finally:
        counter.uninstall()
    assert ([item["id"] for item in page["data"]], page["count"]) == ([mine[2], mine[1]], 3)
    # The references: the owner's only (a page of two, then the rest counted, the page's last
    # once more), never the stranger's.
    assert stats.items_read["Query"] <= len(mine) + 1, stats
    # The looks: the page's two, with the one product they name that the request had not read.
    assert stats.items_read["BatchGetItem"] <= 2 + 1, stats

    page = ok(api.get(f"{related}?skip=2&limit=2", owner))
    assert ([item["id"] for item in page["data"]], page["count"]) == ([mine[0]], 3)
    page = ok(api.get(f"{related}?limit=3", stranger))
    assert ([item["id"] for item in page["data"]], page["count"]) == (theirs[::-1][:3], FOREIGN_LOOKS)


def test_references_written_before_the_scope_keys_are_rekeyed_by_the_migration(api: Api) -> None:
    """`ops.migrations rekey-look-refs`: a reference in the old shape (`LOOKREF#<created_at>#<look>`,
    no scope) is missing from the scope's page until it is rewritten; one whose look is gone is
    deleted; a second run finds nothing to do."""
    from chalicelib.config import get_settings
    from chalicelib.store.models import LookRefItem, TableItem, bind_table
    from ops.migrations import rekey_look_refs

    _, owner = api.user()
    _, stranger = api.user()
    product = api.product(owner, name="Public shoes", public=True)["id"]
    mine = look(api, owner, shooting(api, owner), api.product(owner, name="Own coat")["id"], [product])
    theirs = look(api, stranger, shooting(api, stranger), api.product(stranger, name="Their coat")["id"], [product])
    related = f"{API}/products/{product}/related-shooting-looks"

    bind_table()
    table = get_settings().table_name
    client = boto3.client("dynamodb", region_name=get_settings().aws_region)
    refs = [ref for ref in TableItem.query(f"PRODUCT#{product}") if isinstance(ref, LookRefItem)]
    assert sorted(ref.look_id for ref in refs) == sorted([mine, theirs])
    orphan = LookRefItem(
        product_id=product, look_id=str(uuid.uuid4()), role="outfit", created_at="2020-01-01", owner_id="gone"
    )
    orphan.refresh_keys()
    for ref in [*refs, orphan]:
        legacy = ref.serialize()
        for name in ("owner_id", "organization_id"):
            legacy.pop(name, None)
        legacy["pk"], legacy["sk"] = {"S": f"PRODUCT#{product}"}, {"S": f"LOOKREF#{ref.created_at}#{ref.look_id}"}
        if ref is not orphan:
            client.delete_item(TableName=table, Key={"pk": {"S": ref.pk}, "sk": {"S": ref.sk}})
        client.put_item(TableName=table, Item=legacy)
    assert ok(api.get(related, owner)) == {"data": [], "count": 0}

    lines: list[str] = []
    done = rekey_look_refs(table, segments=2, out=lines.append)
    # Scanned: the three under the product, and each main product's reference (keyed already).
    assert (done.scanned, done.rekeyed, done.orphans, done.gone, done.failed) == (5, 2, 1, 0, 0), lines
    for token, look_id in ((owner, mine), (stranger, theirs)):
        page = ok(api.get(related, token))
        assert ([item["id"] for item in page["data"]], page["count"]) == ([look_id], 1)
    stored = [ref for ref in TableItem.query(f"PRODUCT#{product}") if isinstance(ref, LookRefItem)]
    assert sorted(ref.look_id for ref in stored) == sorted([mine, theirs])
    again = rekey_look_refs(table, segments=2, out=lines.append)
    assert (again.scanned, again.rekeyed, again.orphans) == (4, 0, 0)
