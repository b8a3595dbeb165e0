"""Accounts people can manage: their profile, password and sessions; organizations their admins
rename, whose members they list and whose roles they change; leaving one. Tokens carry the user's
token version: a password change or logout-all revokes every older token.

The cast (tests.factories.OrgWorld): `owner` and `admin` administer `org`, `member` is a plain
member, `other` owns `other_org`, `stranger` and `invitee` are in no organization, `root` is the
superuser.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from chalicelib.services.security import create_access_token
from tests.factories import Api, OrgWorld, Response, build_org_world
from tests.support import harness

ORGS = "/api/v1/organizations/"
ME = "/api/v1/users/me"
PASSWORD = "/api/v1/users/me/password"
LOGOUT_ALL = "/api/v1/users/me/logout-all"
FORBIDDEN = {"detail": "Not enough permissions"}
ORG_NOT_FOUND = {"detail": "Organization not found"}
MEMBER_NOT_FOUND = {"detail": "Member not found"}
NOT_AUTHENTICATED = {"detail": "Not authenticated"}
BAD_CREDENTIALS = {"detail": "Could not validate credentials"}
TOKEN_EXPIRED = {"detail": "Token expired"}
PASSWORD_OF_EVERYONE = "password-123"  # build_org_world's users, through Api.user


@pytest.fixture(scope="module")
def world_snapshot(_moto: None) -> tuple[list[Any], OrgWorld]:
    return harness.build_through_api(build_org_world)


@pytest.fixture
def world(api: Api, world_snapshot: tuple[list[Any], OrgWorld]) -> OrgWorld:
    items, built = world_snapshot
    harness.restore(items)
    return replace(built, api=api, tokens=dict(built.tokens), emails=dict(built.emails))


def check(r: Response, status: int, detail: dict[str, Any] | None = None) -> None:
    assert r.status == status, r
    if detail is not None:
        assert r.json == detail, r


def refused(r: Response, detail: dict[str, Any]) -> None:
    check(r, 401, detail)
    assert {k.lower(): v for k, v in r.headers.items()}.get("www-authenticate") == "Bearer", r.headers


def roles(w: OrgWorld) -> dict[str, str]:
    r = w.api.get(f"{ORGS}{w.org}/members", w.token("owner"))
    check(r, 200)
    return {m["user_id"]: m["role"] for m in r.json["data"]}


def org_name(w: OrgWorld) -> str:
    name: str = w.api.get(f"{ORGS}{w.org}", w.token("owner")).json["name"]
    return name


# -- hole 6: a product moved out of an organization ------------------------------------------


def test_a_product_moved_out_of_an_organization_becomes_the_movers(api: Api) -> None:
    """Its creator may have left: the owner who moves it out must not lose it (404)."""
    owner_id, owner = api.user()
    org = api.org(owner, "Org")
    creator_id, creator = api.user()
    api.add_member(owner, org, creator_id)
    product = api.product(creator, org, name="Made by a member who left")
    check(api.delete(f"{ORGS}{org}/members/{creator_id}", creator), 200)

    r = api.patch(f"/api/v1/products/{product['id']}", {"organization_id": None}, owner)
    check(r, 200)
    assert r.json["organization_id"] is None
    assert r.json["owner_id"] == owner_id
    check(api.get(f"/api/v1/products/{product['id']}", owner), 200)
    assert product["id"] in {p["id"] for p in api.get("/api/v1/products/", owner).json["data"]}
    check(api.get(f"/api/v1/products/{product['id']}", creator), 404)
    assert api.get("/api/v1/products/", creator).json["count"] == 0


# -- GET /organizations/{id} ------------------------------------------------------------------

READ = [
    ("owner", 200, None),
    ("admin", 200, None),
    ("member", 200, None),
    ("root", 200, None),
    ("other", 404, ORG_NOT_FOUND),
    ("stranger", 404, ORG_NOT_FOUND),
]


@pytest.mark.parametrize(("who", "status", "detail"), READ)
def test_who_reads_an_organization(world: OrgWorld, who: str, status: int, detail: dict[str, Any] | None) -> None:
    r = world.api.get(f"{ORGS}{world.org}", world.token(who))
    check(r, status, detail)
    if status == 200:
        assert r.json["id"] == world.org
        assert r.json["name"] == "Org"
        assert r.json["owner_id"] == world.ids["owner"]


def test_read_organization_without_a_token_unknown_or_malformed(world: OrgWorld) -> None:
    refused(world.api.get(f"{ORGS}{world.org}"), NOT_AUTHENTICATED)
    check(world.api.get(f"{ORGS}{uuid.uuid4()}", world.token("root")), 404, ORG_NOT_FOUND)
    r = world.api.get(f"{ORGS}not-a-uuid", world.token("owner"))
    check(r, 422)
    assert r.json["detail"][0]["loc"] == ["path", "org_id"]


# -- PATCH /organizations/{id} ----------------------------------------------------------------

RENAME = [
    ("owner", 200, None),
    ("admin", 200, None),
    ("root", 200, None),
    ("member", 403, FORBIDDEN),
    ("other", 404, ORG_NOT_FOUND),
    ("stranger", 404, ORG_NOT_FOUND),
]


@pytest.mark.parametrize(("who", "status", "detail"), RENAME)
def test_who_renames_an_organization(world: OrgWorld, who: str, status: int, detail: dict[str, Any] | None) -> None:
    before = world.api.get(f"{ORGS}{world.org}", world.token("owner")).json
    r = world.api.patch(f"{ORGS}{world.org}", {"name": "Renamed"}, world.token(who))
    check(r, status, detail)
    if status == 200:
        assert r.json["name"] == "Renamed"
        assert r.json["updated_at"] > before["updated_at"]
        assert {k: v for k, v in r.json.items() if k not in ("name", "updated_at")} == {
            k: v for k, v in before.items() if k not in ("name", "updated_at")
        }
        assert world.api.get(f"{ORGS}{world.org}", world.token("member")).json == r.json
    else:
        assert world.api.get(f"{ORGS}{world.org}", world.token("owner")).json == before


@pytest.mark.parametrize(
    ("body", "loc"),
    [({"name": ""}, ["body", "name"]), ({}, ["body", "name"]), ({"name": "X", "owner_id": "x"}, ["body", "owner_id"])],
)
def test_rename_validation(world: OrgWorld, body: dict[str, Any], loc: list[str]) -> None:
    r = world.api.patch(f"{ORGS}{world.org}", body, world.token("owner"))
    check(r, 422)
    assert [e["loc"] for e in r.json["detail"]] == [loc]
    assert org_name(world) == "Org"


def test_rename_without_a_token(world: OrgWorld) -> None:
    refused(world.api.patch(f"{ORGS}{world.org}", {"name": "Intruders"}), NOT_AUTHENTICATED)
    assert org_name(world) == "Org"


def test_a_renamed_organization_is_named_anew_in_its_invitations(world: OrgWorld) -> None:
    world.api.invite(world.token("owner"), world.org, world.emails["invitee"])
    check(world.api.patch(f"{ORGS}{world.org}", {"name": "Renamed"}, world.token("admin")), 200)
    r = world.api.get(f"{ME}/invitations", world.token("invitee"))
    assert [i["organization_name"] for i in r.json["data"]] == ["Renamed"]


# -- GET /organizations/{id}/members ----------------------------------------------------------


@pytest.mark.parametrize(("who", "status", "detail"), READ)
def test_who_lists_the_members(world: OrgWorld, who: str, status: int, detail: dict[str, Any] | None) -> None:
    r = world.api.get(f"{ORGS}{world.org}/members", world.token(who))
    check(r, status, detail)
    if status == 200:
        assert r.json["count"] == 3
        assert [(m["user_id"], m["email"], m["role"]) for m in r.json["data"]] == [
            (world.ids["owner"], world.emails["owner"], "owner"),
            (world.ids["admin"], world.emails["admin"], "admin"),
            (world.ids["member"], world.emails["member"], "member"),
        ]
        assert all(m["organization_id"] == world.org for m in r.json["data"])
    else:
        assert world.emails["member"].encode() not in r.raw


def test_members_are_paged(world: OrgWorld) -> None:
    joined = []
    for _ in range(4):
        user_id, _ = world.api.user()
        world.api.add_member(world.token("owner"), world.org, user_id)
        joined.append(user_id)
    everyone = [world.ids["owner"], world.ids["admin"], world.ids["member"], *joined]
    seen = []
    for skip in range(0, 9, 3):
        r = world.api.get(f"{ORGS}{world.org}/members?skip={skip}&limit=3", world.token("member"))
        check(r, 200)
        assert r.json["count"] == len(everyone)
        seen += [m["user_id"] for m in r.json["data"]]
    assert seen == everyone


@pytest.mark.parametrize(("query", "loc"), [("?limit=0", "limit"), ("?limit=1001", "limit"), ("?skip=-1", "skip")])
def test_member_paging_validation(world: OrgWorld, query: str, loc: str) -> None:
    r = world.api.get(f"{ORGS}{world.org}/members{query}", world.token("owner"))
    check(r, 422)
    assert [e["loc"] for e in r.json["detail"]] == [["query", loc]]


def test_members_without_a_token(world: OrgWorld) -> None:
    refused(world.api.get(f"{ORGS}{world.org}/members"), NOT_AUTHENTICATED)


# -- PATCH /organizations/{id}/members/{user_id} ----------------------------------------------

SET_ROLE = [
    ("owner", 200, None),
    ("admin", 200, None),
    ("root", 200, None),
    ("member", 403, FORBIDDEN),
    ("other", 404, ORG_NOT_FOUND),
    ("stranger", 404, ORG_NOT_FOUND),
]


@pytest.mark.parametrize(("who", "status", "detail"), SET_ROLE)
def test_who_changes_a_members_role(world: OrgWorld, who: str, status: int, detail: dict[str, Any] | None) -> None:
    r = world.api.patch(f"{ORGS}{world.org}/members/{world.ids['member']}", {"role": "admin"}, world.token(who))
    check(r, status, detail)
    if status == 200:
        assert r.json["role"] == "admin"
        assert r.json["user_id"] == world.ids["member"]
        assert roles(world)[world.ids["member"]] == "admin"
        # An admin now: may invite.
        check(world.api.post(f"{ORGS}{world.org}/invitations", {"email": "x@example.com"}, world.token("member")), 200)
    else:
        assert roles(world)[world.ids["member"]] == "member"


def test_an_admin_is_made_a_plain_member_again(world: OrgWorld) -> None:
    r = world.api.patch(f"{ORGS}{world.org}/members/{world.ids['admin']}", {"role": "member"}, world.token("owner"))
    check(r, 200)
    assert roles(world)[world.ids["admin"]] == "member"
    r = world.api.post(f"{ORGS}{world.org}/invitations", {"email": "x@example.com"}, world.token("admin"))
    check(r, 403, FORBIDDEN)


@pytest.mark.parametrize("who", ["owner", "admin", "root"])
def test_the_owner_stays_the_owner(world: OrgWorld, who: str) -> None:
    for role in ("member", "admin"):
        r = world.api.patch(f"{ORGS}{world.org}/members/{world.ids['owner']}", {"role": role}, world.token(who))
        check(r, 409, {"detail": "The organization's owner keeps the owner role"})
    assert roles(world)[world.ids["owner"]] == "owner"


def test_role_of_a_non_member_unknown_or_malformed(world: OrgWorld) -> None:
    path = f"{ORGS}{world.org}/members/"
    check(world.api.patch(path + world.ids["stranger"], {"role": "admin"}, world.token("owner")), 404, MEMBER_NOT_FOUND)
    check(world.api.patch(path + str(uuid.uuid4()), {"role": "admin"}, world.token("owner")), 404, MEMBER_NOT_FOUND)
    assert world.ids["stranger"] not in roles(world)
    for body, loc in (({"role": "owner"}, ["body", "role"]), ({}, ["body", "role"])):
        r = world.api.patch(path + world.ids["member"], body, world.token("owner"))
        check(r, 422)
        assert [e["loc"] for e in r.json["detail"]] == [loc]
    r = world.api.patch(path + "not-a-uuid", {"role": "admin"}, world.token("owner"))
    check(r, 422)
    assert r.json["detail"][0]["loc"] == ["path", "user_id"]
    refused(world.api.patch(path + world.ids["member"], {"role": "admin"}), NOT_AUTHENTICATED)
    assert roles(world)[world.ids["member"]] == "member"


# -- DELETE /organizations/{id}/members/me, and /members/{user_id} ----------------------------

LEAVE = [
    ("member", 200, None),
    ("admin", 200, None),
    ("owner", 409, {"detail": "The organization's owner cannot leave it"}),
    ("root", 404, MEMBER_NOT_FOUND),  # a superuser sees every organization, but is no member of this one
    ("other", 404, ORG_NOT_FOUND),
    ("stranger", 404, ORG_NOT_FOUND),
]


@pytest.mark.parametrize(("who", "status", "detail"), LEAVE)
def test_who_leaves(world: OrgWorld, who: str, status: int, detail: dict[str, Any] | None) -> None:
    before = roles(world)
    r = world.api.delete(f"{ORGS}{world.org}/members/me", world.token(who))
    check(r, status, detail)
    if status == 200:
        assert r.json == {"message": "You left the organization"}
        assert roles(world) == {k: v for k, v in before.items() if k != world.ids[who]}
        check(world.api.get(f"{ORGS}{world.org}", world.token(who)), 404, ORG_NOT_FOUND)
    else:
        assert roles(world) == before


def test_leave_without_a_token_or_malformed(world: OrgWorld) -> None:
    refused(world.api.delete(f"{ORGS}{world.org}/members/me"), NOT_AUTHENTICATED)
    r = world.api.delete(f"{ORGS}not-a-uuid/members/me", world.token("member"))
    check(r, 422)
    assert r.json["detail"][0]["loc"] == ["path", "org_id"]
    assert world.ids["member"] in roles(world)


def test_an_admin_removes_a_member_but_not_the_owner(world: OrgWorld) -> None:
    check(world.api.delete(f"{ORGS}{world.org}/members/{world.ids['member']}", world.token("admin")), 200)
    assert world.ids["member"] not in roles(world)
    r = world.api.delete(f"{ORGS}{world.org}/members/{world.ids['owner']}", world.token("admin"))
    check(r, 409, {"detail": "The organization's owner cannot be removed"})
    assert roles(world)[world.ids["owner"]] == "owner"


# -- PATCH /users/me --------------------------------------------------------------------------


def test_update_my_name_and_address(world: OrgWorld) -> None:
    api = world.api
    new_email = f"renamed-{uuid.uuid4().hex[:8]}@example.com"
    r = api.patch(ME, {"full_name": "New Name", "email": new_email.upper()}, world.token("member"))
    check(r, 200)
    assert r.json["full_name"] == "New Name"
    assert r.json["email"] == new_email
    assert api.get(ME, world.token("member")).json == r.json
    check(api.login(new_email, PASSWORD_OF_EVERYONE), 200)
    check(api.login(world.emails["member"], PASSWORD_OF_EVERYONE), 400, {"detail": "Incorrect email or password"})
    # The old address is free again; the new one is taken.
    old = {"email": world.emails["member"], "password": PASSWORD_OF_EVERYONE}
    check(api.post("/api/v1/users/", old, world.token("root")), 200)
    taken = {"email": new_email, "password": PASSWORD_OF_EVERYONE}
    check(api.post("/api/v1/users/", taken, world.token("root")), 400)
    # Members see the new address.
    members = api.get(f"{ORGS}{world.org}/members", world.token("owner")).json["data"]
    assert new_email in {m["email"] for m in members}


def test_update_only_what_is_sent(world: OrgWorld) -> None:
    api = world.api
    check(api.patch(ME, {"full_name": "Named"}, world.token("member")), 200)
    r = api.patch(ME, {}, world.token("member"))
    check(r, 200)
    assert (r.json["full_name"], r.json["email"]) == ("Named", world.emails["member"])
    r = api.patch(ME, {"full_name": None}, world.token("member"))
    check(r, 200)
    assert (r.json["full_name"], r.json["email"]) == (None, world.emails["member"])
    # The same address again is no change.
    r = api.patch(ME, {"email": world.emails["member"]}, world.token("member"))
    check(r, 200)
    check(api.login(world.emails["member"], PASSWORD_OF_EVERYONE), 200)


def test_an_address_someone_else_has_is_a_409(world: OrgWorld) -> None:
    before = world.api.get(ME, world.token("member")).json
    r = world.api.patch(ME, {"full_name": "X", "email": world.emails["stranger"]}, world.token("member"))
    check(r, 409, {"detail": "The user with this email already exists in the system."})
    assert world.api.get(ME, world.token("member")).json == before
    # The address is still its holder's: they sign in with it.
    login = world.api.login(world.emails["stranger"], PASSWORD_OF_EVERYONE)
    check(login, 200)
    assert world.api.get(ME, login.json["access_token"]).json["id"] == world.ids["stranger"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"email": None}, ["body", "email"]),
        ({"email": "not-an-address"}, ["body", "email"]),
        ({"full_name": "x" * 256}, ["body", "full_name"]),
        ({"is_superuser": True}, ["body", "is_superuser"]),
        ({"password": "password-456"}, ["body", "password"]),
    ],
)
def test_update_me_validation(world: OrgWorld, body: dict[str, Any], loc: list[str]) -> None:
    before = world.api.get(ME, world.token("member")).json
    r = world.api.patch(ME, body, world.token("member"))
    check(r, 422)
    assert [e["loc"] for e in r.json["detail"]] == [loc]
    assert world.api.get(ME, world.token("member")).json == before


def test_update_me_without_a_token(world: OrgWorld) -> None:
    refused(world.api.patch(ME, {"full_name": "Intruder"}), NOT_AUTHENTICATED)


# -- PATCH /users/me/password, POST /users/me/logout-all: token versions ----------------------


def test_a_password_change_revokes_every_older_token(world: OrgWorld) -> None:
    api = world.api
    email = world.emails["member"]
    second = api.login(email, PASSWORD_OF_EVERYONE).json["access_token"]
    body = {"current_password": PASSWORD_OF_EVERYONE, "new_password": "a-new-password"}
    r = api.patch(PASSWORD, body, world.token("member"))
    check(r, 200, {"message": "Password updated successfully"})
    for old in (world.token("member"), second):
        refused(api.get(ME, old), BAD_CREDENTIALS)
        refused(api.get(f"{ORGS}{world.org}", old), BAD_CREDENTIALS)
    check(api.login(email, PASSWORD_OF_EVERYONE), 400, {"detail": "Incorrect email or password"})
    fresh = api.login(email, "a-new-password")
    check(fresh, 200)
    assert api.get(ME, fresh.json["access_token"]).json["id"] == world.ids["member"]
    # Other users' tokens are not touched.
    check(api.get(ME, world.token("owner")), 200)


def test_guessing_the_current_password_counts_against_the_sign_in_limit(
    world: OrgWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token holder cannot guess the password without limit through the change route: its wrong
    guesses and sign-in's count together, and once the account's window is full both are refused."""
    from chalicelib.config import get_settings

    # One window throughout (the throttle's windows are aligned on the clock): a boundary crossed
    # mid-test would start the count again.
    monkeypatch.setattr("chalicelib.services.login_throttle.now", lambda: 1_800_000_000.0 + 100)
    api, email = world.api, world.emails["member"]
    limit = get_settings().login_max_failures
    wrong = {"current_password": "not-the-password", "new_password": "a-new-password"}
    for _ in range(limit - 1):
        check(api.patch(PASSWORD, wrong, world.token("member")), 400, {"detail": "Incorrect password"})
    check(api.login(email, "also-wrong"), 400, {"detail": "Incorrect email or password"})
    for refused_now in (
        api.patch(PASSWORD, {**wrong, "current_password": PASSWORD_OF_EVERYONE}, world.token("member")),
        api.login(email, PASSWORD_OF_EVERYONE),
    ):
        assert refused_now.status == 429, refused_now
        assert int(refused_now.headers["Retry-After"]) >= 1
    # Nothing changed: the right password still signs in once the window is over (not waited for here).
    assert api.get(ME, world.token("member")).status == 200


@pytest.mark.parametrize(
    ("current", "new", "detail"),
    [
        ("wrong-password", "a-new-password", "Incorrect password"),
        (PASSWORD_OF_EVERYONE, PASSWORD_OF_EVERYONE, "New password cannot be the same as the current one"),
    ],
)
def test_a_refused_password_change_changes_nothing(world: OrgWorld, current: str, new: str, detail: str) -> None:
    r = world.api.patch(PASSWORD, {"current_password": current, "new_password": new}, world.token("member"))
    check(r, 400, {"detail": detail})
    check(world.api.get(ME, world.token("member")), 200)
    check(world.api.login(world.emails["member"], PASSWORD_OF_EVERYONE), 200)
    check(world.api.login(world.emails["member"], new), 200 if new == PASSWORD_OF_EVERYONE else 400)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"current_password": PASSWORD_OF_EVERYONE, "new_password": "short"}, ["body", "new_password"]),
        ({"current_password": PASSWORD_OF_EVERYONE, "new_password": "x" * 129}, ["body", "new_password"]),
        ({"new_password": "a-new-password"}, ["body", "current_password"]),
        ({"current_password": "", "new_password": "a-new-password"}, ["body", "current_password"]),
    ],
)
def test_password_validation(world: OrgWorld, body: dict[str, Any], loc: list[str]) -> None:
    r = world.api.patch(PASSWORD, body, world.token("member"))
    check(r, 422)
    assert [e["loc"] for e in r.json["detail"]] == [loc]
    check(world.api.get(ME, world.token("member")), 200)


def test_password_change_without_a_token(world: OrgWorld) -> None:
    body = {"current_password": PASSWORD_OF_EVERYONE, "new_password": "a-new-password"}
    refused(world.api.patch(PASSWORD, body), NOT_AUTHENTICATED)
    check(world.api.login(world.emails["member"], PASSWORD_OF_EVERYONE), 200)


def test_logout_all_revokes_every_token_issued_so_far(world: OrgWorld) -> None:
    api = world.api
    second = api.login(world.emails["member"], PASSWORD_OF_EVERYONE).json["access_token"]
    r = api.post(LOGOUT_ALL, None, second)
    check(r, 200, {"message": "Signed out of every session"})
    for old in (world.token("member"), second):
        refused(api.get(ME, old), BAD_CREDENTIALS)
        refused(api.post(LOGOUT_ALL, None, old), BAD_CREDENTIALS)
    fresh = api.login(world.emails["member"], PASSWORD_OF_EVERYONE).json["access_token"]
    check(api.get(ME, fresh), 200)
    check(api.get(ME, world.token("owner")), 200)


def test_logout_all_without_a_token(world: OrgWorld) -> None:
    refused(world.api.post(LOGOUT_ALL), NOT_AUTHENTICATED)
    check(world.api.get(ME, world.token("member")), 200)


def test_a_token_from_before_versions_is_version_0(world: OrgWorld) -> None:
    """Tokens issued before this change carry no `ver`: valid until the first revocation."""
    claims = {"sub": world.ids["member"], "exp": datetime.now(UTC) + timedelta(hours=1)}
    legacy = jwt.encode(claims, os.environ["SECRET_KEY"], "HS256")
    check(world.api.get(ME, legacy), 200)
    check(world.api.post(LOGOUT_ALL, None, world.token("member")), 200)
    refused(world.api.get(ME, legacy), BAD_CREDENTIALS)


def test_a_token_with_a_version_of_another_kind_is_refused(world: OrgWorld) -> None:
    claims = {"sub": world.ids["member"], "ver": "0", "exp": datetime.now(UTC) + timedelta(hours=1)}
    refused(world.api.get(ME, jwt.encode(claims, os.environ["SECRET_KEY"], "HS256")), BAD_CREDENTIALS)


def test_a_deleted_users_token_is_a_401(world: OrgWorld) -> None:
    from chalicelib.store.users import UserRepository

    user = UserRepository().get(world.ids["member"])
    assert user is not None
    user.delete()
    refused(world.api.get(ME, world.token("member")), BAD_CREDENTIALS)
    refused(world.api.get(f"/api/v1/products/{uuid.uuid4()}", world.token("member")), BAD_CREDENTIALS)


def test_an_inactive_users_token_is_a_401(world: OrgWorld) -> None:
    from chalicelib.store.models import UserItem
    from chalicelib.store.users import UserRepository

    user = UserRepository().get(world.ids["member"])
    assert user is not None
    user.update(actions=[UserItem.is_active.set(False)])
    refused(world.api.get(ME, world.token("member")), BAD_CREDENTIALS)
    refused(world.api.get(f"{ORGS}{world.org}", world.token("member")), BAD_CREDENTIALS)


def test_an_expired_token_says_so(world: OrgWorld) -> None:
    expired = create_access_token(world.ids["member"], timedelta(seconds=-5))
    refused(world.api.get(ME, expired), TOKEN_EXPIRED)
    refused(world.api.get(f"{ORGS}{world.org}/members", expired), TOKEN_EXPIRED)
    # Expired and signed by a key that is not ours: not ours, whatever its date.
    claims = {"sub": world.ids["member"], "ver": 0, "exp": datetime.now(UTC) - timedelta(seconds=5)}
    refused(world.api.get(ME, jwt.encode(claims, "another-secret-that-is-long-enough-too", "HS256")), BAD_CREDENTIALS)


def at_once(names: tuple[str, ...], request: Callable[[str], Response]) -> dict[str, Response]:
    """Each name's request, all started together on threads of their own."""
    start = threading.Barrier(len(names))
    answers: dict[str, Response] = {}

    def run(name: str) -> None:
        start.wait()
        answers[name] = request(name)

    threads = [threading.Thread(target=run, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_two_users_racing_for_one_address_one_gets_it(world: OrgWorld, threaded_client: None) -> None:
    """The address's guard item decides, in the transaction that changes the address: never both."""
    api = world.api
    racers = ("member", "stranger")
    for round_ in range(5):
        address = f"wanted-{round_}-{uuid.uuid4().hex[:6]}@example.com"
        answers = at_once(racers, lambda who, address=address: api.patch(ME, {"email": address}, world.token(who)))
        assert sorted(r.status for r in answers.values()) == [200, 409], answers
        (winner,) = [who for who, r in answers.items() if r.status == 200]
        login = api.login(address, PASSWORD_OF_EVERYONE)
        check(login, 200)
        assert api.get(ME, login.json["access_token"]).json["id"] == world.ids[winner]
        world.emails[winner] = address
        for who in racers:
            assert api.get(ME, world.token(who)).json["email"] == world.emails[who]
            check(api.login(world.emails[who], PASSWORD_OF_EVERYONE), 200)


def test_a_profile_change_read_before_a_logout_all_does_not_undo_it(world: OrgWorld) -> None:
    """The user item is updated field by field, never put back whole as it was read."""
    from chalicelib.store.users import UserRepository

    users = UserRepository()
    read_before = users.get(world.ids["member"])
    assert read_before is not None
    check(world.api.post(LOGOUT_ALL, None, world.token("member")), 200)
    users.update_profile(read_before, full_name="Late", keep_full_name=False, email=None, now="2026-01-01T00:00:00Z")
    refused(world.api.get(ME, world.token("member")), BAD_CREDENTIALS)
    fresh = world.api.login(world.emails["member"], PASSWORD_OF_EVERYONE).json["access_token"]
    assert world.api.get(ME, fresh).json["full_name"] == "Late"
