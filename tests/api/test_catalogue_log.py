"""The catalogue's log: numbered in commit order, caught up consistently, snapshotted and trimmed."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.services import catalogue as memory
from chalicelib.services.catalogue import Catalogues
from chalicelib.store import catalogue as log
from chalicelib.store.catalogue_models import CatalogueChangeItem, CatalogueChunkItem, catalogue_pk
from chalicelib.store.models import TableItem, user_scope
from tests.factories import Api

BASE = "/api/v1/products/"


def partition(scope: str) -> list[Any]:
    return list(TableItem.query(catalogue_pk(scope), consistent_read=True))


def changes(scope: str) -> list[tuple[int, str, bool]]:
    return [
        (int(i.seq), i.product_id, i.entry is not None) for i in partition(scope) if isinstance(i, CatalogueChangeItem)
    ]


def names(api: Api, token: str, query: str = "sort_by=name&sort_order=asc") -> list[str]:
    r = api.get(f"{BASE}?{query}", token)
    assert r.status == 200, r
    return [p["name"] for p in r.json["data"]]


def test_every_write_is_numbered_in_order(api: Api) -> None:
    user, token = api.user()
    a = api.product(token, name="A")
    b = api.product(token, name="B")
    assert api.patch(f"{BASE}{a['id']}", {"name": "A2"}, token).status == 200
    assert api.delete(f"{BASE}{b['id']}", token).status == 200
    assert changes(user_scope(user)) == [
        (1, a["id"], True),
        (2, b["id"], True),
        (3, a["id"], True),
        (4, b["id"], False),
    ]
    head = log.read_head(user_scope(user))
    assert head is not None and int(head.seq) == 4


def test_a_head_taken_meanwhile_is_read_again(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    user, token = api.user()
    api.product(token, name="A")
    real = log._heads
    reads: list[int] = []

    def stale_once(scopes: Any) -> Any:
        reads.append(1)
        # The first read answers as if the first product's write had not committed yet.
        return {} if len(reads) == 1 else real(scopes)

    monkeypatch.setattr(log, "_heads", stale_once)
    b = api.product(token, name="B")
    assert len(reads) == 2
    assert [c[:2] for c in changes(user_scope(user))][1] == (2, b["id"])
    assert names(api, token) == ["A", "B"]


def test_a_head_that_keeps_moving_is_a_503_and_writes_nothing(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    user, token = api.user()
    api.product(token, name="A")
    monkeypatch.setattr(log, "_heads", lambda scopes: {})
    monkeypatch.setattr(log, "backoff", lambda attempt: 0)
    r = api.post(BASE, {"name": "B", "cover_image": "https://example.com/a.jpg"}, token)
    assert r.status == 503, r
    monkeypatch.undo()
    assert names(api, token) == ["A"]
    assert len(changes(user_scope(user))) == 1


def test_a_product_written_without_its_change_is_refused(api: Api) -> None:
    from chalicelib.store.products import ProductRepository
    from chalicelib.store.table import transaction

    _, token = api.user()
    product = ProductRepository().get(api.product(token, name="A")["id"])
    assert product is not None
    with pytest.raises(RuntimeError, match="without their catalogue change"), transaction() as tx:
        tx.save(product)


def test_a_move_is_a_removal_in_one_scope_and_an_entry_in_the_other(api: Api) -> None:
    user, token = api.user()
    org = api.org(token)
    p = api.product(token, name="Moving")
    assert api.patch(f"{BASE}{p['id']}", {"organization_id": org}, token).status == 200
    assert changes(user_scope(user))[-1] == (2, p["id"], False)
    assert changes(f"ORG#{org}") == [(1, p["id"], True)]
    assert names(api, token) == []
    assert names(api, token, f"organization_id={org}") == ["Moving"]


def test_snapshots_replace_the_log_they_hold(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    user, token = api.user()
    scope = user_scope(user)
    monkeypatch.setattr(memory, "SNAPSHOT_EVERY", 3)
    for n in range(4):
        api.product(token, name=f"P{n}")
    assert len(names(api, token)) == 4  # caught up at 4: a snapshot at 4
    head = log.read_head(scope)
    assert head is not None and (int(head.snapshot_seq), int(head.snapshot_parts)) == (4, 1)
    assert [c[0] for c in changes(scope)] == [1, 2, 3, 4]  # no older snapshot: nothing deleted
    for n in range(4, 7):
        api.product(token, name=f"P{n}")
    assert len(names(api, token)) == 7  # a snapshot at 7; the one at 4 and changes 1-4 deleted
    assert [c[0] for c in changes(scope)] == [5, 6, 7]
    chunks = [(int(i.seq), int(i.part)) for i in partition(scope) if isinstance(i, CatalogueChunkItem)]
    assert chunks == [(7, 0)]

    # An instance that held 2 cannot catch up (3 and 4 are gone): it reads the snapshot.
    behind = Catalogues(write_snapshots=False)
    loaded = behind.current(scope)
    loaded.seq = 2
    assert sorted(e.name_lc for e in behind.current(scope).entries()) == [f"p{n}" for n in range(7)]
    assert behind.current(scope).seq == 7
    # A cold one reads the snapshot and the changes after it.
    assert len(Catalogues(write_snapshots=False).current(scope)) == 7


def test_an_instance_far_behind_reads_the_snapshot(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    user, token = api.user()
    scope = user_scope(user)
    first = Catalogues(write_snapshots=False)
    assert len(first.current(scope)) == 0
    monkeypatch.setattr(memory, "CATCH_UP_LIMIT", 2)
    for n in range(3):
        api.product(token, name=f"P{n}")
    reads: list[str] = []
    monkeypatch.setattr(log, "read_snapshot", lambda head: reads.append(head.scope) or [])
    assert len(first.current(scope)) == 3
    assert reads == [scope]  # more than the limit behind: loaded again (no snapshot yet: the log)


def test_a_rebuild_makes_every_instance_read_again(api: Api) -> None:
    user, token = api.user()
    scope = user_scope(user)
    a = api.product(token, name="A")
    assert names(api, token) == ["A"]
    # A product the log never named (written before it, say): the rebuild's snapshot has it.
    from chalicelib.store.products import ProductRepository

    stored = ProductRepository().get(a["id"])
    assert stored is not None
    stored.doc = {**stored.doc, "name": "Renamed outside the log"}
    stored.refresh_keys()
    assert log.rebuild(scope, [stored], seq=1)
    assert names(api, token) == ["A"]  # the page is the products as stored
    assert [e.name_lc for e in wiring.listing().catalogues.current(scope).entries()] == ["renamed outside the log"]
    head = log.read_head(scope)
    assert head is not None and int(head.epoch) == 1


def test_a_replaced_table_is_read_anew() -> None:
    scope = "USER#replaced"
    held = wiring.listing().catalogues
    held.current(scope).seq = 5  # as if the scope had 5 changes in a table since emptied
    assert held.current(scope).seq == 0


def test_a_snapshot_written_from_a_stale_head_leaves_no_other_behind(api: Api) -> None:
    user, token = api.user()
    scope = user_scope(user)
    for n in range(3):
        api.product(token, name=f"P{n}")
    stale = log.read_head(scope)
    fresh = log.read_head(scope)
    assert stale is not None and fresh is not None
    assert log.write_snapshot(fresh, 2, [])  # one instance snapshots at 2
    assert log.write_snapshot(stale, 3, [])  # another, from the head read before, at 3
    chunks = [(int(i.seq), int(i.part)) for i in partition(scope) if isinstance(i, CatalogueChunkItem)]
    assert chunks == [(3, 0)]
