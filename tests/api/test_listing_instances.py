"""Two function instances, sharing only DynamoDB, list exactly what the brute-force model says.

GET /products/ is answered from a catalogue each instance keeps in memory and catches up from
the scope's change log before every request (services/catalogue.py, store/catalogue.py). Here two
independent wirings play two Lambda instances: each has its own `ProductListing` (its own
`Catalogues`), its own `ProductService` and `ShootingService`, its own callers; they share only
the session's moto. A hypothesis state machine makes random writes through either instance:
create (personal or in the organization, drafts, demo products), update of the listed fields,
archive and unarchive, delete, moves into the organization and back out, shot statuses, looks
(which add a shooting to the product) and shots on them. After every write each instance answers
a few random listings (filters, shot statuses, shooting, order, skip and limit), and every answer
must equal the model of tests/api/test_listing_property.py (plus `shot_statuses` and
`shooting_id`, which it does not model) over the products as they are stored right then, read
with a consistent BatchGetItem: the ids in order, the count, the items, and whether a next page
is announced. Some steps follow `next_cursor` from the first page to the end instead, forget one
instance's catalogues, or start a cold third instance.

The snapshot path runs too: SNAPSHOT_EVERY and CATCH_UP_LIMIT are made tiny, so instances write
snapshots and delete the changes older ones held, and instances that fell behind (in a scope they
did not list for a while) reload from a snapshot, either for being too far behind or for finding
the changes they needed deleted; the test asserts that each of these paths, and each kind of
step, ran at least once. Product ids come from a seeded uuid4 (SeededUuids), so that a failing
example replays exactly and shrinks.

The comparison can fail: `test_the_harness_sees_*` catch an instance that never catches up and a
write whose change never reaches the log, and `test_the_machine_fails_*` runs the state machine
with its second instance never catching up and expects it to report that instance.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from chalicelib.schemas.enums import ProductShootingStatus
from chalicelib.schemas.products import ProductCreate, ProductListQuery, ProductUpdate
from chalicelib.schemas.shootings import ShootingCreate, ShootingLookCreate, ShotCreate
from chalicelib.services import catalogue as catalogue_service
from chalicelib.services.access import Caller
from chalicelib.services.catalogue import Catalogues, ScopeCatalogue
from chalicelib.services.listing import ProductListing
from chalicelib.services.products import ProductService, to_public
from chalicelib.services.shootings import ShootingService
from chalicelib.store import catalogue as catalogue_log
from chalicelib.store.products import ProductRepository
from chalicelib.store.users import UserRepository
from tests.api.test_listing_property import (
    BRANDS,
    COLLECTIONS,
    FILTERS,
    GENDERS,
    NAMES,
    SEASONS,
    TYPES,
    YEARS,
    expected,
    expected_order,
    ordering,
)
from tests.factories import Api
from tests.support import harness
from tests.support.profiles import scaled

Product = dict[str, Any]
Query = dict[str, Any]

# Scopes by label: A's and B's personal products, and the organization A owns with B a member.
SCOPES = ("A", "B", "org")
SKUS = [None, "SKU-001", "sku-002", "SKU-010", "FILLER-1", "fill-2", "Filler3", "XFILL-4"]
STATUSES = [s.value for s in ProductShootingStatus]
# A shooting no product is in.
NO_SHOOTING = "00000000-0000-4000-8000-000000000000"
# Small enough that snapshots are written, old changes deleted and lagging instances reload.
# CATCH_UP_LIMIT above SNAPSHOT_EVERY: an instance behind the previous snapshot finds at least
# SNAPSHOT_EVERY changes after it, so with a smaller limit it would always reload for being far
# behind and never meet the deleted changes (the gap `Catalogues._apply` detects).
SNAPSHOT_EVERY = 2
CATCH_UP_LIMIT = 3


# -- the world: two users, an organization, shootings in each scope ----------------------------


@dataclass(frozen=True)
class World:
    users: dict[str, str]  # actor -> user id
    org: str
    shootings: dict[str, tuple[str, ...]]  # scope label -> shooting ids


def _build(api: Api) -> World:
    a, token_a = api.user()
    b, _ = api.user()
    org = api.org(token_a, "Instances")
    api.add_member(token_a, org, b)
    shootings = ShootingService()
    made: dict[str, tuple[str, ...]] = {}
    for scope, actor, org_id in (("A", a, None), ("B", b, None), ("org", a, org)):
        caller = Caller(user=_user(actor))
        made[scope] = tuple(
            shootings.create_shooting(caller, ShootingCreate(name=f"{scope} {n}"), org_id).id for n in range(2)
        )
    return World(users={"A": a, "B": b}, org=org, shootings=made)


def _user(user_id: str) -> Any:
    user = UserRepository().get(user_id)
    assert user is not None
    return user


@pytest.fixture(scope="module")
def world(_moto: None) -> Iterator[tuple[list[Any], World]]:
    # Built once through the API; each example gets its own copy of the table (harness.restore).
    yield harness.build_through_api(_build)


# -- an instance ---------------------------------------------------------------------------------


@dataclass(eq=False)
class Instance:
    """One function instance's wiring: its own catalogues, services and callers."""

    name: str
    listing: ProductListing
    products: ProductService
    shootings: ShootingService
    callers: dict[str, Caller]

    def __repr__(self) -> str:
        return f"<instance {self.name}>"


def new_instance(name: str, world: World, catalogues: Callable[[], Catalogues] = Catalogues) -> Instance:
    products = ProductService()
    return Instance(
        name=name,
        listing=ProductListing(catalogues=catalogues()),
        products=products,
        shootings=ShootingService(product_service=products),
        callers={actor: Caller(user=_user(user_id)) for actor, user_id in world.users.items()},
    )


class NeverCatchesUp(Catalogues):
    """A broken instance: it loads a scope once, then never reads the log again."""

    def _catch_up(self, catalogue: ScopeCatalogue) -> ScopeCatalogue | None:
        return catalogue


# -- the reference ---------------------------------------------------------------------------


@dataclass
class Stored:
    """The products as stored now (a consistent read), as the API shows them, by scope label."""

    products: dict[str, Product]
    shooting_ids: dict[str, list[str]]
    scopes: dict[str, str]

    def of(self, scope: str) -> list[Product]:
        return [p for pid, p in self.products.items() if self.scopes[pid] == scope]


def read_stored(world: World, ids: list[str]) -> Stored:
    items = ProductRepository().batch_get(ids, consistent=True)
    a = world.users["A"]
    products = {pid: to_public(item).model_dump(mode="json") for pid, item in items.items()}
    return Stored(
        products=products,
        shooting_ids={pid: list(item.shooting_ids or []) for pid, item in items.items()},
        scopes={
            pid: "org" if item.organization_id else "A" if item.owner_id == a else "B" for pid, item in items.items()
        },
    )


def reference(stored: Stored, scope: str, q: Query) -> tuple[list[Product], int]:
    """The model's answer, with the two filters it does not know applied first."""
    statuses = set(q.get("shot_statuses") or STATUSES)
    shooting = q.get("shooting_id")
    found = [
        p
        for p in stored.of(scope)
        if (p["shot_status"] or "NOT_STARTED") in statuses
        and (shooting is None or shooting in stored.shooting_ids[p["id"]])
    ]
    return expected(found, q)


def view(world: World, scope: str, reader: str) -> tuple[str, str | None]:
    """Who lists a scope (its owner; either member for the organization) and its organization_id."""
    if scope == "org":
        return reader, world.org
    return scope, None


def _show(products: list[Product]) -> list[tuple[Any, ...]]:
    return [
        (p["id"][:8], p["name"], p["sku"], p["brand"], p["season"], p["year"], p["shot_status"], p["updated_at"])
        for p in products
    ]


def check_listing(instance: Instance, world: World, stored: Stored, scope: str, reader: str, q: Query) -> None:
    """One listing of `instance` against the reference: ids in order, count, items, next page."""
    actor, org = view(world, scope, reader)
    want, want_count = reference(stored, scope, q)
    query = ProductListQuery.model_validate({**q, **({"organization_id": org} if org else {})})
    got = instance.listing.list(instance.callers[actor], query)
    data = [p.model_dump(mode="json") for p in got.data]
    where = (instance.name, scope, q)
    assert [p["id"] for p in data] == [p["id"] for p in want], (*where, _show(want), _show(data))
    assert got.count == want_count, (*where, got.count, want_count)
    assert data == want, where
    more = q.get("skip", 0) + q.get("limit", 100) < want_count and bool(want)
    assert (got.next_cursor is not None) == more, (*where, got.next_cursor)


def check_paging(instance: Instance, world: World, stored: Stored, scope: str, reader: str, q: Query, page: int) -> int:
    """Follow `next_cursor` from the first page: every match once, in the reference's order.
    The number of pages read."""
    actor, org = view(world, scope, reader)
    every, count = reference(stored, scope, {**q, "limit": 1000})
    want = [p["id"] for p in expected_order(every, q.get("sort_by"), q.get("sort_order", "desc"))]
    base = {**q, "limit": page, **({"organization_id": org} if org else {})}
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        got = instance.listing.list(
            instance.callers[actor], ProductListQuery.model_validate({**base, **({"cursor": cursor} if cursor else {})})
        )
        pages += 1
        assert got.count == count, (instance.name, scope, q, pages)
        seen.extend(str(p.id) for p in got.data)
        cursor = got.next_cursor
        if cursor is None:
            break
        assert pages <= count, (instance.name, scope, q, "the cursor never ends")
    assert seen == want, (instance.name, scope, q, page, seen, want)
    return pages


# -- strategies ------------------------------------------------------------------------------

# At most two of the model's filters at a time, so that most answers over a few dozen products
# are not empty.
few_filters: st.SearchStrategy[Query] = st.lists(st.sampled_from(sorted(FILTERS)), max_size=2, unique=True).flatmap(
    lambda names: st.fixed_dictionaries({n: FILTERS[n] for n in names})
)
small_pages: st.SearchStrategy[Query] = st.fixed_dictionaries(
    {}, optional={"skip": st.sampled_from([0, 0, 1, 2, 5]), "limit": st.integers(1, 6)}
)


def queries(shootings: list[str]) -> st.SearchStrategy[Query]:
    extras = st.fixed_dictionaries(
        {},
        optional={
            "shot_statuses": st.lists(st.sampled_from(STATUSES), min_size=1, max_size=2, unique=True),
            "shooting_id": st.sampled_from([*shootings, NO_SHOOTING]),
        },
    )
    return st.builds(lambda f, e, o, p: {**f, **e, **o, **p}, few_filters, extras, ordering, small_pages)


LISTED_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "name": st.sampled_from(NAMES),
    "sku": st.sampled_from(SKUS),
    "brand": st.sampled_from(BRANDS),
    "season": st.sampled_from(SEASONS),
    "year": st.sampled_from(YEARS),
    "type": st.sampled_from(TYPES),
    "gender": st.sampled_from(GENDERS),
    "brand_collection": st.sampled_from(COLLECTIONS),
    "public": st.booleans(),
}
creates = st.fixed_dictionaries(
    {"name": st.sampled_from(NAMES)},
    optional={**{k: v for k, v in LISTED_FIELDS.items() if k != "name"}, "is_filler": st.booleans()},
)
# `is_filler: null` hands the flag back to the SKU; `enabled: true` completes a draft.
updates = st.fixed_dictionaries(
    {},
    optional={**LISTED_FIELDS, "is_filler": st.sampled_from([True, False, None]), "enabled": st.booleans()},
).filter(bool)


# (actor, in the organization, fields, a draft, a demo product)
new_products = st.tuples(
    st.sampled_from(["A", "B"]),
    st.booleans(),
    creates,
    st.sampled_from([False, False, False, True]),
    st.sampled_from([False, False, False, True]),
)


# -- the machine -----------------------------------------------------------------------------


@dataclass
class Look:
    id: str
    product_id: str
    scope: str


class Instances(RuleBasedStateMachine):
    """Random writes by two (sometimes three) instances; every listing checked after each.
    Run a subclass made by `machine`, which gives it its world."""

    items: list[Any]
    world: World
    seen: Counter[str]
    catalogues: Callable[[], Catalogues]
    uuids: SeededUuids | None = None

    def __init__(self) -> None:
        super().__init__()
        uuids = type(self).uuids
        if uuids is not None:
            uuids.reseed()
        # Each example on its own copy of the world (users, organization, shootings).
        harness.restore(type(self).items)
        world = type(self).world
        self.world = world
        self.instances = [new_instance("one", world), new_instance("two", world, type(self).catalogues)]
        self.cold_starts = 0
        # The model of what exists and where (the store must agree), in creation order.
        self.scopes: dict[str, str] = {}
        self.ever: list[str] = []
        self.looks: list[Look] = []
        self.shooting_ids = [s for ids in world.shootings.values() for s in ids]

    # -- helpers ---------------------------------------------------------------------------

    def pick_instance(self, data: st.DataObject) -> Instance:
        return data.draw(st.sampled_from(self.instances), label="writer")

    def pick_product(self, data: st.DataObject, scopes: tuple[str, ...] = SCOPES) -> str:
        # In creation order (never by id: ids are random, and a replayed example must pick the same).
        ids = [pid for pid in self.ever if self.scopes.get(pid) in scopes]
        return data.draw(st.sampled_from(ids), label="product")

    def has(self, *scopes: str) -> bool:
        return any(s in (scopes or SCOPES) for s in self.scopes.values())

    @staticmethod
    def writers(scope: str) -> list[str]:
        return ["A", "B"] if scope == "org" else [scope]

    def stored(self) -> Stored:
        stored = read_stored(self.world, self.ever)
        assert stored.scopes == self.scopes, "the products stored are not those written"
        return stored

    def check_after_write(
        self,
        data: st.DataObject,
        touched: list[str],
        *,
        every: bool = False,
        lagging: tuple[list[Instance], str] | None = None,
    ) -> None:
        """Each instance answers one to three listings, more often of a scope the write touched.
        `every`: the first of each instance's listings is of the first touched scope. `lagging`:
        those instances list only the other scopes (they fall behind in this one)."""
        stored = self.stored()
        for instance in self.instances:
            scopes = [*touched, *SCOPES]
            if lagging is not None and instance in lagging[0]:
                scopes = [s for s in SCOPES if s != lagging[1]]
            for n in range(data.draw(st.integers(1, 3), label=f"{instance.name} listings")):
                scope = touched[0] if every and n == 0 else data.draw(st.sampled_from(scopes), label="scope")
                reader = data.draw(st.sampled_from(["A", "B"]), label="reader")
                q = data.draw(queries(self.shooting_ids), label="query")
                check_listing(instance, self.world, stored, scope, reader, q)
        if touched and data.draw(st.integers(0, 5), label="page through") == 0:
            self.page_through_now(data, touched[0])

    def page_through_now(self, data: st.DataObject, scope: str, o: Query | None = None) -> None:
        """One instance follows `next_cursor` through a listing of `scope` from its first page."""
        self.seen["page_through"] += 1
        instance = data.draw(st.sampled_from(self.instances), label="pager")
        reader = data.draw(st.sampled_from(["A", "B"]), label="reader")
        f = data.draw(st.one_of(st.just({}), few_filters), label="filters")
        o = o if o is not None else data.draw(ordering, label="order")
        page = data.draw(st.integers(1, 4), label="page size")
        check_paging(instance, self.world, self.stored(), scope, reader, {**f, **o}, page)

    def create_product(
        self, instance: Instance, actor: str, in_org: bool, fields: Query, draft: bool, demo: bool
    ) -> str:
        item = instance.products.create(
            instance.callers[actor],
            ProductCreate.model_validate({**fields, "cover_image": "https://example.com/image.jpg"}),
            organization_id=self.world.org if in_org else None,
            mode="basic" if draft else "complete",
            demo=demo,
        )
        self.scopes[item.id] = "org" if in_org else actor
        self.ever.append(item.id)
        return "org" if in_org else actor

    # -- writes ----------------------------------------------------------------------------

    @initialize(data=st.data(), new=st.lists(new_products, min_size=4, max_size=8))
    def start_with_products(self, data: st.DataObject, new: list[tuple[str, bool, Query, bool, bool]]) -> None:
        self.seen["start_with_products"] += 1
        for actor, in_org, fields, draft, demo in new:
            touched = self.create_product(self.pick_instance(data), actor, in_org, fields, draft, demo)
            self.check_after_write(data, [touched])

    @rule(data=st.data(), new=st.lists(new_products, min_size=1, max_size=3))
    def create(self, data: st.DataObject, new: list[tuple[str, bool, Query, bool, bool]]) -> None:
        self.seen["create"] += 1
        for actor, in_org, fields, draft, demo in new:
            touched = self.create_product(self.pick_instance(data), actor, in_org, fields, draft, demo)
            self.check_after_write(data, [touched])

    @rule(data=st.data(), scope=st.sampled_from(SCOPES), writes=st.integers(4, 7))
    def burst(self, data: st.DataObject, scope: str, writes: int) -> None:
        """Several writes to one scope while some instances list only the other scopes: they
        fall behind in this one, and then list it (after the last write every instance does).
        When all lag, no snapshot is written meanwhile and the changes outrun the catch-up
        limit; when some do, the others' snapshots delete changes the laggards need."""
        self.seen["burst"] += 1
        laggards = data.draw(
            st.lists(st.sampled_from(self.instances), min_size=1, max_size=len(self.instances), unique_by=id),
            label="laggards",
        )
        for _ in range(writes):
            instance = self.pick_instance(data)
            actor = data.draw(st.sampled_from(self.writers(scope)), label="actor")
            if self.has(scope) and data.draw(st.booleans(), label="update"):
                pid = self.pick_product(data, (scope,))
                fields = data.draw(updates, label="fields")
                instance.products.update(instance.callers[actor], pid, ProductUpdate.model_validate(fields), None)
            else:
                fields = data.draw(creates, label="fields")
                self.create_product(instance, actor, scope == "org", fields, False, False)
            self.check_after_write(data, [scope], lagging=(laggards, scope))
        self.check_after_write(data, [scope], every=True)

    @precondition(lambda self: self.has())
    @rule(data=st.data(), fields=updates)
    def update(self, data: st.DataObject, fields: Query) -> None:
        self.seen["update"] += 1
        instance, pid = self.pick_instance(data), self.pick_product(data)
        scope = self.scopes[pid]
        actor = data.draw(st.sampled_from(self.writers(scope)), label="actor")
        instance.products.update(instance.callers[actor], pid, ProductUpdate.model_validate(fields), None)
        self.check_after_write(data, [scope])

    @precondition(lambda self: self.has())
    @rule(data=st.data(), archived=st.booleans())
    def set_archived(self, data: st.DataObject, archived: bool) -> None:
        self.seen["set_archived"] += 1
        instance, pid = self.pick_instance(data), self.pick_product(data)
        scope = self.scopes[pid]
        actor = data.draw(st.sampled_from(self.writers(scope)), label="actor")
        in_org = self.world.org if scope == "org" and data.draw(st.booleans(), label="org in query") else None
        instance.products.set_archived(instance.callers[actor], pid, archived, in_org)
        self.check_after_write(data, [scope])

    @precondition(lambda self: self.has())
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        self.seen["delete"] += 1
        instance, pid = self.pick_instance(data), self.pick_product(data)
        scope = self.scopes.pop(pid)
        actor = data.draw(st.sampled_from(self.writers(scope)), label="actor")
        instance.products.delete(instance.callers[actor], pid, None)
        # Its looks go with it.
        self.looks = [look for look in self.looks if look.product_id != pid]
        self.check_after_write(data, [scope])

    @precondition(lambda self: self.has("A", "B"))
    @rule(data=st.data(), fields=st.one_of(st.just({}), updates))
    def move_into_the_organization(self, data: st.DataObject, fields: Query) -> None:
        """By the product's owner, sometimes with other fields in the same update."""
        self.seen["move_into_the_organization"] += 1
        instance, pid = self.pick_instance(data), self.pick_product(data, ("A", "B"))
        owner = self.scopes[pid]
        update = ProductUpdate.model_validate({**fields, "organization_id": self.world.org})
        instance.products.update(instance.callers[owner], pid, update, None)
        self.scopes[pid] = "org"
        self.check_after_write(data, ["org", owner])

    @precondition(lambda self: self.has("org"))
    @rule(data=st.data(), fields=st.one_of(st.just({}), updates))
    def move_out_of_the_organization(self, data: st.DataObject, fields: Query) -> None:
        """By the organization's owner (A), whose personal product it becomes."""
        self.seen["move_out_of_the_organization"] += 1
        instance, pid = self.pick_instance(data), self.pick_product(data, ("org",))
        update = ProductUpdate.model_validate({**fields, "organization_id": None})
        instance.products.update(instance.callers["A"], pid, update, None)
        self.scopes[pid] = "A"
        self.check_after_write(data, ["org", "A"])

    @precondition(lambda self: self.has())
    @rule(data=st.data(), status=st.sampled_from(list(ProductShootingStatus)))
    def set_shot_status(self, data: st.DataObject, status: ProductShootingStatus) -> None:
        self.seen["set_shot_status"] += 1
        instance, pid = self.pick_instance(data), self.pick_product(data)
        instance.products.set_shot_status(pid, status)
        self.check_after_write(data, [self.scopes[pid]])

    def _shootable(self) -> list[tuple[Look, list[str]]]:
        """Looks with who may add a shot: a writer of the look's scope and of its product's now."""
        found = []
        for look in self.looks:
            actors = [a for a in self.writers(look.scope) if a in self.writers(self.scopes[look.product_id])]
            if actors:
                found.append((look, actors))
        return found

    @precondition(lambda self: self.has())
    @rule(data=st.data())
    def shoot(self, data: st.DataObject) -> None:
        """A look in one of the shootings of the product's scope (the product joins the shooting,
        its status follows the new look), or a pending shot on a look (its product's status
        follows: IN_PROGRESS when the look is its newest in its scope)."""
        instance = self.pick_instance(data)
        shootable = self._shootable()
        if len(shootable) > 0 and data.draw(st.booleans(), label="a shot"):
            self.seen["add_shot"] += 1
            old, actors = data.draw(st.sampled_from(shootable), label="look")
            actor = data.draw(st.sampled_from(actors), label="actor")
            instance.shootings.add_shot(instance.callers[actor], old.id, ShotCreate(shot_type="front"))
            self.check_after_write(data, [self.scopes[old.product_id]])
            return
        self.seen["add_look"] += 1
        pid = self.pick_product(data)
        scope = self.scopes[pid]
        actor = data.draw(st.sampled_from(self.writers(scope)), label="actor")
        shooting = data.draw(st.sampled_from(self.world.shootings[scope]), label="shooting")
        look = instance.shootings.create_look(instance.callers[actor], shooting, ShootingLookCreate(product_id=pid))
        self.looks.append(Look(look.id, pid, scope))
        self.check_after_write(data, [scope])
        if data.draw(st.booleans(), label="then a shot"):
            self.seen["add_shot"] += 1
            instance = self.pick_instance(data)
            instance.shootings.add_shot(instance.callers[actor], look.id, ShotCreate(shot_type="front"))
            self.check_after_write(data, [scope])

    # -- instances and reads -----------------------------------------------------------------

    @rule(data=st.data())
    def forget(self, data: st.DataObject) -> None:
        """An instance drops its catalogues (as a new process would): the next listing loads."""
        self.seen["forget"] += 1
        instance = data.draw(st.sampled_from(self.instances), label="forgets")
        instance.listing.catalogues.forget()
        stored = self.stored()
        for scope in SCOPES:
            check_listing(instance, self.world, stored, scope, "B", data.draw(queries(self.shooting_ids)))

    @rule(data=st.data())
    def cold_start(self, data: st.DataObject) -> None:
        """A third instance starts (or restarts) and lists every scope from the snapshots."""
        self.seen["cold_start"] += 1
        self.cold_starts += 1
        self.instances[2:] = [new_instance(f"cold {self.cold_starts}", self.world)]
        stored = self.stored()
        for scope in SCOPES:
            reader = data.draw(st.sampled_from(["A", "B"]), label="reader")
            check_listing(self.instances[2], self.world, stored, scope, reader, data.draw(queries(self.shooting_ids)))

    @precondition(lambda self: self.has())
    @rule(data=st.data(), scope=st.sampled_from(SCOPES), o=ordering)
    def page_through(self, data: st.DataObject, scope: str, o: Query) -> None:
        self.page_through_now(data, scope, o)


# -- what the run went through -----------------------------------------------------------------


@dataclass
class Paths:
    """How often each catalogue path ran: the test fails if the run never took one of them."""

    seen: Counter[str] = field(default_factory=Counter)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        write_snapshot, read_snapshot = catalogue_log.write_snapshot, catalogue_log.read_snapshot
        read_changes, delete_keys = catalogue_log.read_changes, catalogue_log._delete_keys
        apply = Catalogues._apply

        def counted_write_snapshot(*args: Any, **kwargs: Any) -> bool:
            won = write_snapshot(*args, **kwargs)
            self.seen["snapshot written"] += won
            return won

        def counted_read_snapshot(head: Any) -> Any:
            entries = read_snapshot(head)
            self.seen["snapshot read"] += bool(head.snapshot_parts)
            return entries

        def counted_read_changes(scope: str, after: int, limit: int | None) -> Any:
            read = read_changes(scope, after, limit)
            self.seen["too far behind to catch up"] += not read.complete
            return read

        def counted_delete_keys(keys: Any) -> None:
            keys = list(keys)
            self.seen["changes deleted"] += sum(sk.startswith("LOG#") for _, sk in keys)
            delete_keys(keys)

        def counted_apply(catalogue: ScopeCatalogue, read: Any) -> bool:
            applied = apply(catalogue, read)
            self.seen["changes it needed were deleted"] += not applied
            return applied

        monkeypatch.setattr(catalogue_log, "write_snapshot", counted_write_snapshot)
        monkeypatch.setattr(catalogue_log, "read_snapshot", counted_read_snapshot)
        monkeypatch.setattr(catalogue_log, "read_changes", counted_read_changes)
        monkeypatch.setattr(catalogue_log, "_delete_keys", counted_delete_keys)
        monkeypatch.setattr(Catalogues, "_apply", staticmethod(counted_apply))


def machine(
    items: list[Any],
    world: World,
    uuids: SeededUuids,
    seen: Counter[str] | None = None,
    catalogues: Callable[[], Catalogues] = Catalogues,
) -> type[Instances]:
    """The state machine over this world; `seen` counts its steps by rule, `catalogues` makes
    the second instance's."""

    class Machine(Instances):
        pass

    Machine.items, Machine.world, Machine.catalogues, Machine.uuids = items, world, catalogues, uuids
    Machine.seen = seen if seen is not None else Counter()
    return Machine


STEPS = (
    "start_with_products",
    "create",
    "burst",
    "update",
    "set_archived",
    "delete",
    "move_into_the_organization",
    "move_out_of_the_organization",
    "set_shot_status",
    "add_look",
    "add_shot",
    "forget",
    "cold_start",
    "page_through",
)
MACHINE_SETTINGS = settings(
    max_examples=scaled(8),
    stateful_step_count=scaled(25, 40),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture
def tiny_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalogue_service, "SNAPSHOT_EVERY", SNAPSHOT_EVERY)
    monkeypatch.setattr(catalogue_service, "CATCH_UP_LIMIT", CATCH_UP_LIMIT)


class SeededUuids:
    """uuid4, drawn from a generator every example starts again: a replayed example gets the same
    product, look and shot ids (so the same ties broken by id), and hypothesis can reproduce and
    shrink a failure instead of calling it flaky. Each example starts on a restored table, so
    ids (and transaction tokens) repeat only across examples."""

    def __init__(self) -> None:
        self.rng = random.Random()
        self.reseed()

    def reseed(self) -> None:
        self.rng.seed(20240607)

    def __call__(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)


@pytest.fixture
def replayable_ids(monkeypatch: pytest.MonkeyPatch) -> SeededUuids:
    uuids = SeededUuids()
    monkeypatch.setattr(uuid, "uuid4", uuids)
    return uuids


def test_two_instances_list_what_is_stored_after_every_write(
    world: tuple[list[Any], World], tiny_snapshots: None, replayable_ids: SeededUuids, monkeypatch: pytest.MonkeyPatch
) -> None:
    items, built = world
    paths = Paths()
    paths.install(monkeypatch)
    run_state_machine_as_test(machine(items, built, replayable_ids, paths.seen), settings=MACHINE_SETTINGS)
    for path in (
        *STEPS,
        "snapshot written",
        "snapshot read",
        "too far behind to catch up",
        "changes deleted",
        "changes it needed were deleted",
    ):
        assert paths.seen[path] > 0, (path, dict(paths.seen))


# -- the harness can fail ----------------------------------------------------------------------


def test_the_harness_sees_an_instance_that_never_catches_up(world: tuple[list[Any], World]) -> None:
    items, built = world
    harness.restore(items)
    fresh, stale = new_instance("fresh", built), new_instance("stale", built, NeverCatchesUp)
    fresh.products.create(
        fresh.callers["A"], ProductCreate(name="Alpha", cover_image="https://example.com/a.jpg"), organization_id=None
    )
    ids = [str(p.id) for p in fresh.listing.list(fresh.callers["A"], ProductListQuery()).data]
    stored = read_stored(built, ids)
    for instance in (fresh, stale):  # both hold the scope now
        check_listing(instance, built, stored, "A", "A", {})

    # The other instance writes: the fresh one sees it, the stale one is caught.
    item = fresh.products.create(
        fresh.callers["A"], ProductCreate(name="Beta", cover_image="https://example.com/b.jpg"), organization_id=None
    )
    stored = read_stored(built, [*ids, item.id])
    check_listing(fresh, built, stored, "A", "A", {"sort_by": "name"})
    with pytest.raises(AssertionError, match=r"^\('stale', 'A'"):
        check_listing(stale, built, stored, "A", "A", {"sort_by": "name"})
    # An update of a listed field: the stale instance filters on the old value.
    fresh.products.update(fresh.callers["A"], ids[0], ProductUpdate(brand="Acme"), None)
    stored = read_stored(built, [*ids, item.id])
    check_listing(fresh, built, stored, "A", "A", {"brand": "acme"})
    with pytest.raises(AssertionError, match=r"^\('stale', 'A'"):
        check_listing(stale, built, stored, "A", "A", {"brand": "acme"})


def test_the_harness_sees_a_write_missing_from_the_log(
    world: tuple[list[Any], World], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shot status written without its change: the reference reads the products, not the log."""
    import chalicelib.store.products as product_store

    items, built = world
    harness.restore(items)
    one, two = new_instance("one", built), new_instance("two", built)
    item = one.products.create(
        one.callers["B"], ProductCreate(name="Alpha", cover_image="https://example.com/a.jpg"), organization_id=None
    )
    for instance in (one, two):
        check_listing(instance, built, read_stored(built, [item.id]), "B", "B", {})
    monkeypatch.setattr(product_store, "product_changes", lambda product, previous_scope=None: [])
    one.products.set_shot_status(item.id, ProductShootingStatus.TO_REVIEW)
    stored = read_stored(built, [item.id])
    assert stored.products[item.id]["shot_status"] == "TO_REVIEW"
    for instance in (one, two):
        with pytest.raises(AssertionError, match=rf"^\('{instance.name}', 'B'"):
            check_listing(instance, built, stored, "B", "B", {"shot_statuses": ["TO_REVIEW"]})


def test_the_machine_fails_with_an_instance_that_never_catches_up(
    world: tuple[list[Any], World], tiny_snapshots: None, replayable_ids: SeededUuids
) -> None:
    """The state machine itself, with its second instance broken, finds the stale answer."""
    items, built = world
    # Its answers are checked as every other's: "two" is named in the failure.
    with pytest.raises(AssertionError, match=r"^\('two', "):
        run_state_machine_as_test(
            machine(items, built, replayable_ids, catalogues=NeverCatchesUp),
            settings=settings(
                MACHINE_SETTINGS, max_examples=3, phases=[Phase.generate], print_blob=False, report_multiple_bugs=False
            ),
        )
