"""GET /organizations/ pages: skip and limit, count of all the caller's organizations."""

from __future__ import annotations

import pytest

from tests.factories import Api


def _page(api: Api, token: str, query: str) -> tuple[list[str], int]:
    r = api.get(f"/api/v1/organizations/{query}", token)
    assert r.status == 200, r
    return [o["id"] for o in r.json["data"]], r.json["count"]


def test_pages_cover_every_organization_once_in_creation_order(api: Api) -> None:
    _, token = api.user()
    created = [api.org(token, f"Org {i}") for i in range(7)]
    other_id, other_token = api.user()
    # An organization the user joins later is listed by its creation, not the joining.
    joined = api.org(other_token, "Joined")
    api.add_member(other_token, joined, _member_id(api, token))
    foreign = api.org(other_token, "Not mine")
    expected = [*created, joined]

    seen: list[str] = []
    for skip in range(0, 12, 3):
        ids, count = _page(api, token, f"?skip={skip}&limit=3")
        assert count == len(expected)
        assert len(ids) == max(0, min(3, len(expected) - skip))
        seen.extend(ids)
    assert seen == expected
    assert foreign not in seen
    assert other_id not in seen

    everything, count = _page(api, token, "")
    assert everything == expected
    assert count == len(expected)


def _member_id(api: Api, token: str) -> str:
    r = api.get("/api/v1/users/me", token)
    assert r.status == 200, r
    return str(r.json["id"])


def test_defaults_and_bounds(api: Api) -> None:
    _, token = api.user()
    orgs = [api.org(token, f"Org {i}") for i in range(3)]
    assert _page(api, token, "?limit=1000") == (orgs, 3)
    assert _page(api, token, "?skip=2") == (orgs[2:], 3)
    assert _page(api, token, "?skip=3") == ([], 3)
    assert _page(api, token, "?skip=50&limit=1") == ([], 3)
    # Unknown parameters are ignored, as in the other lists.
    assert _page(api, token, "?limit=2&unknown=1") == (orgs[:2], 3)


def test_another_users_organizations_never_appear(api: Api) -> None:
    _, mine = api.user()
    _, theirs = api.user()
    my_org = api.org(mine, "Mine")
    their_orgs = {api.org(theirs, f"Theirs {i}") for i in range(3)}
    assert _page(api, mine, "?limit=1000") == ([my_org], 1)
    ids, count = _page(api, theirs, "?limit=1000")
    assert set(ids) == their_orgs
    assert count == 3


def test_no_organizations(api: Api) -> None:
    _, token = api.user()
    assert _page(api, token, "?skip=0&limit=10") == ([], 0)


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("?limit=0", ["query", "limit"]),
        ("?limit=1001", ["query", "limit"]),
        ("?limit=ten", ["query", "limit"]),
        ("?skip=-1", ["query", "skip"]),
        ("?skip=x", ["query", "skip"]),
    ],
)
def test_bad_paging_is_a_422(api: Api, query: str, loc: list[str]) -> None:
    _, token = api.user()
    r = api.get(f"/api/v1/organizations/{query}", token)
    assert r.status == 422, r
    assert [e["loc"] for e in r.json["detail"]] == [loc]


def test_paging_needs_a_token(api: Api) -> None:
    assert api.get("/api/v1/organizations/?limit=1").status == 401
