"""Facet counters against a recount: a hypothesis state machine drives random product writes.

Two users, A and B, and an organization owned by A with B as a member. The steps, through the
API: create a product (personal or in the organization), update its brand, brand collection,
season and year (mixed case, padded, blank, null), move it into the organization (by its owner)
or out of it (by the organization's owner; B is refused), archive or unarchive it, delete it,
register a brand or a collection, rename a registered brand.

The test keeps each product's JSON as the API answered it and, after every step, recounts
what GET /brands/, /brand-collections/ (with and without a brand filter), /seasons/ and
/years/ with with_counts=true must answer in the views: A's and B's personal scopes, the
organization's scope and the superuser's all-scopes view (see `facets_match_recount` for
which of them each step checks).

Each hypothesis example starts on an emptied table and buckets (the session's moto, emptied in
the machine's __init__), so examples never see each other's data. The number of examples and
steps comes from the hypothesis profile (tests/support/profiles.py: `ci` by default,
HYPOTHESIS_PROFILE=deep for more); FACETS_MAX_EXAMPLES and FACETS_STEPS override them.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.factories import Api
from tests.support import harness
from tests.support.profiles import scaled

# Small pools of mixed case, with None, the empty string and whitespace-only strings (which
# count as "no value") and padded spellings (which count as the stripped value).
# A '#' in a value must not forge a key boundary ("Nike#Run" is not a collection of "Nike").
BRANDS: list[str | None] = ["Nike", "nike", " NIKE ", "Adidas", "adidas\t", "Nike#Run", "", "   ", None]
COLLECTIONS: list[str | None] = ["Core", "core ", "CORE", "Run", " run", "Zeta", "", "  ", None]
SEASONS: list[str | None] = ["SS24", "ss24", " Ss24 ", "Été", "ÉTÉ", "", " \t ", None]
YEARS: list[int | None] = [2024, 2025, 1999, 2200, None]
# Names for the registry (blank names are refused with 422 there, so none here).
REGISTER_BRANDS = ["Nike", "nIKE", "Puma", "PUMA ", "Zara"]
REGISTER_COLLECTIONS = ["Core", "Trail", "trail", "Zeta"]
FACET_LISTS = (
    ("brand", "/api/v1/brands/"),
    ("collection", "/api/v1/brand-collections/"),
    ("season", "/api/v1/seasons/"),
    ("year", "/api/v1/years/"),
)
# Every that many steps the invariant checks every list of every view (else a part of them).
FULL_CHECK_EVERY = 8
# Brand filters of GET /brand-collections/, taken in turn after each step.
# A blank filter is no filter.
BRAND_FILTERS = ["nike", "NIKE", " Adidas ", "nike#run", "puma", "Nobody", "  "]

FACET_FIELDS = ("brand", "brand_collection", "season", "year")
FIELD_VALUES: dict[str, list[Any]] = {
    "brand": list(BRANDS),
    "brand_collection": list(COLLECTIONS),
    "season": list(SEASONS),
    "year": list(YEARS),
}


def clean(value: Any) -> str | None:
    """A facet value as the lists show it: stripped, or absent when blank."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


facet_updates = st.fixed_dictionaries(
    {},
    optional={name: st.sampled_from(values) for name, values in FIELD_VALUES.items()},
).filter(bool)
actors = st.sampled_from(["A", "B"])
facet_creates = st.fixed_dictionaries({}, optional={name: st.sampled_from(v) for name, v in FIELD_VALUES.items()})


@dataclass
class Expected:
    """What one facet list must answer: lower-cased value -> product count."""

    counts: Counter[str] = field(default_factory=Counter)
    registered: set[str] = field(default_factory=set)

    def keys(self) -> set[str]:
        return {k for k, n in self.counts.items() if n > 0} | self.registered


def recount(products: Iterable[dict[str, Any]], facet: str, brand: str | None = None) -> Expected:
    """Count one facet over products (their public JSON): lower-cased stripped value -> products.

    `brand` (collections only): only the products of that brand, compared case-insensitively.
    """
    out = Expected()
    brand_key = (clean(brand) or "").lower() or None
    field_name = {"brand": "brand", "collection": "brand_collection", "season": "season", "year": "year"}[facet]
    for p in products:
        if facet == "year":
            if p["year"] is not None:
                out.counts[str(int(p["year"]))] += 1
            continue
        value = clean(p[field_name])
        if value is None:
            continue
        if facet == "collection" and brand_key is not None and (clean(p["brand"]) or "").lower() != brand_key:
            continue
        out.counts[value.lower()] += 1
    return out


def assert_facet_list(
    api: Api,
    path: str,
    token: str,
    org: str | None,
    expected: Expected,
    what: str,
    *,
    brand: str | None = None,
    spellings: dict[str, set[str]] | None = None,
) -> None:
    """GET one list with counts and compare it with a recount.

    Values are compared case-insensitively (each listed once, stripped, and, given
    `spellings`, spelled as some product or registration wrote it); counts exactly; names in
    case-insensitive alphabetical order, years newest first.
    """
    params: dict[str, str] = {"with_counts": "true"}
    if org:
        params["organization_id"] = org
    if brand is not None:
        params["brand"] = brand
    r = api.get(f"{path}?{urlencode(params)}", token)
    assert r.status == 200, (what, r)
    body = r.json
    data, counts = body["data"], body["counts"]
    assert body["count"] == len(data), (what, body)
    keys = expected.keys()
    if path.endswith("/years/"):
        assert data == sorted((int(k) for k in keys), reverse=True), (what, data, keys)
        got = {int(k): n for k, n in counts.items()}
        want = {int(k): expected.counts.get(k, 0) for k in keys}
        assert got == want, (what, got, want)
        return
    lowered = [v.lower() for v in data]
    assert len(set(lowered)) == len(lowered), (what, "a value listed twice", data)
    assert lowered == sorted(keys), (what, data, sorted(keys))
    for value in data:
        assert value == value.strip(), (what, "unstripped value", value)
        if spellings is not None:
            assert value in spellings.get(value.lower(), set()), (what, "never written that way", value)
    assert set(counts) == set(data), (what, counts, data)
    got_counts = {k.lower(): n for k, n in counts.items()}
    want_counts = {k: expected.counts.get(k, 0) for k in keys}
    assert got_counts == want_counts, (what, got_counts, want_counts)


@dataclass
class Registration:
    scope: str
    facet: str  # "brand" or "collection"
    name: str
    brand: str | None = None
    entity_id: str = ""


class FacetMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        from chalice.test import Client

        from app import app

        harness.start()
        harness.reset_data()
        self.api = Api(Client(app))
        self.admin = self.api.admin_token
        self.users: dict[str, tuple[str, str]] = {"A": self.api.user(), "B": self.api.user()}
        self.org = self.api.org(self.token("A"), "Facets")
        self.api.add_member(self.token("A"), self.org, self.user_id("B"))
        self.products: dict[str, dict[str, Any]] = {}
        self.registrations: list[Registration] = []
        # Every spelling ever written, by lower-cased value: a listed value must be one of them.
        self.spellings: dict[str, set[str]] = {}
        self.steps = 0
        # The scopes written to since the last check.
        self.touched: set[str] = set()

    # -- helpers -------------------------------------------------------------------------

    def token(self, actor: str) -> str:
        return self.users[actor][1]

    def user_id(self, actor: str) -> str:
        return self.users[actor][0]

    def scope_of(self, product: dict[str, Any]) -> str:
        return f"ORG#{product['organization_id']}" if product["organization_id"] else f"USER#{product['owner_id']}"

    def personal(self, actor: str) -> str:
        return f"USER#{self.user_id(actor)}"

    def writers(self, product: dict[str, Any]) -> list[str]:
        """Who may write the product: its owner when personal, either member in the org."""
        if product["organization_id"]:
            return ["A", "B"]
        return [a for a in self.users if self.user_id(a) == product["owner_id"]]

    def remember_spellings(self, values: Iterable[Any]) -> None:
        for value in values:
            text = clean(value)
            if text is not None:
                self.spellings.setdefault(text.lower(), set()).add(text)

    def keep(self, product: dict[str, Any]) -> None:
        old = self.products.get(product["id"])
        if old is not None:
            self.touched.add(self.scope_of(old))
        self.touched.add(self.scope_of(product))
        self.products[product["id"]] = product
        self.remember_spellings(product.get(f) for f in ("brand", "brand_collection", "season"))

    def pick(self, data: st.DataObject, org: bool | None = None) -> dict[str, Any]:
        # In creation order (never by id: ids are random, and a replayed example must pick the same).
        ids = [pid for pid, p in self.products.items() if org is None or bool(p["organization_id"]) == org]
        return self.products[data.draw(st.sampled_from(ids), label="product")]

    def has_products(self, org: bool | None = None) -> bool:
        return any(org is None or bool(p["organization_id"]) == org for p in self.products.values())

    # -- rules ---------------------------------------------------------------------------

    def create_product(self, actor: str, in_org: bool, fields: dict[str, Any]) -> None:
        path = "/api/v1/products/" + (f"?organization_id={self.org}" if in_org else "")
        body = {"name": "Shirt", "cover_image": "https://example.com/a.jpg", **fields}
        r = self.api.post(path, body, self.token(actor))
        assert r.status == 200, r
        assert r.json["organization_id"] == (self.org if in_org else None)
        self.keep(r.json)

    # Products are created a few at a time, so that the other rules find some to work on.
    @initialize(new=st.lists(st.tuples(actors, st.booleans(), facet_creates), min_size=2, max_size=5))
    def start_with_products(self, new: list[tuple[str, bool, dict[str, Any]]]) -> None:
        for actor, in_org, fields in new:
            self.create_product(actor, in_org, fields)

    @rule(new=st.lists(st.tuples(actors, st.booleans(), facet_creates), min_size=1, max_size=3))
    def create(self, new: list[tuple[str, bool, dict[str, Any]]]) -> None:
        for actor, in_org, fields in new:
            self.create_product(actor, in_org, fields)

    @precondition(lambda self: self.has_products())
    @rule(data=st.data(), fields=facet_updates)
    def update(self, data: st.DataObject, fields: dict[str, Any]) -> None:
        product = self.pick(data)
        actor = data.draw(st.sampled_from(self.writers(product)), label="actor")
        r = self.api.put(f"/api/v1/products/{product['id']}", fields, self.token(actor))
        assert r.status == 200, r
        for name, value in fields.items():
            assert r.json[name] == value, (name, r.json[name], value)
        self.keep(r.json)

    @precondition(lambda self: self.has_products(org=False))
    @rule(data=st.data(), fields=facet_creates)
    def transfer_to_org(self, data: st.DataObject, fields: dict[str, Any]) -> None:
        """Personal -> organization, by the product's owner, possibly changing values at once."""
        product = self.pick(data, org=False)
        (actor,) = self.writers(product)
        r = self.api.put(
            f"/api/v1/products/{product['id']}", {**fields, "organization_id": self.org}, self.token(actor)
        )
        assert r.status == 200, r
        assert r.json["organization_id"] == self.org
        self.keep(r.json)

    @precondition(lambda self: self.has_products(org=True))
    @rule(data=st.data(), fields=facet_creates)
    def transfer_to_personal(self, data: st.DataObject, fields: dict[str, Any]) -> None:
        """Organization -> personal, by the organization's owner, whose personal product it becomes."""
        product = self.pick(data, org=True)
        r = self.api.put(f"/api/v1/products/{product['id']}", {**fields, "organization_id": None}, self.token("A"))
        assert r.status == 200, r
        assert r.json["organization_id"] is None
        assert r.json["owner_id"] == self.user_id("A")
        self.keep(r.json)

    @precondition(lambda self: self.has_products(org=True))
    @rule(data=st.data(), fields=facet_creates)
    def transfer_refused(self, data: st.DataObject, fields: dict[str, Any]) -> None:
        """A member who does not own the organization may not move a product out: nothing changes."""
        product = self.pick(data, org=True)
        r = self.api.put(f"/api/v1/products/{product['id']}", {**fields, "organization_id": None}, self.token("B"))
        assert r.status == 403, r
        self.touched.update({self.scope_of(product), f"USER#{product['owner_id']}"})

    @precondition(lambda self: self.has_products())
    @rule(data=st.data())
    def toggle_archived(self, data: st.DataObject) -> None:
        product = self.pick(data)
        actor = data.draw(st.sampled_from(self.writers(product)), label="actor")
        archived = not product["archived"]
        r = self.api.patch(
            f"/api/v1/products/{product['id']}/archived?archived={str(archived).lower()}", None, self.token(actor)
        )
        assert r.status == 200, r
        assert r.json["archived"] is archived
        self.keep(r.json)

    @precondition(lambda self: self.has_products())
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        product = self.pick(data)
        actor = data.draw(st.sampled_from(self.writers(product)), label="actor")
        r = self.api.delete(f"/api/v1/products/{product['id']}", self.token(actor))
        assert r.status == 200, r
        del self.products[product["id"]]
        self.touched.add(self.scope_of(product))
        assert self.api.get(f"/api/v1/products/{product['id']}", self.admin).status == 404

    def _registration_scope(self, actor: str, in_org: bool) -> tuple[str, str]:
        return (f"ORG#{self.org}", f"?organization_id={self.org}") if in_org else (self.personal(actor), "")

    @rule(actor=actors, in_org=st.booleans(), name=st.sampled_from(REGISTER_BRANDS))
    def register_brand(self, actor: str, in_org: bool, name: str) -> None:
        scope, qs = self._registration_scope(actor, in_org)
        taken = any(
            r.scope == scope and r.facet == "brand" and r.name.lower() == name.strip().lower()
            for r in self.registrations
        )
        r = self.api.post(f"/api/v1/brands/{qs}", {"name": name}, self.token(actor))
        self.touched.add(scope)
        if taken:
            assert r.status == 409, r
            return
        assert r.status == 200, r
        self.registrations.append(Registration(scope, "brand", r.json["name"], entity_id=r.json["id"]))
        self.remember_spellings([r.json["name"]])

    @rule(
        actor=actors,
        in_org=st.booleans(),
        name=st.sampled_from(REGISTER_COLLECTIONS),
        brand=st.sampled_from(REGISTER_BRANDS[:3]),
    )
    def register_collection(self, actor: str, in_org: bool, name: str, brand: str) -> None:
        scope, qs = self._registration_scope(actor, in_org)
        taken = any(
            r.scope == scope
            and r.facet == "collection"
            and r.name.lower() == name.strip().lower()
            and (r.brand or "").lower() == brand.strip().lower()
            for r in self.registrations
        )
        r = self.api.post(f"/api/v1/brand-collections/{qs}", {"name": name, "brand": brand}, self.token(actor))
        self.touched.add(scope)
        if taken:
            assert r.status == 409, r
            return
        assert r.status == 200, r
        self.registrations.append(
            Registration(scope, "collection", r.json["name"], r.json["brand"], entity_id=r.json["id"])
        )
        self.remember_spellings([r.json["name"]])

    @precondition(lambda self: any(r.facet == "brand" for r in self.registrations))
    @rule(data=st.data(), name=st.sampled_from(REGISTER_BRANDS))
    def rename_brand(self, data: st.DataObject, name: str) -> None:
        brands = [r for r in self.registrations if r.facet == "brand"]
        reg = data.draw(st.sampled_from(brands), label="registration")
        actor = "A" if reg.scope in (f"ORG#{self.org}", self.personal("A")) else "B"
        taken = any(
            r.scope == reg.scope and r.facet == "brand" and r is not reg and r.name.lower() == name.strip().lower()
            for r in self.registrations
        )
        r = self.api.patch(f"/api/v1/brands/{reg.entity_id}", {"name": name}, self.token(actor))
        self.touched.add(reg.scope)
        if taken:
            assert r.status == 409, r
            return
        assert r.status == 200, r
        reg.name = r.json["name"]
        self.remember_spellings([reg.name])

    # -- the invariant -------------------------------------------------------------------

    def expected(self, scopes: set[str] | None, facet: str, brand: str | None = None) -> Expected:
        """Recount one facet over the products (and registrations) of some scopes (None: all)."""
        products = [p for p in self.products.values() if scopes is None or self.scope_of(p) in scopes]
        out = recount(products, facet, brand)
        brand_key = (clean(brand) or "").lower() or None
        for r in self.registrations:
            if r.facet != facet or (scopes is not None and r.scope not in scopes):
                continue
            if facet == "collection" and brand_key is not None and (r.brand or "").strip().lower() != brand_key:
                continue
            out.registered.add(r.name.strip().lower())
        return out

    def check(
        self, path: str, token: str, org: str | None, expected: Expected, what: str, brand: str | None = None
    ) -> None:
        assert_facet_list(self.api, path, token, org, expected, what, brand=brand, spellings=self.spellings)

    def check_view(self, scope: str | None, lists: int | None = None) -> None:
        """Check one view: a scope (read by a user allowed to) or None, the superuser's all-scopes view.

        `lists`: only the list of that number (the four lists, then the collections of a brand).
        """
        if scope is None:
            name, token, org, scopes = "superuser", self.admin, None, None
        elif scope.startswith("ORG#"):
            # Both members read the organization's lists, in turn.
            name, token, org, scopes = "org", self.token("AB"[self.steps % 2]), self.org, {scope}
        else:
            actor = next(a for a in self.users if self.personal(a) == scope)
            name, token, org, scopes = f"{actor} personal", self.token(actor), None, {scope}
        for n, (facet, path) in enumerate(FACET_LISTS):
            if lists is None or lists == n:
                self.check(path, token, org, self.expected(scopes, facet), f"{name} {facet}")
        if lists is None or lists == len(FACET_LISTS):
            brand_filter = BRAND_FILTERS[self.steps % len(BRAND_FILTERS)]
            self.check(
                "/api/v1/brand-collections/",
                token,
                org,
                self.expected(scopes, "collection", brand_filter),
                f"{name} collections of brand {brand_filter!r}",
                brand=brand_filter,
            )

    @invariant()
    def facets_match_recount(self) -> None:
        """After every step: the scopes the step wrote to, and one list of the superuser's view.

        Counters are persistent, so a count that went wrong anywhere stays wrong: every
        FULL_CHECK_EVERY steps every list of every view is checked as well, which catches a
        write to a scope the step should not have touched. (Checking all twenty lists after
        every step would make each step several times slower against moto.)
        """
        self.steps += 1
        if self.steps % FULL_CHECK_EVERY == 0:
            for scope in (self.personal("A"), self.personal("B"), f"ORG#{self.org}", None):
                self.check_view(scope)
        else:
            for scope in sorted(self.touched):
                self.check_view(scope)
            self.check_view(None, lists=self.steps % (len(FACET_LISTS) + 1))
        self.touched.clear()


FacetMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("FACETS_MAX_EXAMPLES", scaled(10))),
    stateful_step_count=int(os.environ.get("FACETS_STEPS", scaled(30, 50))),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestFacetStateMachine = FacetMachine.TestCase
