"""Tenancy: who may read and write what, endpoint by endpoint, caller by caller.

The rules are the spec's (shared/spec/README.md, "Tenancy" and "Conventions of the original
backend"): personal products belong to their owner, organization products to the members of
their organization; a product the caller may not see is 404 "Product not found"; one the caller
sees but may not change is 403 "Not enough permissions"; a superuser reads and writes everything;
`public` products are readable, never writable, by every signed-in user. After every refused
write the record is re-read by its owner and must be exactly as it was.

The cast of every test (`world`):
  owner      owns the personal products; member of no organization
  member     member of `org`; created the organization products
  org_owner  created `org` (its owner); also a plain member of `other_org`
  other      a signed-in user who owns `other_org`; not a member of `org`
  admin      the superuser
"""

from __future__ import annotations

import copy
import os
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from typing import Any

import boto3
import jwt
import pytest

from chalicelib.services.security import create_access_token
from tests.factories import Api, Response, png_b64
from tests.support import harness

PRODUCTS = "/api/v1/products/"
ORGS = "/api/v1/organizations/"
NOT_FOUND = {"detail": "Product not found"}
FORBIDDEN = {"detail": "Not enough permissions"}
ORG_NOT_FOUND = {"detail": "Organization not found"}
NOT_AUTHENTICATED = {"detail": "Not authenticated"}
BAD_CREDENTIALS = {"detail": "Could not validate credentials"}
TOKEN_EXPIRED = {"detail": "Token expired"}

CALLERS = ("owner", "member", "org_owner", "other", "admin")
# Who re-reads a product after a refused write: its owner, or its organization's owner.
READER = {"personal": "owner", "public_personal": "owner", "org": "org_owner", "public_org": "org_owner"}


KINDS: dict[str, tuple[str, bool, bool]] = {
    # kind: (creator, in `org`, public)
    "personal": ("owner", False, False),
    "public_personal": ("owner", False, True),
    "org": ("member", True, False),
    "public_org": ("member", True, True),
}
# Who re-reads a product after a refused write: its owner, or its organization's owner.
READER = {"personal": "owner", "public_personal": "owner", "org": "org_owner", "public_org": "org_owner"}


@dataclass
class World:
    api: Api
    ids: dict[str, str]
    tokens: dict[str, str]
    org: str
    other_org: str
    products: dict[str, dict[str, Any]]

    def token(self, caller: str) -> str:
        return self.tokens[caller]

    def pid(self, kind: str) -> str:
        return str(self.products[kind]["id"])

    def make(self, kind: str) -> dict[str, Any]:
        """A new product of the given kind."""
        creator, in_org, public = KINDS[kind]
        org_id = self.org if in_org else None
        return self.api.product(self.token(creator), org_id, name=f"{kind} product", public=public, brand="Acme")

    def reread(self, kind: str, product: dict[str, Any]) -> Response:
        return self.api.get(f"{PRODUCTS}{product['id']}", self.token(READER[kind]))


def _build_world(api: Api) -> World:
    ids: dict[str, str] = {}
    tokens: dict[str, str] = {}
    for name in ("owner", "member", "org_owner", "other"):
        ids[name], tokens[name] = api.user(email=f"{name}-{uuid.uuid4().hex[:8]}@example.com")
    tokens["admin"] = api.admin_token
    ids["admin"] = api.get("/api/v1/users/me", tokens["admin"]).json["id"]

    org = api.org(tokens["org_owner"], "Org")
    api.add_member(tokens["org_owner"], org, ids["member"])
    other_org = api.org(tokens["other"], "Other org")
    api.add_member(tokens["other"], other_org, ids["org_owner"])

    w = World(api=api, ids=ids, tokens=tokens, org=org, other_org=other_org, products={})
    w.products = {kind: w.make(kind) for kind in KINDS}
    return w


@pytest.fixture(scope="module")
def world_snapshot(_moto: None) -> tuple[list[Any], World]:
    """The cast and their products, built through the API once per module (its products link
    their images, so the world is DynamoDB items only)."""
    return harness.build_through_api(_build_world)


@pytest.fixture
def world(api: Api, world_snapshot: tuple[list[Any], World]) -> World:
    """Each test gets the world as built (copied back into the emptied table): tests may write."""
    items, built = world_snapshot
    harness.restore(items)
    return replace(
        built, api=api, tokens=dict(built.tokens), ids=dict(built.ids), products=copy.deepcopy(built.products)
    )


@lru_cache(maxsize=1)
def s3() -> Any:
    # One client for the process: the session's moto serves every test (tests/support/harness.py).
    return boto3.client("s3", region_name="us-east-1")


def image_keys() -> set[str]:
    pages = s3().get_paginator("list_objects_v2").paginate(Bucket=os.environ["IMAGES_BUCKET"])
    return {obj["Key"] for page in pages for obj in page.get("Contents", [])}


def assert_status(r: Response, status: int, detail: dict[str, Any] | None = None) -> None:
    assert r.status == status, r
    if detail is not None:
        assert r.json == detail, r


def all_cells(cells: list[tuple[str, Callable[[], None]]]) -> None:
    """Run every cell of a table; fail once, listing every cell that failed."""
    failures: list[str] = []
    for label, check in cells:
        try:
            check()
        except AssertionError as exc:
            failures.append(f"{label}: {str(exc).splitlines()[0]}")
    assert not failures, f"{len(failures)} of {len(cells)} cells failed:\n" + "\n".join(failures)


# -- expected outcomes ---------------------------------------------------------------------
# READ[kind][caller] and WRITE[kind][caller], without the organization_id parameter.

READ: dict[str, dict[str, int]] = {
    "personal": {"owner": 200, "member": 404, "org_owner": 404, "other": 404, "admin": 200},
    "public_personal": dict.fromkeys(CALLERS, 200),
    "org": {"owner": 404, "member": 200, "org_owner": 200, "other": 404, "admin": 200},
    "public_org": dict.fromkeys(CALLERS, 200),
}
WRITE: dict[str, dict[str, int]] = {
    "personal": READ["personal"],
    "public_personal": {"owner": 200, "member": 403, "org_owner": 403, "other": 403, "admin": 200},
    "org": READ["org"],
    "public_org": {"owner": 403, "member": 200, "org_owner": 200, "other": 403, "admin": 200},
}
# With ?organization_id=<org>: non-members 403 whatever the product; members (and the superuser)
# reach only the organization's products through it, anything else is 404.
IN_ORG: dict[str, dict[str, int]] = {
    "personal": {"owner": 403, "member": 404, "org_owner": 404, "other": 403, "admin": 404},
    "public_personal": {"owner": 403, "member": 404, "org_owner": 404, "other": 403, "admin": 404},
    "org": {"owner": 403, "member": 200, "org_owner": 200, "other": 403, "admin": 200},
    "public_org": {"owner": 403, "member": 200, "org_owner": 200, "other": 403, "admin": 200},
}
# With ?organization_id=<other_org> (other owns it, org_owner is a member): no product is in it.
IN_OTHER_ORG: dict[str, dict[str, int]] = {
    kind: {"owner": 403, "member": 403, "org_owner": 404, "other": 404, "admin": 404} for kind in KINDS
}
SCOPES = {"none": (READ, WRITE), "org": (IN_ORG, IN_ORG), "other_org": (IN_OTHER_ORG, IN_OTHER_ORG)}


def scoped(w: World, path: str, scope: str, extra: str = "") -> str:
    params = [p for p in (extra,) if p]
    if scope == "org":
        params.append(f"organization_id={w.org}")
    elif scope == "other_org":
        params.append(f"organization_id={w.other_org}")
    return path + ("?" + "&".join(params) if params else "")


def detail_for(status: int) -> dict[str, Any] | None:
    return {403: FORBIDDEN, 404: NOT_FOUND}.get(status)


# -- GET /products/{id} -------------------------------------------------------------------


@pytest.mark.parametrize("scope", list(SCOPES))
def test_read_product(world: World, scope: str) -> None:
    """Every product kind x every caller, with and without the organization_id parameter."""

    def cell(kind: str, caller: str, expected: int) -> None:
        r = world.api.get(scoped(world, f"{PRODUCTS}{world.pid(kind)}", scope), world.token(caller))
        assert_status(r, expected, detail_for(expected))
        if expected == 200:
            assert r.json == world.products[kind]

    all_cells(
        [
            (f"GET {kind} as {caller} (expected {expected})", partial(cell, kind, caller, expected))
            for kind, row in SCOPES[scope][0].items()
            for caller, expected in row.items()
        ]
    )


@pytest.mark.parametrize("scope", ["none", "org"])
def test_read_missing_product_is_404(world: World, scope: str) -> None:
    def cell(caller: str) -> None:
        r = world.api.get(scoped(world, f"{PRODUCTS}{uuid.uuid4()}", scope), world.token(caller))
        expected = 403 if scope == "org" and caller in ("owner", "other") else 404
        assert_status(r, expected, detail_for(expected))

    all_cells([(caller, partial(cell, caller)) for caller in CALLERS])


def test_superuser_with_unknown_organization_is_404(world: World) -> None:
    r = world.api.get(f"{PRODUCTS}{world.pid('org')}?organization_id={uuid.uuid4()}", world.token("admin"))
    assert_status(r, 404, ORG_NOT_FOUND)


def test_user_with_unknown_organization_is_403(world: World) -> None:
    r = world.api.get(f"{PRODUCTS}{world.pid('org')}?organization_id={uuid.uuid4()}", world.token("member"))
    assert_status(r, 403, FORBIDDEN)


# -- PUT / PATCH / DELETE /products/{id}, PATCH /products/{id}/archived --------------------

WRITE_OPS = ("put", "patch", "delete", "archive")


def write(w: World, op: str, product: dict[str, Any], caller: str, scope: str = "none") -> Response:
    path = f"{PRODUCTS}{product['id']}"
    token = w.token(caller)
    if op == "put":
        return w.api.put(scoped(w, path, scope), {"name": "Changed", "cover_image": png_b64()}, token)
    if op == "patch":
        return w.api.patch(scoped(w, path, scope), {"name": "Changed", "back_image": png_b64()}, token)
    if op == "delete":
        return w.api.delete(scoped(w, path, scope), token)
    return w.api.patch(scoped(w, f"{path}/archived", scope, "archived=true"), None, token)


def assert_written(w: World, op: str, kind: str, product: dict[str, Any], r: Response) -> None:
    if op == "delete":
        assert r.json == {"message": "Product deleted successfully"}, r
        assert_status(w.api.get(f"{PRODUCTS}{product['id']}", w.token("admin")), 404, NOT_FOUND)
        return
    if op == "archive":
        assert r.json["archived"] is True, r
    else:
        assert r.json["name"] == "Changed", r
    # An ordinary write keeps the product's tenancy, whoever writes.
    assert r.json["owner_id"] == product["owner_id"], r
    assert r.json["organization_id"] == product["organization_id"], r
    again = w.reread(kind, product)
    assert_status(again, 200)
    assert again.json == r.json, "the owner reads something else than the write answered"


def assert_unchanged(w: World, kind: str, product: dict[str, Any], keys_before: set[str]) -> None:
    again = w.reread(kind, product)
    assert_status(again, 200)
    assert again.json == product, "a refused write changed the record"
    assert image_keys() == keys_before, "a refused write left objects behind in the images bucket"


@pytest.mark.parametrize("scope", list(SCOPES))
@pytest.mark.parametrize("op", WRITE_OPS)
def test_write_product(world: World, op: str, scope: str) -> None:
    """Every product kind x every caller, each on a product of its own."""

    def cell(kind: str, caller: str, expected: int) -> None:
        product = world.make(kind)
        keys_before = image_keys()
        r = write(world, op, product, caller, scope)
        assert_status(r, expected, detail_for(expected))
        if expected == 200:
            assert_written(world, op, kind, product, r)
        else:
            assert_unchanged(world, kind, product, keys_before)

    all_cells(
        [
            (f"{op} {kind} as {caller} (expected {expected})", partial(cell, kind, caller, expected))
            for kind, row in SCOPES[scope][1].items()
            for caller, expected in row.items()
        ]
    )


@pytest.mark.parametrize("op", WRITE_OPS)
def test_write_missing_product_is_404(world: World, op: str) -> None:
    def cell(caller: str) -> None:
        assert_status(write(world, op, {"id": str(uuid.uuid4())}, caller), 404, NOT_FOUND)

    all_cells([(caller, partial(cell, caller)) for caller in CALLERS])


@pytest.mark.parametrize("op", WRITE_OPS)
def test_membership_is_checked_on_every_request(world: World, op: str) -> None:
    """A removed member loses the organization's products at once; an added one gains them."""
    api = world.api
    product = world.products["org"]
    r = api.delete(f"{ORGS}{world.org}/members/{world.ids['member']}", world.token("org_owner"))
    assert_status(r, 200)
    assert_status(api.get(f"{PRODUCTS}{product['id']}", world.token("member")), 404, NOT_FOUND)
    keys_before = image_keys()
    assert_status(write(world, op, product, "member"), 404, NOT_FOUND)
    assert_unchanged(world, "org", product, keys_before)

    api.add_member(world.token("org_owner"), world.org, world.ids["owner"])
    r = write(world, op, product, "owner")
    assert_status(r, 200)
    assert_written(world, op, "org", product, r)


# -- moving a product between scopes (organization_id in the update body) ------------------

MOVE_OUT = {"org_owner": 200, "admin": 200, "member": 403, "owner": 404, "other": 404}


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_move_out_of_organization(world: World, method: str) -> None:
    """Only the organization's owner (or a superuser) may make an organization product personal."""
    api = world.api

    def in_org_list(product: dict[str, Any]) -> bool:
        listed = api.get(f"{PRODUCTS}?organization_id={world.org}", world.token("org_owner")).json
        return product["id"] in {p["id"] for p in listed["data"]}

    def cell(caller: str, expected: int) -> None:
        product = world.make("org")
        keys_before = image_keys()
        body = {"organization_id": None, "name": "Moved", "cover_image": png_b64()}
        r = api.call(method, f"{PRODUCTS}{product['id']}", world.token(caller), body)
        # The detail of this 403 is checked on its own in test_move_out_of_organization_detail.
        assert_status(r, expected, detail_for(expected) if expected != 403 else None)
        if expected != 200:
            assert_unchanged(world, "org", product, keys_before)
            assert in_org_list(product)
            return
        assert r.json["organization_id"] is None, r
        assert r.json["name"] == "Moved", r
        assert not in_org_list(product)
        # Personal now: the personal product of the caller who moved it, not of its creator.
        assert r.json["owner_id"] == world.ids[caller], r
        mine = api.get(PRODUCTS, world.token(caller)).json
        assert product["id"] in {p["id"] for p in mine["data"]}
        assert_status(api.get(f"{PRODUCTS}{product['id']}", world.token(caller)), 200)
        assert_status(api.get(f"{PRODUCTS}{product['id']}", world.token("member")), 404, NOT_FOUND)

    all_cells([(f"{method} out as {c} (expected {e})", partial(cell, c, e)) for c, e in MOVE_OUT.items()])


def test_admin_role_member_cannot_move_out_of_organization(world: World) -> None:
    api = world.api
    admin_id, admin_token = api.user()
    api.add_member(world.token("org_owner"), world.org, admin_id, role="admin")
    keys_before = image_keys()
    r = api.put(f"{PRODUCTS}{world.pid('org')}", {"organization_id": None}, admin_token)
    assert_status(r, 403)
    assert_unchanged(world, "org", world.products["org"], keys_before)


def test_move_out_of_organization_detail(world: World) -> None:
    """A member's refused move is the conventional 403 "Not enough permissions"."""
    r = world.api.put(f"{PRODUCTS}{world.pid('org')}", {"organization_id": None}, world.token("member"))
    assert_status(r, 403, FORBIDDEN)


MOVE_IN = [
    # (caller, product kind, target organization, expected)
    ("owner", "personal", "org", 403),  # own personal product into an organization the caller is not in
    ("owner", "personal", "other_org", 403),
    ("owner", "public_personal", "org", 403),
    ("member", "public_personal", "org", 403),  # someone else's public product: readable, not writable
    ("admin", "personal", "org", 200),
    ("admin", "personal", "unknown", 404),
]


def test_move_personal_product_into_organization(world: World) -> None:
    def cell(caller: str, kind: str, target: str, expected: int) -> None:
        org_id = {"org": world.org, "other_org": world.other_org, "unknown": str(uuid.uuid4())}[target]
        product = world.make(kind)
        keys_before = image_keys()
        body = {"organization_id": org_id, "cover_image": png_b64()}
        r = world.api.put(f"{PRODUCTS}{product['id']}", body, world.token(caller))
        assert_status(r, expected, {403: FORBIDDEN, 404: ORG_NOT_FOUND}.get(expected))
        if expected == 200:
            assert r.json["organization_id"] == org_id, r
            assert_status(world.api.get(f"{PRODUCTS}{product['id']}", world.token("member")), 200)
        else:
            assert_unchanged(world, kind, product, keys_before)

    all_cells([(f"{c} moves {k} into {t} (expected {e})", partial(cell, c, k, t, e)) for c, k, t, e in MOVE_IN])


def test_member_moves_own_personal_product_into_organization(world: World) -> None:
    api = world.api
    mine = api.product(world.token("member"), name="Mine")
    r = api.patch(f"{PRODUCTS}{mine['id']}", {"organization_id": world.org}, world.token("member"))
    assert_status(r, 200)
    assert r.json["organization_id"] == world.org
    assert_status(api.get(f"{PRODUCTS}{mine['id']}", world.token("org_owner")), 200)
    assert api.get(PRODUCTS, world.token("member")).json["count"] == 0


def test_move_to_another_organization(world: World) -> None:
    """org_owner owns `org` and is a member of `other_org`; the member is in `org` only."""

    def cell(caller: str, expected: int) -> None:
        product = world.make("org")
        keys_before = image_keys()
        r = world.api.put(f"{PRODUCTS}{product['id']}", {"organization_id": world.other_org}, world.token(caller))
        assert_status(r, expected)  # the detail of this 403: see test_move_out_of_organization_detail
        if expected == 200:
            assert r.json["organization_id"] == world.other_org, r
            assert_status(world.api.get(f"{PRODUCTS}{product['id']}", world.token("other")), 200)
            assert_status(world.api.get(f"{PRODUCTS}{product['id']}", world.token("member")), 404, NOT_FOUND)
        else:
            assert_unchanged(world, "org", product, keys_before)

    all_cells([(f"{c} (expected {e})", partial(cell, c, e)) for c, e in (("org_owner", 200), ("member", 403))])


def test_move_public_product_by_non_member_is_403(world: World) -> None:
    keys_before = image_keys()
    r = world.api.put(f"{PRODUCTS}{world.pid('public_org')}", {"organization_id": None}, world.token("other"))
    assert_status(r, 403, FORBIDDEN)
    assert_unchanged(world, "public_org", world.products["public_org"], keys_before)


# -- POST /products/ -----------------------------------------------------------------------


def test_create_personal_product(world: World) -> None:
    def cell(caller: str) -> None:
        body = {"name": "New", "cover_image": "https://example.com/n.jpg"}
        r = world.api.post(PRODUCTS, body, world.token(caller))
        assert_status(r, 200)
        assert r.json["owner_id"] == world.ids[caller], r
        assert r.json["organization_id"] is None, r
        mine = world.api.get(PRODUCTS, world.token(caller)).json
        assert r.json["id"] in {p["id"] for p in mine["data"]}

    all_cells([(caller, partial(cell, caller)) for caller in CALLERS])


CREATE_IN_ORG = [
    # (caller, target organization, expected)
    ("member", "org", 200),
    ("org_owner", "org", 200),
    ("admin", "org", 200),
    ("owner", "org", 403),
    ("other", "org", 403),
    ("member", "other_org", 403),
    ("org_owner", "other_org", 200),
    ("member", "unknown", 403),
    ("admin", "unknown", 404),
]


@pytest.mark.parametrize("where", ["query", "body", "both"])
def test_create_in_organization(world: World, where: str) -> None:
    """The organization named in the query, in the body, or in both (the same)."""
    api = world.api

    def org_count(org_id: str) -> int:
        r = api.get(f"{PRODUCTS}?organization_id={org_id}", world.token("admin"))
        return int(r.json["count"]) if r.status == 200 else -1

    def cell(caller: str, target: str, expected: int) -> None:
        org_id = {"org": world.org, "other_org": world.other_org, "unknown": str(uuid.uuid4())}[target]
        body: dict[str, Any] = {"name": "New", "cover_image": png_b64(), "public": True}
        if where in ("body", "both"):
            body["organization_id"] = org_id
        path = PRODUCTS + (f"?organization_id={org_id}" if where in ("query", "both") else "")
        keys_before = image_keys()
        personal_before = api.get(PRODUCTS, world.token(caller)).json["count"]
        in_org_before = org_count(org_id)
        r = api.post(path, body, world.token(caller))
        assert_status(r, expected, {403: FORBIDDEN, 404: ORG_NOT_FOUND}.get(expected))
        if expected == 200:
            assert r.json["organization_id"] == org_id, r
            assert r.json["owner_id"] == world.ids[caller], r
            listed = api.get(f"{PRODUCTS}?organization_id={org_id}", world.token("admin")).json
            assert r.json["id"] in {p["id"] for p in listed["data"]}
            return
        assert image_keys() == keys_before, "a refused create left objects behind"
        assert api.get(PRODUCTS, world.token(caller)).json["count"] == personal_before, "created as personal"
        assert org_count(org_id) == in_org_before, "created in the organization"

    all_cells([(f"{c} into {t} (expected {e})", partial(cell, c, t, e)) for c, t, e in CREATE_IN_ORG])


# -- GET /products/ ------------------------------------------------------------------------

LIST_PERSONAL = {
    "owner": {"personal", "public_personal"},
    "member": set(),
    "org_owner": set(),
    "other": set(),
    "admin": set(),
}


def test_list_without_organization_is_personal(world: World) -> None:
    """Only the caller's personal products: not the organizations', not others' public ones, not all."""

    def cell(caller: str) -> None:
        for extra in ("", "?is_public=true", "?brand=acme", "?search=product&sort_by=name"):
            r = world.api.get(PRODUCTS + extra, world.token(caller))
            assert_status(r, 200)
            wanted = {world.pid(k) for k in LIST_PERSONAL[caller]}
            if "is_public" in extra:
                wanted = {world.pid(k) for k in LIST_PERSONAL[caller] if KINDS[k][2]}
            assert {p["id"] for p in r.json["data"]} == wanted, f"{extra}: {r}"
            assert r.json["count"] == len(wanted), f"{extra}: {r}"

    all_cells([(caller, partial(cell, caller)) for caller in CALLERS])


LIST_IN_ORG = [
    ("member", "org", 200),
    ("org_owner", "org", 200),
    ("admin", "org", 200),
    ("owner", "org", 403),
    ("other", "org", 403),
    ("member", "other_org", 403),
    ("org_owner", "other_org", 200),
    ("other", "other_org", 200),
    ("admin", "unknown", 404),
    ("member", "unknown", 403),
]


def test_list_with_organization(world: World) -> None:
    def cell(caller: str, scope: str, expected: int) -> None:
        unknown = str(uuid.uuid4())
        for extra in ("", "is_public=true", "archived=false&sort_by=name&brand=acme", "search=product"):
            path = scoped(world, PRODUCTS, scope, extra)
            if scope == "unknown":
                path = f"{PRODUCTS}?organization_id={unknown}" + (f"&{extra}" if extra else "")
            r = world.api.get(path, world.token(caller))
            assert_status(r, expected, ORG_NOT_FOUND if expected == 404 else detail_for(expected))
            if expected == 200:
                wanted = {world.pid("org"), world.pid("public_org")} if scope == "org" else set()
                if "is_public" in extra and scope == "org":
                    wanted = {world.pid("public_org")}
                assert {p["id"] for p in r.json["data"]} == wanted, f"{extra}: {r}"
                assert r.json["count"] == len(wanted), f"{extra}: {r}"

    all_cells([(f"{c} lists {s} (expected {e})", partial(cell, c, s, e)) for c, s, e in LIST_IN_ORG])


# -- users ---------------------------------------------------------------------------------


def test_create_user_requires_superuser(world: World) -> None:
    def cell(caller: str, superuser: bool) -> None:
        email = f"new-{uuid.uuid4().hex[:8]}@example.com"
        body = {"email": email, "password": "password-123", "is_superuser": superuser}
        r = world.api.post("/api/v1/users/", body, world.token(caller))
        assert_status(r, 403, {"detail": "The user doesn't have enough privileges"})
        assert_status(world.api.login(email, "password-123"), 400, {"detail": "Incorrect email or password"})

    all_cells(
        [
            (f"{caller} creates a user (superuser={su})", partial(cell, caller, su))
            for caller in ("owner", "member", "org_owner", "other")
            for su in (False, True)
        ]
    )


def test_superuser_creates_user(world: World) -> None:
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    r = world.api.post("/api/v1/users/", {"email": email, "password": "password-123"}, world.token("admin"))
    assert_status(r, 200)
    assert r.json["email"] == email
    assert r.json["is_superuser"] is False
    assert_status(world.api.login(email, "password-123"), 200)


def test_read_me(world: World) -> None:
    def cell(caller: str) -> None:
        r = world.api.get("/api/v1/users/me", world.token(caller))
        assert_status(r, 200)
        assert r.json["id"] == world.ids[caller], r
        assert r.json["is_superuser"] is (caller == "admin"), r
        assert "hashed_password" not in r.json, r

    all_cells([(caller, partial(cell, caller)) for caller in CALLERS])


# -- organizations -------------------------------------------------------------------------


def test_create_organization(world: World) -> None:
    def cell(caller: str) -> None:
        r = world.api.post(ORGS, {"name": "Mine"}, world.token(caller))
        assert_status(r, 200)
        assert r.json["owner_id"] == world.ids[caller], r
        listed = world.api.get(ORGS, world.token(caller)).json
        assert r.json["id"] in {o["id"] for o in listed["data"]}
        # The creator owns it: they may invite members, and create products in it.
        new_id, new_token = world.api.user()
        world.api.add_member(world.token(caller), r.json["id"], new_id)
        assert r.json["id"] in {o["id"] for o in world.api.get(ORGS, new_token).json["data"]}
        world.api.product(world.token(caller), r.json["id"])

    all_cells([(caller, partial(cell, caller)) for caller in CALLERS])


MY_ORGS = {"owner": set(), "member": {"org"}, "org_owner": {"org", "other_org"}, "other": {"other_org"}, "admin": set()}


def test_list_organizations_is_mine(world: World) -> None:
    """Only the organizations the caller is a member of, for the superuser too."""

    def cell(caller: str) -> None:
        r = world.api.get(ORGS, world.token(caller))
        assert_status(r, 200)
        names = {"org": world.org, "other_org": world.other_org}
        assert {o["id"] for o in r.json["data"]} == {names[o] for o in MY_ORGS[caller]}, r
        assert r.json["count"] == len(MY_ORGS[caller]), r

    all_cells([(caller, partial(cell, caller)) for caller in CALLERS])


def can_see_org_product(w: World, user_token: str) -> bool:
    r = w.api.get(f"{PRODUCTS}{w.pid('org')}", user_token)
    assert r.status in (200, 404), r
    return r.status == 200


@pytest.mark.parametrize(
    ("caller", "target", "expected", "detail"),
    [
        ("org_owner", "member", 200, None),
        ("admin", "member", 200, None),
        ("member", "member", 200, None),  # leaving
        ("owner", "member", 404, ORG_NOT_FOUND),  # not a member of the organization
        ("other", "member", 404, ORG_NOT_FOUND),
        ("org_owner", "org_owner", 409, {"detail": "The organization's owner cannot leave it"}),
        ("admin", "org_owner", 409, {"detail": "The organization's owner cannot be removed"}),
        ("member", "org_owner", 403, FORBIDDEN),
    ],
)
def test_remove_member(world: World, caller: str, target: str, expected: int, detail: dict[str, Any] | None) -> None:
    r = world.api.delete(f"{ORGS}{world.org}/members/{world.ids[target]}", world.token(caller))
    assert_status(r, expected, detail)
    if expected == 200:
        assert r.json == {"message": "Member removed successfully"}
    assert can_see_org_product(world, world.token(target)) is (expected != 200)
    assert (world.org in {o["id"] for o in world.api.get(ORGS, world.token(target)).json["data"]}) is (expected != 200)


def test_member_cannot_remove_another_member(world: World) -> None:
    api = world.api
    second_id, second_token = api.user()
    api.add_member(world.token("org_owner"), world.org, second_id)
    r = api.delete(f"{ORGS}{world.org}/members/{second_id}", world.token("member"))
    assert_status(r, 403, FORBIDDEN)
    assert can_see_org_product(world, second_token)


def test_remove_non_member_is_404(world: World) -> None:
    r = world.api.delete(f"{ORGS}{world.org}/members/{world.ids['other']}", world.token("org_owner"))
    assert_status(r, 404, {"detail": "Member not found"})


# -- authentication on every endpoint ------------------------------------------------------

ENDPOINTS: dict[str, tuple[str, str, Any]] = {
    "create_product": ("POST", PRODUCTS, {"name": "X", "cover_image": "https://example.com/x.jpg"}),
    "list_products": ("GET", PRODUCTS, None),
    "list_products_in_org": ("GET", PRODUCTS + "?organization_id={org}", None),
    "read_product": ("GET", PRODUCTS + "{pid}", None),
    "put_product": ("PUT", PRODUCTS + "{pid}", {"name": "Changed"}),
    "patch_product": ("PATCH", PRODUCTS + "{pid}", {"name": "Changed"}),
    "delete_product": ("DELETE", PRODUCTS + "{pid}", None),
    "archive_product": ("PATCH", PRODUCTS + "{pid}/archived?archived=true", None),
    "create_user": ("POST", "/api/v1/users/", {"email": "intruder@example.com", "password": "password-123"}),
    "read_me": ("GET", "/api/v1/users/me", None),
    "create_organization": ("POST", ORGS, {"name": "Intruders"}),
    "list_organizations": ("GET", ORGS, None),
    "remove_member": ("DELETE", ORGS + "{org}/members/{member}", None),
    "read_organization": ("GET", ORGS + "{org}", None),
    "update_organization": ("PATCH", ORGS + "{org}", {"name": "Intruders"}),
    "list_members": ("GET", ORGS + "{org}/members", None),
    "update_member": ("PATCH", ORGS + "{org}/members/{member}", {"role": "admin"}),
    "leave_organization": ("DELETE", ORGS + "{org}/members/me", None),
    "invite": ("POST", ORGS + "{org}/invitations", {"email": "intruder@example.com", "role": "admin"}),
    "list_invitations": ("GET", ORGS + "{org}/invitations", None),
    "update_me": ("PATCH", "/api/v1/users/me", {"full_name": "Intruder"}),
    "update_password": (
        "PATCH",
        "/api/v1/users/me/password",
        {"current_password": "x", "new_password": "password-456"},
    ),
    "logout_all": ("POST", "/api/v1/users/me/logout-all", None),
    "my_invitations": ("GET", "/api/v1/users/me/invitations", None),
}


def hs512(user_id: str, now: datetime, secret: str) -> str:
    """The right secret with another algorithm than the pinned one (short key for HS512: no warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jwt.encode({"sub": user_id, "exp": now + timedelta(hours=1)}, secret, "HS512")


def bad_authorization(kind: str, w: World) -> dict[str, str]:
    user_id = w.ids["owner"]
    now = datetime.now(UTC)
    secret = os.environ["SECRET_KEY"]
    tokens: dict[str, Callable[[], str]] = {
        "expired": lambda: create_access_token(user_id, timedelta(seconds=-10)),
        "other_secret": lambda: jwt.encode(
            {"sub": user_id, "exp": now + timedelta(hours=1)}, "another-secret-that-is-long-enough-too", "HS256"
        ),
        "alg_none": lambda: jwt.encode({"sub": user_id, "exp": now + timedelta(hours=1)}, "", algorithm="none"),
        "other_algorithm": lambda: hs512(user_id, now, secret),
        "no_exp": lambda: jwt.encode({"sub": user_id}, secret, "HS256"),
        "garbage": lambda: "not-a-jwt",
    }
    if kind == "none":
        return {}
    if kind == "basic":
        return {"Authorization": "Basic b3duZXI6cGFzc3dvcmQtMTIz"}
    if kind == "empty_bearer":
        return {"Authorization": "Bearer "}
    if kind == "raw_token":  # a valid token without the scheme
        return {"Authorization": w.token("owner")}
    return {"Authorization": f"Bearer {tokens[kind]()}"}


NOT_AUTHENTICATED_KINDS = ("none", "basic", "empty_bearer", "raw_token")
BAD_CREDENTIAL_KINDS = ("expired", "other_secret", "alg_none", "other_algorithm", "no_exp", "garbage")


def snapshot(w: World) -> dict[str, Any]:
    """Everything an unauthenticated request could have changed, as the legitimate users see it."""
    api = w.api
    return {
        "products": {kind: w.reread(kind, p).json for kind, p in w.products.items()},
        "personal": api.get(PRODUCTS, w.token("owner")).json,
        "in_org": api.get(f"{PRODUCTS}?organization_id={w.org}", w.token("org_owner")).json,
        "orgs": {c: api.get(ORGS, w.token(c)).json for c in CALLERS},
        # Every caller's token still valid (no logout-all, no password change) and profile as it was.
        "me": {c: api.get("/api/v1/users/me", w.token(c)).json for c in CALLERS},
        "members": api.get(f"{ORGS}{w.org}/members", w.token("org_owner")).json,
        "invitations": api.get(f"{ORGS}{w.org}/invitations", w.token("org_owner")).json,
        "images": image_keys(),
    }


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_authentication_required(world: World, endpoint: str) -> None:
    """No token, not a Bearer token, expired, forged, unsigned...: 401, and nothing happened."""
    method, path, body = ENDPOINTS[endpoint]
    fill = {"pid": world.pid("personal"), "org": world.org, "other": world.ids["other"], "member": world.ids["member"]}
    path = path.format(**fill)
    if isinstance(body, dict):
        body = {k: v.format(**fill) if isinstance(v, str) else v for k, v in body.items()}
    before = snapshot(world)

    def cell(kind: str) -> None:
        r = world.api.call(method, path, body=body, headers=bad_authorization(kind, world))
        detail = NOT_AUTHENTICATED if kind in NOT_AUTHENTICATED_KINDS else BAD_CREDENTIALS
        if kind == "expired":
            detail = TOKEN_EXPIRED
        assert_status(r, 401, detail)
        headers = {k.lower(): v for k, v in r.headers.items()}
        assert headers.get("www-authenticate") == "Bearer", r.headers

    all_cells(
        [
            (f"{method} {path} with {kind}", partial(cell, kind))
            for kind in NOT_AUTHENTICATED_KINDS + BAD_CREDENTIAL_KINDS
        ]
    )
    # Nothing happened: no record written, no user, no organization, no member, no object.
    assert snapshot(world) == before, "an unauthenticated request changed something"
    assert world.api.login("intruder@example.com", "password-123").status == 400


def test_token_of_unknown_user(world: World) -> None:
    token = create_access_token(str(uuid.uuid4()))
    r = world.api.get(f"{PRODUCTS}{world.pid('public_personal')}", token)
    assert_status(r, 401, BAD_CREDENTIALS)


def test_expired_token_of_superuser_is_refused(world: World) -> None:
    token = create_access_token(world.ids["admin"], timedelta(seconds=-10))
    r = world.api.get(f"{PRODUCTS}{world.pid('personal')}", token)
    assert_status(r, 401, TOKEN_EXPIRED)
