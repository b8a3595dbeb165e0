"""Catalog endpoints: brands, brand collections, seasons and years.

Tenancy (who sees which values), list semantics, the brand/collection registry, validation
and response shapes. The rules are the spec's (README Tenancy and Conventions tables, the
reference's brands/brand-collections/seasons/years sections).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from tests.factories import Api, Response
from tests.schema import assert_valid
from tests.support import harness

V1 = "/api/v1"
LISTS = ("brands", "brand-collections", "seasons", "years")
# The product field behind each list.
FIELD = {"brands": "brand", "brand-collections": "brand_collection", "seasons": "season", "years": "year"}
NOT_ENOUGH = {"detail": "Not enough permissions"}
BRAND_NOT_FOUND = {"detail": "Brand not found"}


# -- helpers ---------------------------------------------------------------------------------


def url(path: str, **params: Any) -> str:
    clean = {k: v for k, v in params.items() if v is not None}
    return f"{V1}{path}" + (f"?{urlencode(clean)}" if clean else "")


def _names_schema(item_type: str) -> dict[str, Any]:
    """BrandsPublic / SeasonsPublic / YearsPublic as the reference's schema table describes them."""
    return {
        "type": "object",
        "required": ["data", "count"],
        "properties": {
            "data": {"type": "array", "items": {"type": item_type}},
            "count": {"type": "integer"},
        },
    }


LIST_SCHEMAS: dict[str, dict[str, Any]] = {
    "brands": _names_schema("string"),
    "seasons": _names_schema("string"),
    "years": _names_schema("integer"),
}

_ENTITY_PROPS: dict[str, Any] = {
    "id": {"type": "string", "format": "uuid"},
    "name": {"type": "string"},
    "owner_id": {"type": "string", "format": "uuid"},
    "organization_id": {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
}
BRAND_PUBLIC: dict[str, Any] = {
    "type": "object",
    "required": list(_ENTITY_PROPS),
    "properties": _ENTITY_PROPS,
    "additionalProperties": False,
}
COLLECTION_PUBLIC: dict[str, Any] = {
    "type": "object",
    "required": [*_ENTITY_PROPS, "brand"],
    "properties": {**_ENTITY_PROPS, "brand": {"type": "string"}},
    "additionalProperties": False,
}


def check_schema(schema: dict[str, Any], body: Any) -> None:
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def check_list_body(name: str, body: Any) -> None:
    if name == "brand-collections":
        assert_valid("BrandCollectionsPublic", body)
    else:
        check_schema(LIST_SCHEMAS[name], body)
    assert body["count"] == len(body["data"]), body
    if name == "years":
        assert all(type(v) is int for v in body["data"]), body


def listing(api: Api, name: str, token: str, **params: Any) -> dict[str, Any]:
    """GET a list, check its status and shape, return the body."""
    r = api.get(url(f"/{name}/", **params), token)
    assert r.status == 200, (name, params, r)
    check_list_body(name, r.json)
    body: dict[str, Any] = r.json
    return body


def values(api: Api, name: str, token: str, **params: Any) -> list[Any]:
    data: list[Any] = listing(api, name, token, **params)["data"]
    return data


def create_brand(api: Api, token: str, name: str, org_id: str | None = None, via_query: bool = False) -> Response:
    body: dict[str, Any] = {"name": name}
    if org_id and not via_query:
        body["organization_id"] = org_id
    return api.post(url("/brands/", organization_id=org_id if via_query else None), body, token)


def brand(api: Api, token: str, name: str, org_id: str | None = None) -> dict[str, Any]:
    r = create_brand(api, token, name, org_id)
    assert r.status == 200, r
    check_schema(BRAND_PUBLIC, r.json)
    result: dict[str, Any] = r.json
    return result


def create_collection(
    api: Api, token: str, name: str, brand_name: str, org_id: str | None = None, via_query: bool = False
) -> Response:
    body: dict[str, Any] = {"name": name, "brand": brand_name}
    if org_id and not via_query:
        body["organization_id"] = org_id
    return api.post(url("/brand-collections/", organization_id=org_id if via_query else None), body, token)


def collection(api: Api, token: str, name: str, brand_name: str, org_id: str | None = None) -> dict[str, Any]:
    r = create_collection(api, token, name, brand_name, org_id)
    assert r.status == 200, r
    check_schema(COLLECTION_PUBLIC, r.json)
    result: dict[str, Any] = r.json
    return result


def expired_token(user_id: str) -> str:
    from chalicelib.services.security import create_access_token

    return create_access_token(user_id, timedelta(seconds=-5))


def assert_not_authenticated(r: Response) -> None:
    assert r.status == 401, r
    assert r.json == {"detail": "Not authenticated"}
    assert r.headers.get("www-authenticate", r.headers.get("WWW-Authenticate")) == "Bearer", r.headers


def assert_bad_credentials(r: Response) -> None:
    assert r.status == 401, r
    assert r.json == {"detail": "Could not validate credentials"}
    assert r.headers.get("www-authenticate", r.headers.get("WWW-Authenticate")) == "Bearer", r.headers


def assert_token_expired(r: Response) -> None:
    assert r.status == 401, r
    assert r.json == {"detail": "Token expired"}
    assert r.headers.get("www-authenticate", r.headers.get("WWW-Authenticate")) == "Bearer", r.headers


def assert_422(r: Response, loc: list[Any] | None = None, loc_prefix: str | None = None) -> None:
    assert r.status == 422, r
    detail = r.json["detail"]
    assert isinstance(detail, list) and detail, r
    for err in detail:
        assert {"type", "loc", "msg", "input"} <= set(err), err
    if loc is not None:
        assert loc in [e["loc"] for e in detail], r
    if loc_prefix is not None:
        assert all(e["loc"][0] == loc_prefix for e in detail), r


# -- a small world: an owner, a member of the owner's organization, an outsider with an organization of their own


@dataclass
class World:
    owner_id: str
    owner: str
    member_id: str
    member: str
    outsider_id: str
    outsider: str
    org: str
    other_org: str
    # list name -> who -> expected values (registered + product values), in listing order
    expected: dict[str, dict[str, list[Any]]] = field(default_factory=dict)


def _product_values(tag: str, year: int) -> dict[str, Any]:
    return {"brand": f"{tag}Brand", "brand_collection": f"{tag}Col", "season": f"{tag}Season", "year": year}


@pytest.fixture(scope="module")
def world_snapshot(_moto: None) -> tuple[list[Any], World]:
    """Built through the API once per module (its products link their images, so the world is
    DynamoDB items only); each test gets it copied back into the emptied table."""
    return harness.build_through_api(_build_world)


@pytest.fixture
def world(api: Api, world_snapshot: tuple[list[Any], World]) -> World:
    items, built = world_snapshot
    harness.restore(items)
    return copy.deepcopy(built)


def _build_world(api: Api) -> World:
    owner_id, owner = api.user()
    member_id, member = api.user()
    outsider_id, outsider = api.user()
    org = api.org(owner, "Org")
    api.add_member(owner, org, member_id)
    other_org = api.org(outsider, "Other Org")

    # Personal products of each user, products of each organization.
    api.product(owner, **_product_values("Owner", 2001))
    api.product(member, org_id=org, **_product_values("Org", 2002))
    api.product(member, **_product_values("Member", 2003))
    api.product(outsider, **_product_values("Outsider", 2004))
    api.product(outsider, org_id=other_org, **_product_values("OtherOrg", 2005))
    # A public product is readable by everyone but only counts in its owner's lists.
    api.product(outsider, public=True, **_product_values("Public", 2006))

    # Registered names, one per scope.
    brand(api, owner, "RegOwner")
    brand(api, member, "RegOrg", org)
    brand(api, outsider, "RegOutsider")
    collection(api, owner, "RegOwnerCol", "OwnerBrand")
    collection(api, member, "RegOrgCol", "OrgBrand", org)
    collection(api, outsider, "RegOutsiderCol", "OutsiderBrand")

    def scope(name: str, tags: list[str], years: list[int], reg: list[str]) -> list[Any]:
        if name == "years":
            return sorted(years, reverse=True)
        suffix = {"brands": "Brand", "brand-collections": "Col", "seasons": "Season"}[name]
        names = [f"{t}{suffix}" for t in tags]
        if name == "brands":
            names += reg
        if name == "brand-collections":
            names += [f"{r}Col" for r in reg]
        return sorted(names, key=str.lower)

    w = World(owner_id, owner, member_id, member, outsider_id, outsider, org, other_org)
    for name in LISTS:
        w.expected[name] = {
            "owner": scope(name, ["Owner"], [2001], ["RegOwner"]),
            "org": scope(name, ["Org"], [2002], ["RegOrg"]),
            "member": scope(name, ["Member"], [2003], []),
            "outsider": scope(name, ["Outsider", "Public"], [2004, 2006], ["RegOutsider"]),
            "other_org": scope(name, ["OtherOrg"], [2005], []),
        }
        w.expected[name]["all"] = (
            sorted({v for vs in w.expected[name].values() for v in vs}, reverse=True)
            if name == "years"
            else sorted({v for vs in w.expected[name].values() for v in vs}, key=str.lower)
        )
    return w


# -- tenancy of the lists --------------------------------------------------------------------


def test_list_tenancy(api: Api, world: World) -> None:
    failures = []
    for name in LISTS:
        exp = world.expected[name]
        cases: list[tuple[str, str, str | None, list[Any]]] = [
            ("owner, personal", world.owner, None, exp["owner"]),
            ("owner, own org", world.owner, world.org, exp["org"]),
            ("member, personal", world.member, None, exp["member"]),
            ("member, org", world.member, world.org, exp["org"]),
            ("outsider, personal", world.outsider, None, exp["outsider"]),
            ("outsider, own org", world.outsider, world.other_org, exp["other_org"]),
            ("superuser, every scope", api.admin_token, None, exp["all"]),
            ("superuser, org", api.admin_token, world.org, exp["org"]),
            ("superuser, other org", api.admin_token, world.other_org, exp["other_org"]),
        ]
        for label, token, org, expected in cases:
            r = api.get(url(f"/{name}/", organization_id=org), token)
            if r.status != 200:
                failures.append(f"{name}, {label}: expected 200, got {r}")
                continue
            check_list_body(name, r.json)
            if r.json["data"] != expected:
                failures.append(f"{name}, {label}: expected {expected}, got {r.json['data']}")
    assert not failures, "\n".join(failures)


def test_list_denied(api: Api, world: World) -> None:
    for name in LISTS:
        # Not a member of the organization named: 403, and nothing leaks.
        r = api.get(url(f"/{name}/", organization_id=world.org), world.outsider)
        assert r.status == 403, r
        assert r.json == NOT_ENOUGH
        r = api.get(url(f"/{name}/", organization_id=world.other_org), world.member)
        assert r.status == 403, r
        assert r.json == NOT_ENOUGH
        # An organization that does not exist is no better.
        r = api.get(url(f"/{name}/", organization_id=str(uuid.uuid4())), world.member)
        assert r.status == 403, r
        assert r.json == NOT_ENOUGH
        # No token, or not a Bearer token.
        assert_not_authenticated(api.get(url(f"/{name}/")))
        assert_not_authenticated(api.get(url(f"/{name}/"), headers={"Authorization": f"Basic {world.owner}"}))
        assert_not_authenticated(api.get(url(f"/{name}/", organization_id=world.org)))
        # Expired or forged token.
        assert_token_expired(api.get(url(f"/{name}/"), expired_token(world.owner_id)))
        assert_token_expired(api.get(url(f"/{name}/", organization_id=world.org), expired_token(world.owner_id)))
        assert_bad_credentials(api.get(url(f"/{name}/"), world.owner[:-4] + "AAAA"))


def test_collections_brand_filter_respects_scope(api: Api, world: World) -> None:
    # The brand filter never widens the scope.
    assert values(api, "brand-collections", world.owner, brand="orgbrand") == []
    assert values(api, "brand-collections", world.owner, brand="ORGBRAND", organization_id=world.org) == [
        "OrgCol",
        "RegOrgCol",
    ]
    assert values(api, "brand-collections", world.owner, brand="outsiderbrand") == []
    assert values(api, "brand-collections", world.outsider, brand="outsiderbrand") == [
        "OutsiderCol",
        "RegOutsiderCol",
    ]
    assert values(api, "brand-collections", api.admin_token, brand="ownerbrand") == ["OwnerCol", "RegOwnerCol"]
    r = api.get(url("/brand-collections/", brand="OrgBrand", organization_id=world.org), world.outsider)
    assert r.status == 403, r
    assert r.json == NOT_ENOUGH


def test_lists_of_a_new_user_are_empty(api: Api) -> None:
    _, token = api.user()
    for name in LISTS:
        body = listing(api, name, token)
        assert body["data"] == [] and body["count"] == 0, (name, body)
        assert body.get("counts") is None, (name, body)


# -- tenancy of the registry -----------------------------------------------------------------


def test_brand_by_id_tenancy(api: Api, world: World) -> None:
    personal = brand(api, world.owner, "Personal")
    in_org = brand(api, world.member, "In Org", world.org)
    assert personal["owner_id"] == world.owner_id and personal["organization_id"] is None
    assert in_org["owner_id"] == world.member_id and in_org["organization_id"] == world.org

    def get(brand_id: str, token: str) -> Response:
        return api.get(url(f"/brands/{brand_id}"), token)

    # Owner sees their own.
    r = get(personal["id"], world.owner)
    assert r.status == 200 and r.json == personal, r
    # Another user (even a fellow org member) does not see a personal brand.
    for token in (world.member, world.outsider):
        r = get(personal["id"], token)
        assert r.status == 404, r
        assert r.json == BRAND_NOT_FOUND
    # Members (and the org owner) see the organization's brand; a non-member does not.
    for token in (world.member, world.owner):
        r = get(in_org["id"], token)
        assert r.status == 200 and r.json == in_org, r
    r = get(in_org["id"], world.outsider)
    assert r.status == 404, r
    assert r.json == BRAND_NOT_FOUND
    # The superuser sees both.
    for b in (personal, in_org):
        r = get(b["id"], api.admin_token)
        assert r.status == 200 and r.json == b, r
    # Unknown id.
    r = get(str(uuid.uuid4()), world.owner)
    assert r.status == 404, r
    assert r.json == BRAND_NOT_FOUND
    # No token, expired token.
    assert_not_authenticated(api.get(url(f"/brands/{personal['id']}")))
    assert_token_expired(get(personal["id"], expired_token(world.owner_id)))


def test_brand_patch_tenancy(api: Api, world: World) -> None:
    personal = brand(api, world.owner, "Personal")
    in_org = brand(api, world.member, "In Org", world.org)

    def patch(brand_id: str, name: str, token: str | None) -> Response:
        return api.patch(url(f"/brands/{brand_id}"), {"name": name}, token)

    # Another user's brand: 404, and nothing changed.
    for token in (world.member, world.outsider):
        r = patch(personal["id"], "Hijacked", token)
        assert r.status == 404, r
        assert r.json == BRAND_NOT_FOUND
    r = patch(in_org["id"], "Hijacked", world.outsider)
    assert r.status == 404, r
    assert r.json == BRAND_NOT_FOUND
    assert_not_authenticated(patch(personal["id"], "Hijacked", None))
    assert_token_expired(patch(personal["id"], "Hijacked", expired_token(world.owner_id)))
    assert api.get(url(f"/brands/{personal['id']}"), world.owner).json == personal
    assert api.get(url(f"/brands/{in_org['id']}"), world.member).json == in_org
    assert "Hijacked" not in values(api, "brands", world.owner)
    assert "Hijacked" not in values(api, "brands", world.owner, organization_id=world.org)
    assert "Hijacked" not in values(api, "brands", api.admin_token)
    # Unknown id.
    r = patch(str(uuid.uuid4()), "Ghost", world.owner)
    assert r.status == 404, r
    assert r.json == BRAND_NOT_FOUND

    # The owner renames a personal brand; any member renames the organization's.
    r = patch(personal["id"], "Personal 2", world.owner)
    assert r.status == 200, r
    assert r.json["name"] == "Personal 2"
    r = patch(in_org["id"], "In Org 2", world.owner)
    assert r.status == 200, r
    assert r.json["name"] == "In Org 2"
    assert r.json["owner_id"] == world.member_id and r.json["organization_id"] == world.org
    # The superuser may rename anyone's.
    r = patch(personal["id"], "Personal 3", api.admin_token)
    assert r.status == 200, r
    assert r.json["owner_id"] == world.owner_id
    assert "Personal 3" in values(api, "brands", world.owner)


@pytest.mark.parametrize("kind", ["brands", "brand-collections"])
def test_create_tenancy(api: Api, world: World, kind: str) -> None:
    def create(token: str | None, name: str, org: str | None = None, via_query: bool = False) -> Response:
        body: dict[str, Any] = {"name": name} | ({"brand": "B"} if kind != "brands" else {})
        if org and not via_query:
            body["organization_id"] = org
        return api.post(url(f"/{kind}/", organization_id=org if via_query else None), body, token)

    schema = BRAND_PUBLIC if kind == "brands" else COLLECTION_PUBLIC
    # Personal.
    r = create(world.owner, "Mine")
    assert r.status == 200, r
    check_schema(schema, r.json)
    assert r.json["owner_id"] == world.owner_id and r.json["organization_id"] is None
    # In the organization, through the body or the query.
    for via_query, name in ((False, "Org A"), (True, "Org B")):
        r = create(world.member, name, world.org, via_query)
        assert r.status == 200, r
        check_schema(schema, r.json)
        assert r.json["owner_id"] == world.member_id and r.json["organization_id"] == world.org
    # Body and query naming different organizations.
    body = {"name": "Mismatch", "organization_id": world.org} | ({"brand": "B"} if kind != "brands" else {})
    r = api.post(url(f"/{kind}/", organization_id=world.other_org), body, world.member)
    assert r.status in (403, 422), r
    # Not a member: 403, both ways, and nothing is created.
    for via_query in (False, True):
        r = create(world.outsider, "Intruder", world.org, via_query)
        assert r.status == 403, r
        assert r.json == NOT_ENOUGH
        r = create(world.member, "Intruder", world.other_org, via_query)
        assert r.status == 403, r
        assert r.json == NOT_ENOUGH
    listed = "brands" if kind == "brands" else "brand-collections"
    assert "Intruder" not in values(api, listed, world.member, organization_id=world.org)
    assert "Intruder" not in values(api, listed, world.outsider, organization_id=world.other_org)
    assert "Intruder" not in values(api, listed, api.admin_token)
    # The superuser may create in any organization.
    r = create(api.admin_token, "Admin In Org", world.org)
    assert r.status == 200, r
    assert r.json["organization_id"] == world.org
    assert "Admin In Org" in values(api, listed, world.member, organization_id=world.org)
    # No token, expired token.
    assert_not_authenticated(create(None, "Anon"))
    assert_token_expired(create(expired_token(world.owner_id), "Expired"))
    # Registered names show up in the scope they were registered in, and only there.
    assert "Mine" in values(api, listed, world.owner)
    assert "Mine" not in values(api, listed, world.owner, organization_id=world.org)
    assert {"Org A", "Org B"} <= set(values(api, listed, world.owner, organization_id=world.org))
    assert not {"Org A", "Org B"} & set(values(api, listed, world.member))
    assert {"Mine", "Org A", "Org B", "Admin In Org"} <= set(values(api, listed, api.admin_token))


# -- list semantics ----------------------------------------------------------------------------


def test_alphabetical_case_insensitive_first_written(api: Api) -> None:
    _, token = api.user()
    for b, c, s in [
        ("banana", "zeta", "Winter"),
        ("Apple", "Alpha", "autumn"),
        ("cherry", "beta", "SPRING"),
        ("APPLE", "ALPHA", "spring"),
        ("apple", "alpha", "AUTUMN"),
        ("Banana", "Zeta", "winter"),
    ]:
        api.product(token, brand=b, brand_collection=c, season=s)
    assert values(api, "brands", token) == ["Apple", "banana", "cherry"]
    assert values(api, "brand-collections", token) == ["Alpha", "beta", "zeta"]
    assert values(api, "seasons", token) == ["autumn", "SPRING", "Winter"]
    # Upper- and lower-case initials interleave (not ASCII order).
    api.product(token, brand="Zebra")
    api.product(token, brand="adidas")
    assert values(api, "brands", token) == ["adidas", "Apple", "banana", "cherry", "Zebra"]
    # The superuser's view uses the same display.
    assert values(api, "brands", api.admin_token) == ["adidas", "Apple", "banana", "cherry", "Zebra"]


def test_first_written_display_of_a_registered_name(api: Api) -> None:
    _, token = api.user()
    brand(api, token, "Zara")
    api.product(token, brand="ZARA")
    api.product(token, brand="Mango")
    r = create_brand(api, token, "MANGO")
    # Registering a name that products already carry: listed once, the products' spelling first.
    assert r.status == 200, r
    assert values(api, "brands", token) == ["Mango", "Zara"]
    assert listing(api, "brands", token, with_counts="true")["counts"] == {"Mango": 1, "Zara": 1}
    collection(api, token, "Core", "Zara")
    api.product(token, brand="zara", brand_collection="CORE")
    assert values(api, "brand-collections", token) == ["Core"]
    assert values(api, "brand-collections", token, brand="ZARA") == ["Core"]


def test_display_after_a_value_disappeared(api: Api) -> None:
    """Once a value is gone, the next spelling written is the first-written one."""
    _, token = api.user()
    p = api.product(token, brand="Nike", season="Summer", brand_collection="Core")
    api.delete(url(f"/products/{p['id']}"), token)
    assert values(api, "brands", token) == []
    api.product(token, brand="NIKE", season="SUMMER", brand_collection="CORE")
    assert values(api, "brands", token) == ["NIKE"]
    assert values(api, "seasons", token) == ["SUMMER"]
    assert values(api, "brand-collections", token) == ["CORE"]


def test_null_empty_and_whitespace_excluded(api: Api) -> None:
    _, token = api.user()
    api.product(token)
    api.product(token, brand=None, brand_collection=None, season=None, year=None)
    api.product(token, brand="", brand_collection="", season="")
    api.product(token, brand="   ", brand_collection="\t", season=" \n ")
    for name in LISTS:
        assert listing(api, name, token)["data"] == [], name
        assert listing(api, name, token)["count"] == 0, name
        assert listing(api, name, token, with_counts="true").get("counts") in ({}, None), name
    assert values(api, "brands", api.admin_token) == []
    # Surrounding whitespace does not make a second value.
    api.product(token, brand=" Nike ", season="SS ")
    api.product(token, brand="nike", season="ss")
    brands = values(api, "brands", token)
    assert len(brands) == 1 and brands[0].strip().lower() == "nike", brands
    seasons = values(api, "seasons", token)
    assert len(seasons) == 1 and seasons[0].strip().lower() == "ss", seasons


def test_years_newest_first_as_integers(api: Api) -> None:
    _, token = api.user()
    for year in (1999, 2025, 2010, 2025, 2009, 2100):
        api.product(token, year=year)
    body = listing(api, "years", token)
    assert body["data"] == [2100, 2025, 2010, 2009, 1999]
    assert body["count"] == 5
    assert all(type(y) is int for y in body["data"])
    counts = listing(api, "years", token, with_counts="true")["counts"]
    assert counts == {"2100": 1, "2025": 2, "2010": 1, "2009": 1, "1999": 1}
    assert values(api, "years", api.admin_token) == [2100, 2025, 2010, 2009, 1999]


def test_brand_filter_on_collections(api: Api) -> None:
    _, token = api.user()
    api.product(token, brand="Nike", brand_collection="Run")
    api.product(token, brand="nike", brand_collection="Core")
    api.product(token, brand="Adidas", brand_collection="core")
    api.product(token, brand="Adidas", brand_collection="Originals")
    api.product(token, brand_collection="Loose")  # no brand
    collection(api, token, "Trail", "NIKE")
    for spelled in ("Nike", "nike", "NIKE", "nIkE"):
        assert values(api, "brand-collections", token, brand=spelled) == ["Core", "Run", "Trail"], spelled
    assert values(api, "brand-collections", token, brand="adidas") == ["core", "Originals"]
    assert values(api, "brand-collections", token, brand="Puma") == []
    # A prefix of a brand is not that brand.
    assert values(api, "brand-collections", token, brand="Nik") == []
    # Without a filter, a name shared by several brands is listed once.
    assert values(api, "brand-collections", token) == ["Core", "Loose", "Originals", "Run", "Trail"]
    counts = listing(api, "brand-collections", token, brand="ADIDAS", with_counts="true")["counts"]
    assert counts == {"core": 1, "Originals": 1}
    assert values(api, "brand-collections", api.admin_token, brand="NIKE") == ["Core", "Run", "Trail"]


def test_with_counts(api: Api) -> None:
    _, token = api.user()
    _, other = api.user()
    for b, s in [("Nike", "SS"), ("NIKE", "ss"), ("nike", "FW"), ("Adidas", "SS")]:
        api.product(token, brand=b, season=s, brand_collection="Core", year=2024)
    api.product(other, brand="Nike", season="SS", brand_collection="Core", year=2024)
    brand(api, token, "Zara")
    body = listing(api, "brands", token, with_counts="true")
    assert body["data"] == ["Adidas", "Nike", "Zara"]
    assert body["count"] == 3
    assert body["counts"] == {"Adidas": 1, "Nike": 3, "Zara": 0}
    assert listing(api, "seasons", token, with_counts="true")["counts"] == {"FW": 1, "SS": 3}
    assert listing(api, "brand-collections", token, with_counts="true")["counts"] == {"Core": 4}
    assert listing(api, "years", token, with_counts="true")["counts"] == {"2024": 4}
    # Every scope for the superuser: counts add up.
    admin = listing(api, "brands", api.admin_token, with_counts="1")
    assert admin["counts"] == {"Adidas": 1, "Nike": 4, "Zara": 0}
    assert listing(api, "years", api.admin_token, with_counts="true")["counts"] == {"2024": 5}
    # Off by default, and off when false.
    for params in ({}, {"with_counts": "false"}, {"with_counts": "0"}):
        assert listing(api, "brands", token, **params).get("counts") is None, params


def folded(values: list[Any]) -> set[Any]:
    return {v.lower() if isinstance(v, str) else v for v in values}


@pytest.mark.parametrize("how", ["deleted", "changed", "cleared"])
def test_value_disappears_with_its_last_product(api: Api, how: str) -> None:
    _, token = api.user()
    org_owner = token
    org = api.org(org_owner)
    a = api.product(token, brand="Nike", brand_collection="Core", season="SS", year=2020)
    b = api.product(token, brand="nike", brand_collection="core", season="ss", year=2020)
    o = api.product(token, org_id=org, brand="Nike", brand_collection="Core", season="SS", year=2020)
    expected: dict[str, list[Any]] = {
        "brands": ["Nike"],
        "brand-collections": ["Core"],
        "seasons": ["SS"],
        "years": [2020],
    }

    def drop(product: dict[str, Any], org_id: str | None = None) -> None:
        path = url(f"/products/{product['id']}", organization_id=org_id)
        if how == "deleted":
            r = api.delete(path, token)
        elif how == "changed":
            r = api.put(path, {"brand": "Puma", "brand_collection": "Other", "season": "FW", "year": 2030}, token)
        else:
            r = api.patch(path, {"brand": None, "brand_collection": "", "season": None, "year": None}, token)
        assert r.status == 200, r

    drop(a)
    # Another product still carries every value.
    for name in LISTS:
        assert set(expected[name]) <= set(values(api, name, token)), name
    drop(b)
    for name in LISTS:
        assert not set(expected[name]) & set(values(api, name, token)), (name, values(api, name, token))
        # ... but the organization's product still carries them there, and for the superuser.
        assert values(api, name, token, organization_id=org) == expected[name], name
        # The every-scope view merges ten shards: it shows a spelling still in use, not
        # necessarily the scope's first one (README, Facets).
        assert folded(expected[name]) <= folded(values(api, name, api.admin_token)), name
    drop(o, org)
    for name in LISTS:
        assert not set(expected[name]) & set(values(api, name, token, organization_id=org)), name
        assert not set(expected[name]) & set(values(api, name, api.admin_token)), name
    if how == "changed":
        assert values(api, "brands", token) == ["Puma"]
        assert values(api, "years", api.admin_token) == [2030]
    else:
        for name in LISTS:
            assert values(api, name, token) == [], name


def test_registered_name_stays_until_renamed(api: Api) -> None:
    _, token = api.user()
    z = brand(api, token, "Zara")
    collection(api, token, "Basics", "Zara")
    p = api.product(token, brand="Zara", brand_collection="Basics")
    assert api.delete(url(f"/products/{p['id']}"), token).status == 200
    # The product is gone; the registered names are not.
    assert values(api, "brands", token) == ["Zara"]
    assert values(api, "brand-collections", token) == ["Basics"]
    assert values(api, "brand-collections", token, brand="zara") == ["Basics"]
    assert values(api, "brands", api.admin_token) == ["Zara"]
    r = api.patch(url(f"/brands/{z['id']}"), {"name": "Zara Home"}, token)
    assert r.status == 200, r
    assert values(api, "brands", token) == ["Zara Home"]
    assert values(api, "brands", api.admin_token) == ["Zara Home"]
    assert listing(api, "brands", token, with_counts="true")["counts"] == {"Zara Home": 0}


def test_rename_keeps_product_values(api: Api) -> None:
    _, token = api.user()
    z = brand(api, token, "Zara")
    api.product(token, brand="zara")
    r = api.patch(url(f"/brands/{z['id']}"), {"name": "Mango"}, token)
    assert r.status == 200, r
    # The product still says zara.
    brands = values(api, "brands", token)
    assert [b.lower() for b in brands] == ["mango", "zara"], brands
    assert [b.lower() for b in values(api, "brands", api.admin_token)] == ["mango", "zara"]


def test_duplicates_conflict_per_scope(api: Api) -> None:
    _, owner = api.user()
    member_id, member = api.user()
    _, other = api.user()
    org = api.org(owner)
    api.add_member(owner, org, member_id)
    org2 = api.org(owner, "Second")

    first = brand(api, owner, "Zara")
    for spelled in ("Zara", "ZARA", "zara", "zArA"):
        r = create_brand(api, owner, spelled)
        assert r.status == 409, (spelled, r)
        assert isinstance(r.json["detail"], str)
    # The same name elsewhere is fine: another user, an organization, another organization.
    brand(api, other, "zara")
    brand(api, member, "ZARA", org)
    brand(api, owner, "Zara", org2)
    # ... but not twice in the same organization, whoever asks, body or query.
    for token, via_query in ((owner, False), (member, True), (api.admin_token, False)):
        r = create_brand(api, token, "zara", org, via_query)
        assert r.status == 409, r
    assert values(api, "brands", owner) == ["Zara"]
    assert values(api, "brands", owner, organization_id=org) == ["ZARA"]
    assert listing(api, "brands", owner, with_counts="true")["counts"] == {"Zara": 0}
    assert api.get(url(f"/brands/{first['id']}"), owner).json == first

    # Collections: per scope and per brand, case-insensitively on both.
    collection(api, owner, "Core", "Nike")
    for name, brand_name in (("Core", "Nike"), ("core", "NIKE"), ("CORE", "nike")):
        r = create_collection(api, owner, name, brand_name)
        assert r.status == 409, (name, brand_name, r)
        assert isinstance(r.json["detail"], str)
    collection(api, owner, "Core", "Adidas")
    collection(api, other, "Core", "Nike")
    collection(api, member, "core", "nike", org)
    r = create_collection(api, owner, "CORE", "Nike", org)
    assert r.status == 409, r
    assert values(api, "brand-collections", owner) == ["Core"]
    assert values(api, "brand-collections", owner, brand="adidas") == ["Core"]
    assert values(api, "brand-collections", owner, organization_id=org) == ["core"]


def test_rename_to_a_taken_name(api: Api) -> None:
    _, token = api.user()
    _, other = api.user()
    zara = brand(api, token, "Zara")
    mango = brand(api, token, "Mango")
    brand(api, other, "Puma")
    for taken in ("Zara", "ZARA", "zara"):
        r = api.patch(url(f"/brands/{mango['id']}"), {"name": taken}, token)
        assert r.status == 409, (taken, r)
        assert isinstance(r.json["detail"], str)
    # Nothing changed: the brand, the list, and both names are still taken.
    assert api.get(url(f"/brands/{mango['id']}"), token).json == mango
    assert api.get(url(f"/brands/{zara['id']}"), token).json == zara
    assert values(api, "brands", token) == ["Mango", "Zara"]
    assert listing(api, "brands", token, with_counts="true")["counts"] == {"Mango": 0, "Zara": 0}
    assert create_brand(api, token, "mango").status == 409
    assert create_brand(api, token, "zara").status == 409
    # A name taken only in another user's scope is free here.
    r = api.patch(url(f"/brands/{mango['id']}"), {"name": "Puma"}, token)
    assert r.status == 200, r
    assert values(api, "brands", token) == ["Puma", "Zara"]
    assert values(api, "brands", other) == ["Puma"]


def test_rename_frees_the_old_name(api: Api) -> None:
    _, token = api.user()
    z = brand(api, token, "Zara")
    r = api.patch(url(f"/brands/{z['id']}"), {"name": "Zara Home"}, token)
    assert r.status == 200, r
    check_schema(BRAND_PUBLIC, r.json)
    assert r.json["id"] == z["id"] and r.json["created_at"] == z["created_at"]
    assert r.json["owner_id"] == z["owner_id"] and r.json["organization_id"] is None
    assert r.json["updated_at"] >= z["updated_at"]
    assert api.get(url(f"/brands/{z['id']}"), token).json == r.json
    # The old name can be registered again; the new one is taken.
    again = brand(api, token, "zara")
    assert again["id"] != z["id"]
    assert create_brand(api, token, "ZARA HOME").status == 409
    assert [b.lower() for b in values(api, "brands", token)] == ["zara", "zara home"]
    # The new owner of the old name may rename too; the first brand may move back only once it is free.
    assert api.patch(url(f"/brands/{z['id']}"), {"name": "ZARA"}, token).status == 409
    assert api.patch(url(f"/brands/{again['id']}"), {"name": "Zara Kids"}, token).status == 200
    assert api.patch(url(f"/brands/{z['id']}"), {"name": "ZARA"}, token).status == 200
    assert create_brand(api, token, "zara").status == 409
    assert create_brand(api, token, "zara home").status == 200
    assert [b.lower() for b in values(api, "brands", token)] == ["zara", "zara home", "zara kids"]
    assert [b.lower() for b in values(api, "brands", api.admin_token)] == ["zara", "zara home", "zara kids"]


def test_a_registered_name_is_listed_as_currently_spelled(api: Api) -> None:
    """After renames, the lists show the names as they are now, not a spelling no brand carries."""
    _, token = api.user()
    z = brand(api, token, "Zara")
    assert api.patch(url(f"/brands/{z['id']}"), {"name": "Zara Home"}, token).status == 200
    again = brand(api, token, "zara")
    seen = {"owner": values(api, "brands", token), "superuser": values(api, "brands", api.admin_token)}
    assert api.patch(url(f"/brands/{again['id']}"), {"name": "Zara Kids"}, token).status == 200
    assert api.patch(url(f"/brands/{z['id']}"), {"name": "ZARA"}, token).status == 200
    seen_after = {"owner": values(api, "brands", token), "superuser": values(api, "brands", api.admin_token)}
    assert seen == {"owner": ["zara", "Zara Home"], "superuser": ["zara", "Zara Home"]}
    assert seen_after == {"owner": ["ZARA", "Zara Kids"], "superuser": ["ZARA", "Zara Kids"]}


def test_rename_case_only_and_same_name(api: Api) -> None:
    _, token = api.user()
    z = brand(api, token, "zara")
    r = api.patch(url(f"/brands/{z['id']}"), {"name": "zara"}, token)
    assert r.status == 200, r
    assert r.json["name"] == "zara"
    r = api.patch(url(f"/brands/{z['id']}"), {"name": "ZARA"}, token)
    assert r.status == 200, r
    assert r.json["name"] == "ZARA"
    assert api.get(url(f"/brands/{z['id']}"), token).json["name"] == "ZARA"
    assert create_brand(api, token, "Zara").status == 409
    assert values(api, "brands", token) == ["ZARA"]
    assert values(api, "brands", api.admin_token) == ["ZARA"]


def test_names_with_special_characters(api: Api) -> None:
    _, token = api.user()
    names = ["a#b", "a", "100%", "100%25", "a/b", "a%2Fb", "Café", "日本", "a b", "BRAND#x"]
    created = {n: brand(api, token, n) for n in names}
    for n, b in created.items():
        r = api.get(url(f"/brands/{b['id']}"), token)
        assert r.status == 200 and r.json["name"] == n, r
    assert values(api, "brands", token) == sorted(names, key=lambda s: (s.lower(), s))
    # Unicode is compared case-insensitively too.
    assert create_brand(api, token, "CAFÉ").status == 409
    assert create_brand(api, token, "café").status == 409
    assert create_brand(api, token, "Cafe").status == 200
    # Collections: brand "a#b" + "c" is not brand "a" + "b#c".
    collection(api, token, "c", "a#b")
    collection(api, token, "b#c", "a")
    collection(api, token, "x", "100%")
    collection(api, token, "y", "a/b")
    assert values(api, "brand-collections", token, brand="a") == ["b#c"]
    assert values(api, "brand-collections", token, brand="A#B") == ["c"]
    assert values(api, "brand-collections", token, brand="100%") == ["x"]
    assert values(api, "brand-collections", token, brand="100%25") == []
    assert values(api, "brand-collections", token, brand="a/b") == ["y"]
    assert values(api, "brand-collections", token, brand="a%2Fb") == []
    assert create_collection(api, token, "C", "A#B").status == 409
    assert create_collection(api, token, "c", "a").status == 200
    assert create_collection(api, token, "b#c", "a#b").status == 200
    # The same from products.
    _, other = api.user()
    api.product(other, brand="a#b", brand_collection="c", season="Été #1")
    api.product(other, brand="a", brand_collection="b#c", season="été #1")
    api.product(other, brand="50%", brand_collection="x/y", season="50%")
    assert values(api, "brands", other) == ["50%", "a", "a#b"]
    assert values(api, "brand-collections", other, brand="a") == ["b#c"]
    assert values(api, "brand-collections", other, brand="a#b") == ["c"]
    assert values(api, "brand-collections", other, brand="50%") == ["x/y"]
    assert values(api, "seasons", other) == ["50%", "Été #1"]


# -- validation ----------------------------------------------------------------------------------


def test_create_brand_validation(api: Api) -> None:
    _, token = api.user()
    for body in ({"name": ""}, {"name": "   "}, {"name": "\t\n"}, {}, {"name": None}, {"name": 12}):
        r = api.post(url("/brands/"), body, token)
        assert_422(r, ["body", "name"])
    assert_422(api.post(url("/brands/"), {"name": "x" * 1001}, token), ["body", "name"])
    assert api.post(url("/brands/"), {"name": "x" * 1000}, token).status == 200
    assert_422(api.post(url("/brands/"), {"name": "Extra", "foo": 1}, token), ["body", "foo"])
    assert_422(api.post(url("/brands/"), {"name": "Extra", "owner_id": str(uuid.uuid4())}, token), ["body", "owner_id"])
    assert_422(
        api.post(url("/brands/"), {"name": "Bad org", "organization_id": "nope"}, token), ["body", "organization_id"]
    )
    assert_422(
        api.post(url("/brands/", organization_id="nope"), {"name": "Bad org"}, token), ["query", "organization_id"]
    )
    assert_422(api.post(url("/brands/"), ["Zara"], token), loc_prefix="body")
    for raw in ("{bad json", '{"name": "x",}', "", "null"):
        r = api.call("POST", url("/brands/"), token, raw=raw)
        assert_422(r, loc_prefix="body")
    # Nothing was created by any of those.
    assert values(api, "brands", token) == ["x" * 1000]
    # Authentication comes first.
    assert_not_authenticated(api.call("POST", url("/brands/"), None, raw="{bad json"))


def test_update_brand_validation(api: Api) -> None:
    _, token = api.user()
    z = brand(api, token, "Zara")
    path = url(f"/brands/{z['id']}")
    for body in ({"name": ""}, {"name": "  "}, {}, {"name": None}):
        assert_422(api.patch(path, body, token), ["body", "name"])
    assert_422(api.patch(path, {"name": "y" * 1001}, token), ["body", "name"])
    assert_422(
        api.patch(path, {"name": "Zara 2", "organization_id": str(uuid.uuid4())}, token), ["body", "organization_id"]
    )
    assert_422(api.patch(path, {"name": "Zara 2", "foo": "bar"}, token), ["body", "foo"])
    assert_422(api.call("PATCH", path, token, raw="{nope"), loc_prefix="body")
    assert api.get(path, token).json == z
    assert values(api, "brands", token) == ["Zara"]


def test_bad_uuid_path(api: Api) -> None:
    _, token = api.user()
    for method in ("GET", "PATCH"):
        for bad in ("not-a-uuid", "123", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"):
            r = api.call(method, url(f"/brands/{bad}"), token, body={"name": "X"} if method == "PATCH" else None)
            assert_422(r, ["path", "id"])
            entry = next(e for e in r.json["detail"] if e["loc"] == ["path", "id"])
            assert entry["input"] == bad
            assert entry["type"] == "uuid_parsing"


def test_create_collection_validation(api: Api) -> None:
    _, token = api.user()
    path = url("/brand-collections/")
    for body in ({"name": "", "brand": "Nike"}, {"name": "  ", "brand": "Nike"}, {"brand": "Nike"}):
        assert_422(api.post(path, body, token), ["body", "name"])
    for body in ({"name": "Core", "brand": ""}, {"name": "Core", "brand": "   "}, {"name": "Core"}):
        assert_422(api.post(path, body, token), ["body", "brand"])
    assert_422(api.post(path, {"name": "c" * 256, "brand": "Nike"}, token), ["body", "name"])
    assert_422(api.post(path, {"name": "Core", "brand": "b" * 1001}, token), ["body", "brand"])
    assert_422(api.post(path, {"name": "Core", "brand": "Nike", "season": "SS"}, token), ["body", "season"])
    assert_422(api.call("POST", path, token, raw="[1, 2"), loc_prefix="body")
    assert values(api, "brand-collections", token) == []


@pytest.mark.parametrize("char", ["x", "#", "é"])
def test_longest_valid_names(api: Api, char: str) -> None:
    """Names at the maximum length are accepted (never a 500), whatever characters they use."""
    _, token = api.user()
    _, other = api.user()
    failures: list[str] = []

    def expect(label: str, r: Response, status: int = 200) -> bool:
        if r.status != status:
            failures.append(f"{label}: expected {status}, got {r.status} {r.raw[:80]!r}")
            return False
        return True

    long_brand, long_collection = char * 1000, char * 255
    b = create_brand(api, token, long_brand)
    if expect("POST /brands/ name=1000 chars", b):
        expect("POST /brands/ same name upper-cased", create_brand(api, token, long_brand.upper()), 409)
        r = api.patch(url(f"/brands/{b.json['id']}"), {"name": char * 999}, token)
        if expect("PATCH /brands/{id} name=999 chars", r) and values(api, "brands", token) != [char * 999]:
            failures.append(f"brands list after rename: {values(api, 'brands', token)}")
    c = create_collection(api, token, long_collection, long_brand)
    if expect("POST /brand-collections/ name=255 chars, brand=1000 chars", c):
        listed = values(api, "brand-collections", token, brand=long_brand)
        if listed != [long_collection]:
            failures.append(f"collections of the long brand: {listed}")
    body = {"name": "Long", "cover_image": "https://example.com/i.jpg"}
    r = api.post(url("/products/"), {**body, "brand": long_brand, "brand_collection": long_collection}, other)
    if expect("POST /products/ brand=1000 chars, brand_collection=255 chars", r):
        if values(api, "brands", other) != [long_brand]:
            failures.append("the product's long brand is not listed")
        if values(api, "brand-collections", other, brand=long_brand) != [long_collection]:
            failures.append("the product's long collection is not listed")
    assert not failures, "\n".join(failures)


def test_list_query_validation(api: Api) -> None:
    _, token = api.user()
    for name in LISTS:
        for bad in ("notabool", "2", "yes please"):
            assert_422(api.get(url(f"/{name}/", with_counts=bad), token), ["query", "with_counts"])
        assert_422(api.get(url(f"/{name}/", organization_id="not-a-uuid"), token), ["query", "organization_id"])


# -- response shapes -----------------------------------------------------------------------------


def test_response_shapes(api: Api) -> None:
    user_id, token = api.user()
    org = api.org(token)
    b = brand(api, token, "Zara")
    assert set(b) == {"id", "name", "owner_id", "organization_id", "created_at", "updated_at"}
    assert b["name"] == "Zara" and b["owner_id"] == user_id and b["organization_id"] is None
    assert b["created_at"] == b["updated_at"]
    ob = brand(api, token, "Org Zara", org)
    assert ob["organization_id"] == org
    c = collection(api, token, "Core", "Zara")
    assert set(c) == {"id", "name", "brand", "owner_id", "organization_id", "created_at", "updated_at"}
    assert c["name"] == "Core" and c["brand"] == "Zara" and c["owner_id"] == user_id
    oc = collection(api, token, "Core", "Zara", org)
    assert oc["organization_id"] == org and oc["id"] != c["id"]
    r = api.get(url(f"/brands/{b['id']}"), token)
    assert r.status == 200 and r.headers.get("Content-Type", r.headers.get("content-type")) == "application/json"
    check_schema(BRAND_PUBLIC, r.json)
    api.product(token, brand="Nike", brand_collection="Run", season="SS", year=2024)
    for name in LISTS:
        body = listing(api, name, token)
        assert set(body) - {"counts"} == {"data", "count"}, body
        body = listing(api, name, token, organization_id=org)
        assert set(body) - {"counts"} == {"data", "count"}, body
        counted = listing(api, name, token, with_counts="true")
        assert set(counted["counts"]) == {str(v) for v in counted["data"]}
        assert all(type(n) is int for n in counted["counts"].values())
