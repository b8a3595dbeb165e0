"""Tenancy between objects (issue 16): every id that leads from an object the caller may see to
another object is a door, checked against the caller (or the task's owner) when it is used.

Exports: whatever an export touches (products, looks, images) must be readable by the task's
owner when the run reads it; anything else is left out of the archive and the manifest, and
counted (`skipped_items`). Looks: a look belongs to its main product's scope, so only looks the
product's readers can see steer its `shot_status`, order, filters and shot summaries, also after
the product moves to another scope.

The cast (`cast`): `member` is a member of org A; `a_owner` owns A and is a plain member of B;
`b_owner` owns B.
"""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from chalicelib.config import get_settings
from chalicelib.services.export_runs import ExportRunner, archive_key
from chalicelib.store.models import LookItem
from chalicelib.store.shootings import ShootingRepository
from tests.factories import Api, Response, png_b64

Body = dict[str, Any]

API = "/api/v1"
PRODUCTS = f"{API}/products/"
EXPORT = f"{API}/products/export-approved-shots/async"
TASKS = f"{API}/products/export-tasks"
SECRET = {"sku": "SECRET-SKU-42", "name": "Secret dress", "brand": "Hidden brand", "season": "Hidden season"}


def ok(r: Response) -> Any:
    assert r.status == 200, r
    return r.json


@dataclass
class Cast:
    api: Api
    ids: dict[str, str]
    tokens: dict[str, str]
    org_a: str
    org_b: str

    def token(self, who: str) -> str:
        return self.tokens[who]


@pytest.fixture
def cast(api: Api) -> Cast:
    ids: dict[str, str] = {}
    tokens: dict[str, str] = {}
    for name in ("member", "a_owner", "b_owner"):
        ids[name], tokens[name] = api.user()
    tokens["admin"] = api.admin_token
    org_a = api.org(tokens["a_owner"], "A")
    org_b = api.org(tokens["b_owner"], "B")
    api.add_member(tokens["a_owner"], org_a, ids["member"])
    api.add_member(tokens["b_owner"], org_b, ids["a_owner"])
    return Cast(api=api, ids=ids, tokens=tokens, org_a=org_a, org_b=org_b)


# -- steps through the API -------------------------------------------------------------------


def product(cast: Cast, who: str, org: str | None = None, **fields: Any) -> Body:
    return cast.api.product(cast.token(who), org, **fields)


def read(cast: Cast, who: str, product_id: str) -> Response:
    return cast.api.get(f"{PRODUCTS}{product_id}", cast.token(who))


def shooting(cast: Cast, who: str, org: str | None = None) -> Body:
    path = f"{API}/shootings/" + (f"?organization_id={org}" if org else "")
    return ok(cast.api.post(path, {"name": "Shoot"}, cast.token(who)))  # type: ignore[no-any-return]


def new_look(cast: Cast, who: str, shooting_id: str, product_id: str, outfit: list[str] | None = None) -> Response:
    body: Body = {"product_id": product_id, **({"outfit_product_ids": outfit} if outfit else {})}
    return cast.api.post(f"{API}/shootings/{shooting_id}/looks", body, cast.token(who))


def shot(cast: Cast, who: str, look_id: str, status: str, image: str | None = None) -> Body:
    """A shot with one revision (TO_REVIEW), then `status` if another."""
    token = cast.token(who)
    made = ok(cast.api.post(f"{API}/shooting-looks/{look_id}/shots", {"shot_type": "front"}, token))
    revision = {"images": [{"image": image or png_b64()}]}
    ok(cast.api.post(f"{API}/shots/{made['id']}/revisions", revision, token))
    if status != "TO_REVIEW":
        ok(cast.api.patch(f"{API}/shots/{made['id']}", {"status": status}, token))
    return made  # type: ignore[no-any-return]


def move(cast: Cast, who: str, product_id: str, org: str | None) -> Body:
    return ok(cast.api.patch(f"{PRODUCTS}{product_id}", {"organization_id": org}, cast.token(who)))  # type: ignore[no-any-return]


def listed(cast: Cast, who: str, org: str | None, **query: str) -> list[str]:
    params = {**({"organization_id": org} if org else {}), **query}
    body = ok(cast.api.get(f"{PRODUCTS}?{urlencode(params)}", cast.token(who)))
    return [p["id"] for p in body["data"]]


def made_before_the_rule(look_id: str, into: Body) -> None:
    """Puts a look into another shooting (and so another scope), as a look could be made before
    a look had to be in its main product's scope: the API refuses to make one now."""
    look = ShootingRepository().get_look(look_id)
    assert look is not None
    look.update(
        actions=[
            LookItem.shooting_id.set(into["id"]),
            LookItem.owner_id.set(into["owner_id"]),
            LookItem.organization_id.set(into["organization_id"])
            if into["organization_id"]
            else LookItem.organization_id.remove(),
        ]
    )


# -- exports ---------------------------------------------------------------------------------


def export(cast: Cast, who: str, body: Body, org: str | None = None) -> str:
    path = EXPORT + (f"?{urlencode({'organization_id': org})}" if org else "")
    return str(ok(cast.api.post(path, body, cast.token(who)))["id"])


def run(task_id: str) -> None:
    assert ExportRunner().run(task_id).state == "completed"


def archive(task_id: str) -> zipfile.ZipFile:
    s3 = boto3.client("s3", region_name="us-east-1")
    body = s3.get_object(Bucket=get_settings().exports_bucket, Key=archive_key(task_id))["Body"].read()
    return zipfile.ZipFile(io.BytesIO(body))


def manifest(task_id: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive(task_id).read("manifest.csv").decode())))


def task(cast: Cast, who: str, task_id: str) -> Body:
    return ok(cast.api.get(f"{TASKS}/{task_id}", cast.token(who)))  # type: ignore[no-any-return]


def assert_left_out(cast: Cast, who: str, task_id: str, secret: Body, skipped: int) -> None:
    """Neither the product's images nor its fields are in the archive; the task counts it."""
    names = archive(task_id).namelist()
    assert names == ["manifest.csv"], names
    text = archive(task_id).read("manifest.csv").decode()
    for value in (secret["id"], *SECRET.values()):
        assert value not in text, text
    done = task(cast, who, task_id)
    assert (done["status"], done["skipped_items"]) == ("COMPLETED", skipped), done


def test_an_export_of_a_look_leaves_out_a_personal_product_the_owner_cannot_read(cast: Cast) -> None:
    """A member's look on their personal product inside the organization's shooting: the
    organization's owner may see the look, not the product."""
    secret = product(cast, "member", **SECRET)
    look = ok(new_look(cast, "member", shooting(cast, "member")["id"], secret["id"]))
    shot(cast, "member", look["id"], "APPROVED")
    made_before_the_rule(look["id"], shooting(cast, "a_owner", cast.org_a))
    assert read(cast, "a_owner", secret["id"]).status == 404

    task_id = export(cast, "a_owner", {"shooting_look_id": look["id"]})
    run(task_id)
    assert_left_out(cast, "a_owner", task_id, secret, skipped=1)


def test_an_export_of_a_look_in_another_organizations_shooting_leaves_out_its_product(cast: Cast) -> None:
    secret = product(cast, "member", cast.org_a, **SECRET)
    look = ok(new_look(cast, "member", shooting(cast, "member", cast.org_a)["id"], secret["id"]))
    shot(cast, "member", look["id"], "APPROVED")
    made_before_the_rule(look["id"], shooting(cast, "b_owner", cast.org_b))
    assert read(cast, "b_owner", secret["id"]).status == 404

    task_id = export(cast, "b_owner", {"shooting_look_id": look["id"]})
    run(task_id)
    assert_left_out(cast, "b_owner", task_id, secret, skipped=1)


def test_an_export_of_a_look_left_behind_by_its_moved_product_leaves_the_product_out(cast: Cast) -> None:
    secret = product(cast, "member", cast.org_a, **SECRET)
    look = ok(new_look(cast, "member", shooting(cast, "member", cast.org_a)["id"], secret["id"]))
    shot(cast, "member", look["id"], "APPROVED")
    move(cast, "a_owner", secret["id"], cast.org_b)
    assert read(cast, "member", secret["id"]).status == 404

    task_id = export(cast, "member", {"shooting_look_id": look["id"]}, cast.org_a)
    run(task_id)
    assert_left_out(cast, "member", task_id, secret, skipped=1)


def test_a_product_moved_away_before_the_run_is_left_out(cast: Cast) -> None:
    """Access is the owner's when the run reads the product, not when the task was made."""
    secret = product(cast, "member", cast.org_a, **SECRET)
    look = ok(new_look(cast, "member", shooting(cast, "member", cast.org_a)["id"], secret["id"]))
    shot(cast, "member", look["id"], "APPROVED")
    task_id = export(cast, "member", {"product_ids": [secret["id"]]}, cast.org_a)
    move(cast, "a_owner", secret["id"], cast.org_b)

    run(task_id)
    assert_left_out(cast, "member", task_id, secret, skipped=1)


def test_a_continuation_leaves_out_what_its_owner_can_no_longer_read(cast: Cast) -> None:
    """A run that continues in a new invocation checks again what is left to write."""
    secret = product(cast, "member", cast.org_a, **SECRET)
    look = ok(new_look(cast, "member", shooting(cast, "member", cast.org_a)["id"], secret["id"]))
    shot(cast, "member", look["id"], "APPROVED")
    shot(cast, "member", look["id"], "APPROVED")
    task_id = export(cast, "member", {"product_ids": [secret["id"]]}, cast.org_a)
    calls = {"n": 0}

    def remaining() -> int:
        calls["n"] += 1
        return 1 if calls["n"] == 1 else 10**9

    assert ExportRunner().run(task_id, remaining).state == "continued"
    move(cast, "a_owner", secret["id"], cast.org_b)
    run(task_id)

    # The first image was written while the member could read the product; the second is not.
    assert archive(task_id).namelist() == ["SECRET-SKU-42/front.png", "manifest.csv"]
    assert [row["file"] for row in manifest(task_id)] == ["SECRET-SKU-42/front.png"]
    done = task(cast, "member", task_id)
    assert (done["processed_items"], done["total_items"], done["skipped_items"]) == (2, 2, 1), done


def test_an_export_never_fetches_another_products_object_named_by_a_link(cast: Cast) -> None:
    """A revision image given as a URL into the images bucket that is not a media resource (here
    another organization's generation result) is kept as a link; the export must not fetch it
    with the worker's rights."""
    settings = get_settings()
    victim = product(cast, "b_owner", cast.org_b, name="Victim")
    key = f"products/{victim['id']}/generations/{uuid.uuid4()}.png"
    secret_bytes = b"\x89PNG another organization's image"
    boto3.client("s3", region_name="us-east-1").put_object(Bucket=settings.images_bucket, Key=key, Body=secret_bytes)

    mine = product(cast, "member", sku="MINE")
    look = ok(new_look(cast, "member", shooting(cast, "member")["id"], mine["id"]))
    shot(cast, "member", look["id"], "APPROVED", image=settings.media_url(key))
    task_id = export(cast, "member", {"product_ids": [mine["id"]]})
    run(task_id)

    files = archive(task_id)
    assert all(files.read(name) != secret_bytes for name in files.namelist())
    assert files.namelist() == ["manifest.csv"]
    assert task(cast, "member", task_id)["skipped_items"] == 1


def test_what_the_owner_may_read_is_exported_and_nothing_is_skipped(cast: Cast) -> None:
    """The rule leaves the owner's own exports whole."""
    mine = product(cast, "member", cast.org_a, sku="OURS")
    look = ok(new_look(cast, "member", shooting(cast, "member", cast.org_a)["id"], mine["id"]))
    shot(cast, "member", look["id"], "APPROVED")
    for body in ({"product_ids": [mine["id"]]}, {"shooting_look_id": look["id"]}):
        task_id = export(cast, "a_owner", body, cast.org_a)
        run(task_id)
        assert archive(task_id).namelist() == ["OURS/front.png", "manifest.csv"]
        assert [(r["sku"], r["status"]) for r in manifest(task_id)] == [("OURS", "ok")]
        assert task(cast, "a_owner", task_id)["skipped_items"] == 0


# -- looks and their product's shot state ----------------------------------------------------


def assert_scope_422(r: Response, product_id: str) -> None:
    assert r.status == 422, r
    detail = r.json["detail"]
    assert [(e["loc"], e["type"], e["input"]) for e in detail] == [
        (["body", "product_id"], "scope_mismatch", product_id)
    ]
    assert all(isinstance(e["msg"], str) and e["msg"] for e in detail)


def assert_untouched(cast: Cast, who: str, product_id: str) -> None:
    body = ok(read(cast, who, product_id))
    assert (body["shot_status"], body["shots"], body["shot_status_shooting_look_id"]) == ("NOT_STARTED", [], None)


def test_a_look_must_be_in_its_main_products_scope(cast: Cast) -> None:
    org_product = product(cast, "member", cast.org_a)
    personal = product(cast, "member")
    b_product = product(cast, "a_owner", cast.org_b)
    # A member's personal look on the organization's product.
    assert_scope_422(new_look(cast, "member", shooting(cast, "member")["id"], org_product["id"]), org_product["id"])
    # The member's personal product in the organization's shooting.
    org_shoot = shooting(cast, "member", cast.org_a)
    assert_scope_422(new_look(cast, "member", org_shoot["id"], personal["id"]), personal["id"])
    # Another organization's product (the caller is a member of both).
    assert_scope_422(new_look(cast, "a_owner", org_shoot["id"], b_product["id"]), b_product["id"])
    # A superuser is held to the same rule.
    assert_scope_422(new_look(cast, "admin", org_shoot["id"], personal["id"]), personal["id"])
    for who, pid in (("a_owner", org_product["id"]), ("member", personal["id"]), ("b_owner", b_product["id"])):
        assert_untouched(cast, who, pid)
    assert listed(cast, "a_owner", cast.org_a, shooting_id=org_shoot["id"]) == []

    # The outfit is only shown: any product the caller may read.
    look = ok(new_look(cast, "member", org_shoot["id"], org_product["id"], outfit=[personal["id"]]))
    assert (look["product_id"], look["outfit_product_ids"]) == (org_product["id"], [personal["id"]])


def test_a_moved_product_leaves_its_looks_summaries_behind(cast: Cast) -> None:
    """Moved to another organization, the product's shot state comes from the looks of its new
    scope (none here); moved back, from its looks there again."""
    dress = product(cast, "member", cast.org_a)
    shoot = shooting(cast, "member", cast.org_a)
    look = ok(new_look(cast, "member", shoot["id"], dress["id"]))
    shot(cast, "member", look["id"], "APPROVED")
    before = ok(read(cast, "member", dress["id"]))
    assert (before["shot_status"], before["shot_status_shooting_look_id"], len(before["shots"])) == (
        "APPROVED",
        look["id"],
        1,
    )

    moved = move(cast, "a_owner", dress["id"], cast.org_b)
    assert (moved["shot_status"], moved["shots"], moved["shot_status_shooting_look_id"]) == ("NOT_STARTED", [], None)
    assert_untouched(cast, "b_owner", dress["id"])
    assert listed(cast, "b_owner", cast.org_b, shot_statuses="APPROVED") == []
    assert listed(cast, "b_owner", cast.org_b, shooting_id=shoot["id"]) == []
    assert listed(cast, "b_owner", cast.org_b, shot_statuses="NOT_STARTED") == [dress["id"]]

    back = move(cast, "admin", dress["id"], cast.org_a)
    assert (back["shot_status"], back["shot_status_shooting_look_id"], len(back["shots"])) == (
        "APPROVED",
        look["id"],
        1,
    )
    assert listed(cast, "member", cast.org_a, shooting_id=shoot["id"]) == [dress["id"]]


def test_a_look_left_in_another_scope_does_not_steer_its_product(cast: Cast) -> None:
    """After the move, a shot of the look left behind (changed by someone who may still see the
    look and write the product) sets nothing on the product: not its status, its order, its
    filters or its shots, which nobody in its new organization can see."""
    dress = product(cast, "member", cast.org_a)
    look = ok(new_look(cast, "member", shooting(cast, "member", cast.org_a)["id"], dress["id"]))
    move(cast, "a_owner", dress["id"], cast.org_b)

    made = shot(cast, "a_owner", look["id"], "TO_REVIEW")
    assert_untouched(cast, "b_owner", dress["id"])
    assert listed(cast, "b_owner", cast.org_b, shot_statuses="TO_REVIEW") == []
    # The default order puts what needs attention (TO_REVIEW) first, then the newest: a product
    # made after the shot comes first unless the look moved the dress ahead of it.
    newer = product(cast, "b_owner", cast.org_b)
    assert listed(cast, "b_owner", cast.org_b) == [newer["id"], dress["id"]]
    assert ok(cast.api.patch(f"{API}/shots/{made['id']}", {"status": "APPROVED"}, cast.token("a_owner")))
    assert_untouched(cast, "b_owner", dress["id"])
    assert listed(cast, "b_owner", cast.org_b, shot_statuses="APPROVED") == []
