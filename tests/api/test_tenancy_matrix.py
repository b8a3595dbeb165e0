"""The tenancy matrix, generated from the route table (issue 16, part 3).

Every route the app registers (`app.routes`, each with its contract `Operation`) is asked by every
caller about every kind of object, and must answer exactly the status of the table below; and
every id-bearing field of every body and query model (a name ending in `_id`/`_ids`, or a UUID),
found by walking the models, is sent naming an object of another tenant, with its exact answer.
A route or an id field the tables have no row for fails `test_the_matrix_covers_every_route_and_id_field`.

Callers (the brief's names in brackets):
  owner     [owner] owns `org` and the personal objects
  member    [organization member] a plain member of `org`
  admin     [organization admin] an admin of `org`
  other     [member of another organization] owns `other_org`
  stranger  [unrelated user] in no organization, owns nothing
  root      [superuser]
  and five that are no caller at all: no token, an expired token, a token signed with another key,
  an unsigned (`alg: none`) token, and a token revoked by `POST /users/me/logout-all` (the owner's
  own, from before the logout). Each is 401 on every route that needs a caller.

Objects (one of each kind a route takes, per variant):
  personal  the owner's personal ones (no organization)
  org       `org`'s, made by the member
  other     `other_org`'s, made by other
  public    a public product of `other_org`, and its shooting, look, shot, revision, push
            record, generation, prediction and refine (which `other_org` owns: public is a
            product's flag only)
A route that lists or creates (no object in its path) takes the scope as its object: no
`organization_id` (personal), `org`'s or `other_org`'s.

The world is built once through the API and restored before each test (tests/support/harness.py),
and again after every request that changed something, so every cell sees it as built.
"""

from __future__ import annotations

import copy
import types
import typing
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import boto3
import jwt
import pytest
from pydantic import BaseModel

from tests.factories import Api, Response, build_org_world
from tests.support import harness

API = "/api/v1"
CALLERS = ("owner", "member", "admin", "other", "stranger", "root")
BAD_TOKENS = ("anonymous", "expired", "foreign_key", "alg_none", "revoked")
VARIANTS = ("personal", "org", "other", "public")
NO_OBJECT = "none"
UNAUTHENTICATED = {
    "anonymous": "Not authenticated",
    "expired": "Token expired",
    "foreign_key": "Could not validate credentials",
    "alg_none": "Could not validate credentials",
    "revoked": "Could not validate credentials",
}
PASSWORD = "password-123"  # Api.user's
ROOT_PASSWORD = "admin-password-123"  # FIRST_SUPERUSER_PASSWORD of tests/support/environment.py
FOREIGN_KEY = "a-signing-key-that-is-not-ours-but-long-enough"
IMAGE = "https://example.com/matrix.jpg"

Json = dict[str, Any]


# -- the world -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Objects:
    """One tenant's objects (see the module's docstring). `org`: the organization they are in."""

    org: str | None
    product: str
    shooting: str
    look: str
    shot: str
    revision: str
    push: str
    generation: str
    prediction: str
    refine: str
    upload: str | None = None
    brand: str | None = None
    task: str | None = None  # an export task, PENDING
    done: str | None = None  # an export task, COMPLETED
    invitation: str | None = None  # pending, of `org`'s organization
    target: str | None = None  # a plain member of `org`'s organization (no caller)


@dataclass
class World:
    api: Api
    ids: dict[str, str]
    tokens: dict[str, str | None]
    objects: dict[str, Objects]
    archives: tuple[str, ...]  # keys of the COMPLETED tasks' archives (put back after each restore)
    reset: Callable[[], None] = lambda: None

    def o(self, variant: str) -> Objects:
        return self.objects[variant]


def ok(r: Response) -> Json:
    assert r.status == 200, r
    result: Json = r.json
    return result


def with_query(path: str, query: Mapping[str, Any]) -> str:
    return f"{path}?{urlencode(query)}" if query else path


def _objects(api: Api, token: str, org: str | None, label: str, *, public: bool = False) -> Objects:
    """A product and everything that hangs off it, in `org` (personal when None)."""
    q = {"organization_id": org} if org else {}
    product = api.product(token, org, name=f"{label} product", public=public, brand=f"{label} brand")["id"]
    shooting = ok(api.post(with_query(f"{API}/shootings/", q), {"name": f"{label} shooting"}, token))["id"]
    look = ok(api.post(f"{API}/shootings/{shooting}/looks", {"product_id": product}, token))["id"]
    shot = ok(api.post(f"{API}/shooting-looks/{look}/shots", {"shot_type": "front"}, token))["id"]
    revision = ok(api.post(f"{API}/shots/{shot}/revisions", {"images": [{"image": IMAGE}]}, token))["id"]
    push = ok(
        api.post(f"{API}/shots/{shot}/revisions/{revision}/push-records", {"integration_id": str(uuid.uuid4())}, token)
    )["id"]
    generation = ok(api.post(with_query(f"{API}/generations/", q), {"product_id": product, "batch_size": 1}, token))
    prediction = generation["predictions"][0]["id"]
    refine = ok(api.post(f"{API}/predictions/{prediction}/refines", {}, token))["id"]
    made = Objects(org, product, shooting, look, shot, revision, push, generation["id"], prediction, refine)
    if public:
        return made
    upload = ok(
        api.post(
            with_query(f"{API}/uploads/", q), {"filename": "a.png", "content_type": "image/png", "size": 100}, token
        )
    )["media_resource_id"]
    brand = ok(api.post(with_query(f"{API}/brands/", q), {"name": f"{label} registered"}, token))["id"]
    export = with_query(f"{API}/products/export-approved-shots/async", q)
    task = ok(api.post(export, {"product_ids": [product]}, token))["id"]
    done = ok(api.post(export, {"product_ids": [product]}, token))["id"]
    return replace(made, upload=upload, brand=brand, task=task, done=done)


@lru_cache(maxsize=1)
def s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def _complete_exports(task_ids: Iterable[str]) -> tuple[str, ...]:
    """Run the export worker on each task (no approved shots: an archive of its manifest), then
    empty the exports bucket, which `harness.snapshot()` must find empty: the archives are put
    back after each restore."""
    from chalicelib.config import get_settings
    from chalicelib.services.export_runs import ExportRunner
    from chalicelib.store.exports import ExportRepository

    keys = []
    for task_id in task_ids:
        assert ExportRunner().run(task_id).state == "completed"
        task = ExportRepository().get(task_id)
        assert task is not None and task.status == "COMPLETED" and task.object_key, task
        keys.append(task.object_key)
    bucket = get_settings().exports_bucket
    listed = s3().list_objects_v2(Bucket=bucket).get("Contents", [])
    if listed:
        s3().delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": o["Key"]} for o in listed]})
    return tuple(keys)


def _token_version(user_id: str) -> int:
    from chalicelib.store.users import UserRepository

    user = UserRepository().get(user_id)
    assert user is not None
    return int(user.token_version or 0)


def _bad_tokens(api: Api, ids: dict[str, str], owner_token: str) -> dict[str, str | None]:
    """The five refused tokens. The forged ones name the superuser, the expired and revoked ones
    the owner; each differs from a good token only in what makes it bad
    (`test_the_refused_tokens_are_refused_only_for_what_is_wrong_with_them`)."""
    from chalicelib.services.security import create_access_token

    claims = {"sub": ids["root"], "ver": _token_version(ids["root"]), "exp": datetime.now(UTC) + timedelta(days=1)}
    revoked = owner_token
    ok(api.post(f"{API}/users/me/logout-all", None, revoked))
    return {
        "anonymous": None,
        "expired": create_access_token(ids["owner"], timedelta(seconds=-60), version=_token_version(ids["owner"])),
        "foreign_key": jwt.encode(claims, FOREIGN_KEY, algorithm="HS256"),
        "alg_none": jwt.encode(claims, "", algorithm="none"),
        "revoked": revoked,
    }


def build(api: Api) -> World:
    base = build_org_world(api)
    ids, tokens = dict(base.ids), dict(base.tokens)
    ids["extra"], _ = api.user()
    api.add_member(tokens["owner"], base.org, ids["extra"])
    ids["other_member"], _ = api.user()
    api.add_member(tokens["other"], base.other_org, ids["other_member"])

    objects = {
        "personal": _objects(api, tokens["owner"], None, "Personal"),
        "org": _objects(api, tokens["member"], base.org, "Org"),
        "other": _objects(api, tokens["other"], base.other_org, "Other"),
        "public": _objects(api, tokens["other"], base.other_org, "Public", public=True),
    }
    org_invitation = api.invite(tokens["owner"], base.org, base.emails["stranger"])["id"]
    other_invitation = api.invite(tokens["other"], base.other_org, base.emails["member"])["id"]
    objects["org"] = replace(objects["org"], invitation=org_invitation, target=ids["extra"])
    objects["other"] = replace(objects["other"], invitation=other_invitation, target=ids["other_member"])
    archives = _complete_exports(o.done for o in objects.values() if o.done)

    bad = _bad_tokens(api, ids, tokens["owner"])
    tokens["owner"] = Api.token_of(ids["owner"])
    return World(api=api, ids=ids, tokens={**tokens, **bad}, objects=objects, archives=archives)


@pytest.fixture(scope="module")
def world_snapshot(_moto: None) -> tuple[list[Any], World]:
    return harness.build_through_api(build)


@pytest.fixture
def world(api: Api, world_snapshot: tuple[list[Any], World]) -> Iterator[World]:
    from chalicelib.config import get_settings

    items, built = world_snapshot
    bucket = get_settings().exports_bucket

    def reset() -> None:
        harness.restore(items)
        for key in built.archives:
            s3().put_object(Bucket=bucket, Key=key, Body=b"PK\x05\x06" + b"\0" * 18)

    reset()
    yield replace(built, api=api, reset=reset)


# -- expectations ----------------------------------------------------------------------------

Row = dict[str, int]  # caller -> status
Expect = dict[str, Row]  # object variant -> row

SCOPE = {
    "personal": {"owner", "root"},
    "org": {"owner", "member", "admin", "root"},
    "other": {"other", "root"},
    "public": {"other", "root"},
}
MEMBERS = {"org": {"owner", "member", "admin"}, "other": {"other"}}
ADMINS = {"org": {"owner", "admin"}, "other": {"other"}}
CREATOR = {"personal": "owner", "org": "member", "other": "other"}


def by(allowed: Iterable[str], ok: int = 200, denied: int = 404, **special: int) -> Row:
    allowed = set(allowed)
    return {c: special.get(c, ok if c in allowed else denied) for c in CALLERS}


def scoped(variants: tuple[str, ...] = VARIANTS, ok: int = 200) -> Expect:
    """A record of a scope (shooting, look, shot, generation, upload, brand): its scope's
    members (or owner) and superusers; anyone else 404. Public is the product's flag only."""
    return {v: by(SCOPE[v], ok) for v in variants}


def product_read() -> Expect:
    return {**scoped(("personal", "org", "other")), "public": by(CALLERS)}


def product_write() -> Expect:
    """Not visible 404, visible but not writable (someone else's public product) 403."""
    return {**scoped(("personal", "org", "other")), "public": by(SCOPE["public"], denied=403)}


def in_scope_of_query(personal: Row | None = None) -> Expect:
    """A list or a create in the scope `organization_id` names: anyone's own (personal), else
    its members' and superusers' (403 to anyone else)."""
    return {
        "personal": personal or by(CALLERS),
        "org": by(MEMBERS["org"] | {"root"}, denied=403),
        "other": by(MEMBERS["other"] | {"root"}, denied=403),
    }


def creator_only(ok: int = 200) -> Expect:
    """An export task: its creator's alone, superusers included (tests/api/test_exports.py)."""
    return {v: by({CREATOR[v]}, ok) for v in ("personal", "org", "other")}


def org_visible() -> Expect:
    return {v: by(MEMBERS[v] | {"root"}) for v in ("org", "other")}


def org_admin() -> Expect:
    """The organization's admins (owner, admin, superuser); a plain member 403; anyone else 404."""
    return {v: by(ADMINS[v] | {"root"}, **dict.fromkeys(MEMBERS[v] - ADMINS[v], 403)) for v in ("org", "other")}


def everyone(ok: int = 200) -> Expect:
    return {NO_OBJECT: by(CALLERS, ok)}


# -- requests --------------------------------------------------------------------------------

DROP = object()  # in an id row: remove the field


@dataclass
class Req:
    params: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None


Build = Callable[[World, str, str], Req]  # (world, object variant, caller)


def org_query(w: World, v: str) -> dict[str, Any]:
    """The scope a list or create names: none for personal objects and for public ones (public is
    readable from anywhere)."""
    org = w.o(v).org
    return {"organization_id": org} if org and v != "public" else {}


def unique(label: str, caller: str) -> str:
    return f"{label} by {caller} {uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Route:
    expect: Expect
    build: Build
    why: str
    # Why a route has not all four object variants (required then).
    na: str = ""
    # For a list answered 200: how many items (its `count`, or its length) the caller sees of the
    # object variant: what a 200 shows is as much the tenancy as the status.
    count: Callable[[str, str], int] | None = None


def count_of(body: Any) -> int:
    return len(body) if isinstance(body, list) else int(body["count"])


def in_scope_count(variant: str, caller: str) -> int:
    """A product's looks, shots: the one of the world's, to its scope's readers only (a public
    product's are its organization's)."""
    return int(caller in SCOPE[variant])


def related_count(variant: str, caller: str) -> int:
    """Without organization_id, the looks of the caller's personal scope (a superuser's: every
    scope's). Only the personal look is in a personal scope."""
    return int(caller == "root" or (variant, caller) == ("personal", "owner"))


def generations_count(variant: str, caller: str) -> int:
    """Without organization_id, the caller's personal generations: only the owner's personal one."""
    return int((variant, caller) == ("personal", "owner"))


# The world's products and brands by scope (GET /products/, GET /brands/).
PRODUCTS_IN = {"personal": {"owner": 1}, "org": dict.fromkeys(SCOPE["org"], 1), "other": {"other": 2, "root": 2}}
# Each product's brand, and a registered one but for the public product. A superuser without
# organization_id reads every scope's.
BRANDS_IN = {
    "personal": {"owner": 2, "root": 7},
    "org": dict.fromkeys(SCOPE["org"], 2),
    "other": {"other": 3, "root": 3},
}
MINE = {
    "organizations": {"owner": 1, "member": 1, "admin": 1, "other": 1},
    "tasks": {"owner": 2, "member": 2, "other": 2},
    "invitations": {"stranger": 1, "member": 1},
}


NO_PUBLIC = "public is a product's flag: this object has no public kind"
ORG_ONLY = "the object is an organization (or its invitation): there are no personal or public ones"
NONE = "the caller's own account or list: no object to vary"
TASKS = "an export task is its creator's only; tasks have no public kind"


def _product(extra: Callable[[World, str, str], Req] | None = None) -> Build:
    def make(w: World, v: str, c: str) -> Req:
        req = extra(w, v, c) if extra else Req()
        return replace(req, params={"id": w.o(v).product, **req.params})

    return make


def _password(w: World, v: str, c: str) -> Req:
    current = ROOT_PASSWORD if c == "root" else PASSWORD
    return Req(body={"current_password": current, "new_password": "another-password-456"})


P = f"{API}/products/{{id}}"
ROUTES: dict[tuple[str, str], Route] = {
    # -- products by id
    ("GET", P): Route(product_read(), _product(), "readers: scope or public"),
    ("PUT", P): Route(
        product_write(), _product(lambda w, v, c: Req(body={"name": unique("Put", c)})), "writers: scope; public 403"
    ),
    ("PATCH", P): Route(
        product_write(), _product(lambda w, v, c: Req(body={"name": unique("Patch", c)})), "writers: scope; public 403"
    ),
    ("DELETE", P): Route(product_write(), _product(), "writers"),
    ("PATCH", f"{P}/archived"): Route(
        product_write(), _product(lambda w, v, c: Req(query={"archived": "true"})), "writers"
    ),
    **{
        ("GET", f"{P}/{what}"): Route(
            product_read(), _product(), "readers of the product; its looks to the looks' scope", count=in_scope_count
        )
        for what in ("shots", "shooting-looks", "shooting-looks-summary")
    },
    ("GET", f"{P}/related-shooting-looks"): Route(
        product_read(), _product(), "readers of the product; the looks of their scope", count=related_count
    ),
    ("GET", f"{P}/generations"): Route(
        product_read(), _product(), "readers of the product; the generations of their scope", count=generations_count
    ),
    ("POST", f"{API}/products/selected_shot/{{product_id}}"): Route(
        product_write(),
        lambda w, v, c: Req(
            {"product_id": w.o(v).product},
            body={"product_id": w.o(v).product, "shot_type": "front", "prediction_id": w.o(v).prediction},
        ),
        "writers of the product (the prediction is the product's own, in its scope)",
    ),
    # -- lists and creates in a scope
    ("GET", f"{API}/products"): Route(
        in_scope_of_query(),
        lambda w, v, c: Req(query=org_query(w, v)),
        "scope query",
        NO_PUBLIC,
        count=lambda v, c: PRODUCTS_IN[v].get(c, 0),
    ),
    ("POST", f"{API}/products"): Route(
        in_scope_of_query(),
        lambda w, v, c: Req(query=org_query(w, v), body={"name": unique("New", c), "cover_image": IMAGE}),
        "scope query",
        NO_PUBLIC,
    ),
    ("GET", f"{API}/brands"): Route(
        in_scope_of_query(),
        lambda w, v, c: Req(query=org_query(w, v)),
        "scope query",
        NO_PUBLIC,
        count=lambda v, c: BRANDS_IN[v].get(c, 0),
    ),
    **{
        ("GET", f"{API}/{facet}"): Route(
            in_scope_of_query(), lambda w, v, c: Req(query=org_query(w, v)), "scope query", NO_PUBLIC
        )
        for facet in ("brand-collections", "seasons", "years")
    },
    ("POST", f"{API}/brands"): Route(
        in_scope_of_query(),
        lambda w, v, c: Req(query=org_query(w, v), body={"name": unique("Brand", c)}),
        "scope query",
        NO_PUBLIC,
    ),
    ("POST", f"{API}/brand-collections"): Route(
        in_scope_of_query(),
        lambda w, v, c: Req(query=org_query(w, v), body={"name": unique("Collection", c), "brand": "Acme"}),
        "scope query",
        NO_PUBLIC,
    ),
    ("POST", f"{API}/uploads"): Route(
        in_scope_of_query(),
        lambda w, v, c: Req(query=org_query(w, v), body={"filename": "b.png", "content_type": "image/png", "size": 9}),
        "scope query",
        NO_PUBLIC,
    ),
    ("POST", f"{API}/shootings"): Route(
        in_scope_of_query(),
        lambda w, v, c: Req(query=org_query(w, v), body={"name": unique("Shooting", c)}),
        "scope query",
        NO_PUBLIC,
    ),
    ("POST", f"{API}/generations"): Route(
        {
            # Personal: the owner's product, which nobody else may see (404).
            **in_scope_of_query(personal=by(SCOPE["personal"])),
            # Public, without organization_id: readable by everyone, written by other_org's.
            "public": by(SCOPE["public"], denied=403),
        },
        lambda w, v, c: Req(query=org_query(w, v), body={"product_id": w.o(v).product, "batch_size": 1}),
        "write access to the product, in the scope named",
    ),
    ("POST", f"{API}/products/export-approved-shots/async"): Route(
        {
            # Personal: a product the caller may not read is a 422 at product_ids (test_exports).
            **in_scope_of_query(personal=by(SCOPE["personal"], denied=422)),
            "public": by(CALLERS),
        },
        lambda w, v, c: Req(query=org_query(w, v), body={"product_ids": [w.o(v).product]}),
        "the products named must be readable, in the scope named",
    ),
    # -- records of a scope, by id
    ("GET", f"{API}/shootings/{{id}}"): Route(scoped(), lambda w, v, c: Req({"id": w.o(v).shooting}), "scope"),
    ("POST", f"{API}/shootings/{{id}}/looks"): Route(
        scoped(),
        lambda w, v, c: Req({"id": w.o(v).shooting}, body={"product_id": w.o(v).product}),
        "the shooting's scope (its product is in it)",
    ),
    ("POST", f"{API}/shooting-looks/{{id}}/shots"): Route(
        scoped(), lambda w, v, c: Req({"id": w.o(v).look}, body={"shot_type": "back"}), "the look's scope"
    ),
    ("PATCH", f"{API}/shots/{{id}}"): Route(
        scoped(), lambda w, v, c: Req({"id": w.o(v).shot}, body={"status": "APPROVED"}), "the look's scope"
    ),
    ("POST", f"{API}/shots/{{id}}/revisions"): Route(
        scoped(), lambda w, v, c: Req({"id": w.o(v).shot}, body={"images": [{"image": IMAGE}]}), "the look's scope"
    ),
    ("POST", f"{API}/shots/{{id}}/revisions/{{revision_id}}/push-records"): Route(
        scoped(),
        lambda w, v, c: Req(
            {"id": w.o(v).shot, "revision_id": w.o(v).revision}, body={"integration_id": str(uuid.uuid4())}
        ),
        "the look's scope",
    ),
    ("PATCH", f"{API}/shots/{{id}}/revisions/{{revision_id}}/push-records/{{push_id}}"): Route(
        scoped(),
        lambda w, v, c: Req(
            {"id": w.o(v).shot, "revision_id": w.o(v).revision, "push_id": w.o(v).push},
            body={"push_status": "IN_PROGRESS"},
        ),
        "the look's scope",
    ),
    ("PATCH", f"{API}/predictions/{{id}}"): Route(
        scoped(), lambda w, v, c: Req({"id": w.o(v).prediction}, body={"status": "processing"}), "generation's scope"
    ),
    ("POST", f"{API}/predictions/{{id}}/refines"): Route(
        scoped(), lambda w, v, c: Req({"id": w.o(v).prediction}, body={}), "the generation's scope"
    ),
    ("PATCH", f"{API}/refines/{{id}}"): Route(
        scoped(), lambda w, v, c: Req({"id": w.o(v).refine}, body={"status": "processing"}), "generation's scope"
    ),
    ("GET", f"{API}/uploads/{{id}}"): Route(
        scoped(("personal", "org", "other")), lambda w, v, c: Req({"id": str(w.o(v).upload)}), "scope", NO_PUBLIC
    ),
    ("GET", f"{API}/brands/{{id}}"): Route(
        scoped(("personal", "org", "other")), lambda w, v, c: Req({"id": str(w.o(v).brand)}), "scope", NO_PUBLIC
    ),
    ("PATCH", f"{API}/brands/{{id}}"): Route(
        scoped(("personal", "org", "other")),
        lambda w, v, c: Req({"id": str(w.o(v).brand)}, body={"name": unique("Renamed", c)}),
        "scope",
        NO_PUBLIC,
    ),
    # -- export tasks
    ("GET", f"{API}/products/export-tasks/{{task_id}}"): Route(
        creator_only(), lambda w, v, c: Req({"task_id": str(w.o(v).task)}), "creator", TASKS
    ),
    ("DELETE", f"{API}/products/export-tasks/{{task_id}}"): Route(
        creator_only(), lambda w, v, c: Req({"task_id": str(w.o(v).task)}), "creator (a PENDING task)", TASKS
    ),
    ("DELETE", f"{API}/products/export-tasks/{{task_id}}/dismiss"): Route(
        creator_only(), lambda w, v, c: Req({"task_id": str(w.o(v).done)}), "creator (a COMPLETED task)", TASKS
    ),
    ("GET", f"{API}/products/export-tasks/{{task_id}}/download"): Route(
        creator_only(302), lambda w, v, c: Req({"task_id": str(w.o(v).done)}), "creator (a COMPLETED task)", TASKS
    ),
    ("GET", f"{API}/products/export-tasks"): Route(
        everyone(), lambda w, v, c: Req(), "one's own tasks", NONE, count=lambda v, c: MINE["tasks"].get(c, 0)
    ),
    # -- organizations
    ("POST", f"{API}/organizations"): Route(
        everyone(), lambda w, v, c: Req(body={"name": unique("Org", c)}), "anyone creates one", NONE
    ),
    ("GET", f"{API}/organizations"): Route(
        everyone(), lambda w, v, c: Req(), "one's own", NONE, count=lambda v, c: MINE["organizations"].get(c, 0)
    ),
    ("GET", f"{API}/organizations/{{org_id}}"): Route(
        org_visible(), lambda w, v, c: Req({"org_id": str(w.o(v).org)}), "members", ORG_ONLY
    ),
    ("PATCH", f"{API}/organizations/{{org_id}}"): Route(
        org_admin(),
        lambda w, v, c: Req({"org_id": str(w.o(v).org)}, body={"name": unique("Renamed", c)}),
        "admins",
        ORG_ONLY,
    ),
    ("GET", f"{API}/organizations/{{org_id}}/members"): Route(
        org_visible(),
        lambda w, v, c: Req({"org_id": str(w.o(v).org)}),
        "members",
        ORG_ONLY,
        count=lambda v, c: {"org": 4, "other": 2}[v],  # owner, admin, member, extra; other, other_member
    ),
    ("PATCH", f"{API}/organizations/{{org_id}}/members/{{user_id}}"): Route(
        org_admin(),
        lambda w, v, c: Req({"org_id": str(w.o(v).org), "user_id": str(w.o(v).target)}, body={"role": "admin"}),
        "admins (of a plain member)",
        ORG_ONLY,
    ),
    ("DELETE", f"{API}/organizations/{{org_id}}/members/{{user_id}}"): Route(
        org_admin(),
        lambda w, v, c: Req({"org_id": str(w.o(v).org), "user_id": str(w.o(v).target)}),
        "admins (of a plain member)",
        ORG_ONLY,
    ),
    ("DELETE", f"{API}/organizations/{{org_id}}/members/me"): Route(
        {
            # Its owner cannot leave (409); a superuser who is no member has no membership (404).
            "org": by({"member", "admin"}, owner=409),
            "other": by(set(), other=409),
        },
        lambda w, v, c: Req({"org_id": str(w.o(v).org)}),
        "members but the owner",
        ORG_ONLY,
    ),
    ("POST", f"{API}/organizations/{{org_id}}/invitations"): Route(
        org_admin(),
        lambda w, v, c: Req({"org_id": str(w.o(v).org)}, body={"email": f"invited-{uuid.uuid4().hex[:8]}@example.com"}),
        "admins",
        ORG_ONLY,
    ),
    ("GET", f"{API}/organizations/{{org_id}}/invitations"): Route(
        org_admin(), lambda w, v, c: Req({"org_id": str(w.o(v).org)}), "admins", ORG_ONLY, count=lambda v, c: 1
    ),
    ("DELETE", f"{API}/organizations/{{org_id}}/invitations/{{invitation_id}}"): Route(
        org_admin(),
        lambda w, v, c: Req({"org_id": str(w.o(v).org), "invitation_id": str(w.o(v).invitation)}),
        "admins",
        ORG_ONLY,
    ),
    # -- invitations, from the invitee's side: `org`'s invites the stranger, `other_org`'s the member
    ("POST", f"{API}/users/me/invitations/{{invitation_id}}/accept"): Route(
        {"org": by({"stranger"}), "other": by({"member"})},
        lambda w, v, c: Req({"invitation_id": str(w.o(v).invitation)}),
        "the invited address only (superusers too: 404)",
        ORG_ONLY,
    ),
    ("POST", f"{API}/users/me/invitations/{{invitation_id}}/decline"): Route(
        {"org": by({"stranger"}), "other": by({"member"})},
        lambda w, v, c: Req({"invitation_id": str(w.o(v).invitation)}),
        "the invited address only",
        ORG_ONLY,
    ),
    # -- one's own account
    ("GET", f"{API}/users/me"): Route(everyone(), lambda w, v, c: Req(), "oneself", NONE),
    ("PATCH", f"{API}/users/me"): Route(everyone(), lambda w, v, c: Req(body={"full_name": "Matrix"}), "self", NONE),
    ("PATCH", f"{API}/users/me/password"): Route(everyone(), _password, "oneself", NONE),
    ("POST", f"{API}/users/me/logout-all"): Route(everyone(), lambda w, v, c: Req(), "oneself", NONE),
    ("GET", f"{API}/users/me/invitations"): Route(
        everyone(), lambda w, v, c: Req(), "oneself", NONE, count=lambda v, c: MINE["invitations"].get(c, 0)
    ),
    ("POST", f"{API}/users"): Route(
        {NO_OBJECT: by({"root"}, denied=403)},
        lambda w, v, c: Req(body={"email": f"new-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD}),
        "superusers only",
        NONE,
    ),
}

# Routes without a caller: nothing to authorize.
PUBLIC_ROUTES = {
    ("POST", f"{API}/login/access-token"): "signs a caller in: there is no caller yet, and no object",
    ("GET", f"{API}/openapi.json"): "the API's document: the same to everyone, no object",
    ("GET", f"{API}/docs"): "the docs page: the same to everyone, no object",
    ("GET", f"{API}/docs/{{asset}}"): "the docs page's files: the same to everyone, no object",
}


# -- sending ---------------------------------------------------------------------------------


def send(w: World, method: str, path: str, req: Req, token: str | None) -> Response:
    return w.api.call(method, with_query(path.format(**req.params), req.query), token, body=req.body)


def changes_state(method: str, path: str) -> bool:
    return method != "GET" or path.endswith("/download")


def report(title: str, rows: list[tuple[str, ...]], total: int) -> str:
    head = ("caller", "object", "expected", "got", "answer")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head) - 1)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(r, [*widths, 0], strict=True)) for r in [head, *rows]
    ]
    return f"{title}: {len(rows)} of {total} cells differ\n" + "\n".join(lines)


def _route_ids() -> list[str]:
    return [f"{method} {path.removeprefix(API)}" for method, path in ROUTES]


@pytest.mark.parametrize("key", list(ROUTES), ids=_route_ids())
def test_route(world: World, key: tuple[str, str]) -> None:
    """Every caller (and every refused token) x every object variant of one route: the exact status."""
    method, path = key
    route = ROUTES[key]
    mismatches: list[tuple[str, ...]] = []
    cells = 0
    for variant, row in route.expect.items():
        for bad in BAD_TOKENS:
            cells += 1
            r = send(world, method, path, route.build(world, variant, "owner"), world.tokens[bad])
            detail = {"detail": UNAUTHENTICATED[bad]}
            challenge = {k.lower(): v for k, v in r.headers.items()}.get("www-authenticate")
            if r.status != 401 or r.json != detail or challenge != "Bearer":
                mismatches.append((bad, variant, f"401 {detail['detail']}", str(r.status), repr(r.raw[:160])))
            if r.status < 400:
                world.reset()
        for caller in CALLERS:
            cells += 1
            r = send(world, method, path, route.build(world, variant, caller), world.tokens[caller])
            expected, got = str(row[caller]), str(r.status)
            if route.count is not None and r.status == row[caller] == 200:
                expected += f" count {route.count(variant, caller)}"
                got += f" count {count_of(r.json)}"
            if got != expected:
                mismatches.append((caller, variant, expected, got, repr(r.raw[:160])))
            if r.status < 400 and changes_state(method, path):
                world.reset()
    assert not mismatches, report(f"{method} {path} ({route.why})", mismatches, cells)


# -- id fields -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdRow:
    """`field` (as `model_id_fields` names it) set to `source`, an object of another tenant, in the
    request `caller` makes on `variant` (which succeeds as built): `status`, and for a 422 the
    error's `loc` and `type`."""

    field: str
    source: str  # a key of SOURCES
    status: int
    loc: tuple[str | int, ...] = ()
    type: str = ""
    also: tuple[tuple[str, Any], ...] = ()  # other changes to the request (DROP removes a field)
    caller: str = "member"
    variant: str = "org"


# What an id row names: another organization's object (the member is not in it), a fellow member's
# (the owner's) personal one, or the public product of another organization.
def _of(variant: str, name: str) -> Callable[[World], Any]:
    return lambda w: getattr(w.o(variant), name)


SOURCES: dict[str, Callable[[World], Any]] = {
    **{f"other_org's {f.name}": _of("other", f.name) for f in fields(Objects)},
    **{f"the owner's personal {f.name}": _of("personal", f.name) for f in fields(Objects)},
    "other_org's public product": _of("public", "product"),
}
NO_QUERY_ORG = (("query.organization_id", DROP),)


def foreign(spec: str, name: str, status: int, type: str = "", **kw: Any) -> list[IdRow]:
    """`spec` (a field) naming another organization's `name`, then the owner's personal one: the member
    (the caller) may see neither. A 422 is at the field itself unless `loc` says otherwise."""
    if status == 422:
        kw.setdefault("loc", ("body", *spec.removeprefix("body.").replace("[]", ".0").split(".")))
    loc = tuple(int(part) if part == "0" else part for part in kw.pop("loc", ()))
    return [
        IdRow(spec, f"{whose}{name}", status, loc, type, **kw) for whose in ("other_org's ", "the owner's personal ")
    ]


def org_rows(*, query: bool = True, body: bool = False) -> list[IdRow]:
    """`organization_id` naming an organization the caller is not a member of: 403."""
    rows = []
    if query:
        rows.append(IdRow("query.organization_id", "other_org's org", 403))
    if body:
        rows.append(IdRow("body.organization_id", "other_org's org", 403, also=NO_QUERY_ORG))
    return rows


def opaque(name: str) -> IdRow:
    """An id of another service's catalog (subjects, styles, shot types, models, presets,
    integrations, the generation service's tasks): names nothing this service's tenants own, and is
    stored as sent, whatever it is (here another organization's product id)."""
    return IdRow(name, "other_org's product", 200)


def media(field: str, loc: tuple[str | int, ...]) -> list[IdRow]:
    """Another tenant's upload as an image: "not found" (not "not ready": it is pending) at the image."""
    return foreign(field, "upload", 422, "media_not_found", loc=loc)


def product_body_rows() -> list[IdRow]:
    return [
        *(
            row
            for name in ("cover_image", "back_image")
            for row in media(f"body.{name}.media_resource_id", ("body", name))
        ),
        *media("body.reference_images[].media_resource_id", ("body", "reference_images", 0)),
        opaque("body.product_type_id"),
    ]


ID_ROWS: dict[tuple[str, str], list[IdRow]] = {
    **{
        (method, path): org_rows()
        for method, path in [
            ("GET", P),
            ("DELETE", P),
            ("PATCH", f"{P}/archived"),
            ("GET", f"{P}/shots"),
            ("GET", f"{P}/shooting-looks"),
            ("GET", f"{P}/shooting-looks-summary"),
            ("GET", f"{P}/related-shooting-looks"),
            ("GET", f"{P}/generations"),
            *(("GET", f"{API}/{facet}") for facet in ("brands", "brand-collections", "seasons", "years")),
        ]
    },
    **{
        (method, P): [
            *org_rows(),
            # The organization's product moved into another organization: only the organization's
            # owner may move a product out of it (403 to the member, before the target is read).
            IdRow("body.organization_id", "other_org's org", 403),
            *product_body_rows(),
        ]
        for method in ("PUT", "PATCH")
    },
    ("POST", f"{API}/products"): [*org_rows(body=True), *product_body_rows()],
    ("GET", f"{API}/products"): [
        *org_rows(),
        # A filter of the caller's own scope: another tenant's shooting matches none of its products.
        *foreign("query.shooting_id", "shooting", 200),
    ],
    ("POST", f"{API}/brands"): org_rows(body=True),
    ("POST", f"{API}/brand-collections"): org_rows(body=True),
    ("POST", f"{API}/uploads"): org_rows(body=True),
    ("POST", f"{API}/shootings"): org_rows(body=True),
    ("POST", f"{API}/generations"): [
        *org_rows(body=True),
        # The product the generation is for: one the caller cannot see is 404, as the product is.
        *foreign("body.product_id", "product", 404),
        # Without organization_id (a personal generation): readable, not writable.
        IdRow("body.product_id", "other_org's public product", 403, also=NO_QUERY_ORG),
        *foreign("body.shooting_look_id", "look", 422, "look_not_found"),
        *foreign("body.shot_id", "shot", 422, "shot_not_found"),
        *foreign("body.product2_id", "product", 422, "product_not_found"),
        IdRow("body.product2_id", "other_org's public product", 200),  # a public product is readable
        *(opaque(f"body.{name}") for name in ("subject_id", "style_id", "shot_type_id", "generative_models_id")),
    ],
    ("POST", f"{API}/products/export-approved-shots/async"): [
        *org_rows(),
        *foreign("body.product_ids[]", "product", 422, "product_not_found"),
        *foreign("body.shooting_id", "shooting", 422, "shooting_not_found"),
        # A look the caller cannot see is a 404 "Shooting look not found" (tests/api/test_exports.py).
        *foreign("body.shooting_look_id", "look", 404, also=(("body.product_ids[]", DROP),)),
    ],
    ("POST", f"{API}/products/selected_shot/{{product_id}}"): [
        *org_rows(),
        *foreign("body.product_id", "product", 422, "product_mismatch"),  # must be the path's product
        *foreign("body.prediction_id", "prediction", 422, "prediction_not_found"),
        opaque("body.id"),  # the reference's body has it: accepted and ignored
    ],
    ("POST", f"{API}/shootings/{{id}}/looks"): [
        *foreign("body.product_id", "product", 422, "product_not_found"),
        # The main product is written (its shot status follows the look): readable is not enough.
        IdRow("body.product_id", "other_org's public product", 422, ("body", "product_id"), "forbidden"),
        *foreign("body.outfit_product_ids[]", "product", 422, "product_not_found"),
        IdRow("body.outfit_product_ids[]", "other_org's public product", 200),  # an outfit is only read
        opaque("body.subject_id"),
        opaque("body.style_id"),
    ],
    ("POST", f"{API}/shooting-looks/{{id}}/shots"): [opaque("body.pose_preset_id")],
    ("POST", f"{API}/shots/{{id}}/revisions"): [
        *foreign("body.images[].prediction_id", "prediction", 422, "prediction_not_found"),
        *foreign("body.images[].refine_id", "refine", 422, "refine_not_found"),
        *media("body.images[].image.media_resource_id", ("body", "images", 0, "image")),
    ],
    ("POST", f"{API}/shots/{{id}}/revisions/{{revision_id}}/push-records"): [
        # A revision of another shot (another tenant's) under the caller's own shot: not found.
        *foreign("path.revision_id", "revision", 404),
        opaque("body.integration_id"),
    ],
    ("PATCH", f"{API}/shots/{{id}}/revisions/{{revision_id}}/push-records/{{push_id}}"): [
        *foreign("path.revision_id", "revision", 404),
        *foreign("path.push_id", "push", 404),
    ],
    # An organization's admin, naming another organization's member or invitation under their own
    # organization: not found (and nothing of the other organization changes).
    **{
        (method, f"{API}/organizations/{{org_id}}/members/{{user_id}}"): [
            IdRow("path.user_id", "other_org's target", 404, caller="owner")
        ]
        for method in ("PATCH", "DELETE")
    },
    ("DELETE", f"{API}/organizations/{{org_id}}/invitations/{{invitation_id}}"): [
        IdRow("path.invitation_id", "other_org's invitation", 404, caller="owner")
    ],
    ("PATCH", f"{API}/predictions/{{id}}"): media("body.result_image.media_resource_id", ("body", "result_image")),
    ("POST", f"{API}/predictions/{{id}}/refines"): [
        *media("body.result_image.media_resource_id", ("body", "result_image")),
        *foreign("body.refines_refine_id", "refine", 422, "refine_not_found"),
        opaque("body.task_id"),
        opaque("body.refine_model_id"),
    ],
    ("PATCH", f"{API}/refines/{{id}}"): [
        *media("body.result_image.media_resource_id", ("body", "result_image")),
        opaque("body.task_id"),
    ],
}


def _is_uuid(annotation: Any) -> bool:
    return annotation is uuid.UUID


def _walk(annotation: Any, path: str, name: str) -> Iterator[str]:
    """The id fields under one annotation: `path` itself when it is one, and those of the models
    it holds (through unions, optionals and lists; a list adds `[]` to the path)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        found = {f for arg in args if arg is not type(None) for f in _walk(arg, path, name)}
        yield from sorted(found)
        return
    if origin is list:
        yield from _walk(args[0], f"{path}[]", name)
        return
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield from model_id_fields(annotation, f"{path}.")
        return
    if _is_uuid(annotation) or name.endswith(("_id", "_ids")):
        yield path


def model_id_fields(model: type[BaseModel], prefix: str) -> Iterator[str]:
    for name, info in model.model_fields.items():
        yield from _walk(info.annotation, f"{prefix}{name}", name)


def registered_routes() -> dict[tuple[str, str], Any]:
    """(method, path) -> its Operation, or None for a route that has none: every route of the app
    but the CORS preflights and the 405 answers (as the OpenAPI document enumerates them)."""
    from app import app
    from chalicelib.api.contract import operation_of
    from chalicelib.api.method_not_allowed import is_refusal

    return {
        (method, path): operation_of(entry.view_function)
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if method != "OPTIONS" and not is_refusal(entry.view_function)
    }


def id_fields_of(operation: Any) -> set[str]:
    """The id fields of a route's query and body models, and its path parameters after the first
    (the first names the object the route is about, which the route matrix varies; the others
    name objects under it: a revision of the shot, a member of the organization...)."""
    from chalicelib.api.contract import resolve

    fields: set[str] = {f"path.{name}" for name in operation.path_params[1:]}
    for where, model in (("query", operation.query), ("body", operation.body)):
        if model is not None:
            fields |= set(model_id_fields(resolve(model), f"{where}."))
    return fields


def test_the_matrix_covers_every_route_and_id_field() -> None:
    """Every registered route has its rows (or is public, with a reason), every object variant of a
    route has a status for every caller, and every id field of its query and body models has an
    id row (and no row names a route or field that does not exist)."""
    routes = registered_routes()
    unauthorized = {key for key, op in routes.items() if op is None or not op.secure}
    assert unauthorized == set(PUBLIC_ROUTES), "routes without a caller, each listed with its reason"
    assert all(PUBLIC_ROUTES.values())
    secure = set(routes) - unauthorized
    assert set(ROUTES) == secure, (
        f"routes without rows: {sorted(secure - set(ROUTES))}; rows of no route: {sorted(set(ROUTES) - secure)}"
    )
    for key, route in ROUTES.items():
        assert route.expect, key
        for variant, row in route.expect.items():
            assert variant in (*VARIANTS, NO_OBJECT), (key, variant)
            assert set(row) == set(CALLERS), (key, variant)
        if set(route.expect) != set(VARIANTS):
            assert route.na, f"{key}: say why it has no {sorted(set(VARIANTS) - set(route.expect))} object"

    missing, unknown = [], []
    for key in sorted(secure):
        fields = id_fields_of(routes[key])
        rows = {row.field for row in ID_ROWS.get(key, [])}
        missing += [(key, f) for f in sorted(fields - rows)]
        unknown += [(key, f) for f in sorted(rows - fields)]
    assert not missing, f"id fields without rows: {missing}"
    assert not unknown, f"rows of no id field: {unknown}"
    assert set(ID_ROWS) <= secure


def _set(request: Req, spec: str, value: Any) -> None:
    """Set (or with DROP remove) the field `spec` ('body.images[].prediction_id') of a request."""
    where, _, path = spec.partition(".")
    if where == "path":
        request.params[path] = value
        return
    if where == "query":
        if value is DROP:
            request.query.pop(path, None)
        else:
            request.query[path] = value
        return
    container: Any = request.body
    parts = path.split(".")
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        name, is_list = part.removesuffix("[]"), part.endswith("[]")
        if value is DROP and last:
            container.pop(name, None)
            return
        if is_list:
            items = container.get(name)
            if not isinstance(items, list):
                items = container[name] = []
            if not items:
                items.append({})
            if last:
                items[0] = value
                return
            if not isinstance(items[0], dict):
                items[0] = {}
            container = items[0]
        elif last:
            container[name] = value
        else:
            if not isinstance(container.get(name), dict):
                container[name] = {}
            container = container[name]


def _id_route_ids() -> list[str]:
    return [f"{method} {path.removeprefix(API)}" for method, path in ID_ROWS]


def _answer(r: Response, row: IdRow) -> str:
    """What the row compares: the status, and for a 422 where and of what type the error is."""
    if r.status != 422 or row.status != 422:
        return str(r.status)
    errors = [(tuple(e["loc"]), e["type"]) for e in r.json["detail"]]
    return "422" if errors == [(row.loc, row.type)] else f"422 {errors}"


@pytest.mark.parametrize("key", list(ID_ROWS), ids=_id_route_ids())
def test_id_fields(world: World, key: tuple[str, str]) -> None:
    """Each id field of one route set to another tenant's object, in a request that succeeds as
    built (checked first): the exact status, and a 422's place and type."""
    method, path = key
    route = ROUTES[key]
    mismatches: list[tuple[str, ...]] = []
    baselines: set[tuple[str, str]] = set()
    for row in ID_ROWS[key]:
        base = route.build(world, row.variant, row.caller)
        if (row.caller, row.variant) not in baselines:
            baselines.add((row.caller, row.variant))
            r = send(world, method, path, base, world.tokens[row.caller])
            if not 200 <= r.status < 400:
                mismatches.append((row.caller, row.variant, "2xx as built", str(r.status), repr(r.raw[:200])))
            world.reset()
        request = replace(base, query=dict(base.query), body=copy.deepcopy(base.body))
        for spec, value in row.also:
            _set(request, spec, value)
        _set(request, row.field, SOURCES[row.source](world))
        r = send(world, method, path, request, world.tokens[row.caller])
        got = _answer(r, row)
        if got != str(row.status):
            expected = f"{row.status}" + (f" {[(row.loc, row.type)]}" if row.loc else "")
            where = f"{row.variant}: {row.field} = {row.source}"
            mismatches.append((row.caller, where, expected, got, repr(r.raw[:200])))
        if r.status < 400:
            world.reset()
    assert not mismatches, report(f"{method} {path} id fields", mismatches, len(ID_ROWS[key]))


# -- the refused tokens ------------------------------------------------------------------------


def test_the_refused_tokens_are_refused_only_for_what_is_wrong_with_them(world: World) -> None:
    """Made right (signed with our key, unexpired, at the user's token version), the same claims
    are accepted: each bad token's 401 is its flaw's."""
    from chalicelib.services.security import create_access_token

    me = f"{API}/users/me"
    for who in ("owner", "root"):
        good = create_access_token(world.ids[who], version=_token_version(world.ids[who]))
        assert ok(world.api.get(me, good))["id"] == world.ids[who]
    for bad in BAD_TOKENS:
        r = world.api.get(me, world.tokens[bad])
        assert (r.status, r.json) == (401, {"detail": UNAUTHENTICATED[bad]}), (bad, r)
    claims = jwt.decode(str(world.tokens["foreign_key"]), options={"verify_signature": False})
    assert claims["sub"] == world.ids["root"]
    assert jwt.get_unverified_header(str(world.tokens["alg_none"]))["alg"] == "none"
    revoked = jwt.decode(str(world.tokens["revoked"]), options={"verify_signature": False})
    assert revoked["ver"] == _token_version(world.ids["owner"]) - 1
