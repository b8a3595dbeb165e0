"""Table migrations. Operators' commands, never a request path.

    python -m ops.migrations backfill [--table T] [--segments 4] [--page-size 100] [--checkpoint PATH]
    python -m ops.migrations verify-counters [--table T] [--segments 4] [--fix]
    python -m ops.migrations rekey-look-refs [--table T] [--segments 4]
    python -m ops.migrations rebuild-catalogues [--table T] [--segments 4]

Both talk to whatever endpoint boto3 and PynamoDB are configured for (AWS_ENDPOINT_URL for the
local stack); `--table` defaults to the settings' TABLE_NAME.

**backfill** re-saves every product so that what the store derives from it is what the current
code derives: `ProductItem.refresh_keys()` is run on each product as read and every attribute it
changes is written (the listing keys `list_pk`, `created_sk`, `updated_sk`, `attention_sk`, the
sparse facet keys `brand_pk`, `season_pk`, `year_pk`, `scope_pk`, and the slim copies the
indexes project: `name_lc`, `brand_lc`, `enabled`...; an attribute left out of an old item whose
model now has a default gets it). A product whose attributes already match is not written, so a
second run, or a page done again after a crash, writes nothing. The write is an UpdateItem of
those attributes alone, conditional on the version read (and increments it, so a writer that read
the product before it re-reads rather than moving counters from the old attributes); a product
changed since it was read is read again and recomputed, a few times, then reported. It writes no
counter: a product's counters follow from its document, which a re-save does not change, and
counters moved from an old item's missing attributes would be wrong; they are recounted instead.

The table is read by a parallel Scan (`--segments` threads, `Segment`/`TotalSegments`), product
items only. After each page a segment's LastEvaluatedKey goes to the checkpoint file (JSON,
written to a temporary file and renamed over it); a run given the same checkpoint starts each
segment after its last finished page and skips finished segments. Once every segment is done, the
counters are recomputed as `verify-counters --fix` does.

**verify-counters** recounts every counter from the product items: each product counts in what
`store.facets.plan_product_counters(None, product)` gives it, the same rule as its create (the
list counter `FACETS#<scope>` / `PRODUCTS#ENABLED` or `#DISABLED`, and for each facet value the
scope's `BRAND#`, `COLLECTION#`, `SEASON#`, `YEAR#` counter and the same in its superuser shard
`FACETS#ALL#<n>`). Every stored counter item (kind Facet) is compared by `product_count`; one no
product counts in must be 0 (or absent). Drift is printed per counter partition (a scope or a
shard): expected, stored. Dry run by default (exit status 1 when there is drift, 0 when clean);
`--fix` writes the differences. `registered` and `entity_id` (brand and collection registrations)
are not recounted: a fix never changes them, and deletes a counter only as `sweep_empty` does
(no products and no registration).

**Live writers.** Product writes move their counters inside the product's own transaction, so
the counts only race writes made while the recount runs. The counters are read (Scan) before and
after the products are: one that changed in between was written during the scan, which may or
may not have seen the product, so it is reported as unsettled and left alone (run the command
again). A fix adds the difference between the recount and the value read after the scan, on
condition that the counter still holds that value; a counter changed since is read again and the
same difference applied to its new value (whatever was added since came from writes after the
scan, which the recount did not see, so it is kept). Not covered: writes during the scan that
cancel out on one counter (a product leaving a value and another taking it) look settled, and two
fixers at once would both apply the difference. So run it during a quiet period (no deploy, low
traffic) and one at a time; a second dry run reports clean when the fix held.

**rebuild-catalogues** writes a snapshot of every scope's product catalogue (store.catalogue)
from its products, read by consistent Scans after the scopes' log heads: run it once after
deploying the catalogue over products written before it (a `backfill` ends with it too). A write
made during the run is in the log after the number the snapshot takes and is applied on top.

**rekey-look-refs** rewrites the look references written before they were keyed by their look's
scope (`PRODUCT#<p>` / `LOOKREF#<created_at>#<look>`, no `owner_id`) as
`LOOKREF#<scope>#<created_at>#<look>`, the scope read from the look; until then a product's
related-shooting-looks page (one Query of the reader's scope) does not show them. A reference
whose look no longer exists is deleted. Each is one transaction: the new reference put and the
old one deleted on condition that it still exists (a product delete that took it meanwhile wins:
nothing is written). Rewritten references have `owner_id` and are skipped, so an interrupted run
is simply run again.

Exit status: 0 done and clean; 1 drift (dry run), unsettled or unfixed counters, or products not
re-saved (listed), or look references not rewritten; 2 a checkpoint of another table or `--segments`;
130 interrupted (resumable).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any

import boto3
from pynamodb.attributes import DiscriminatorAttribute, VersionAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.config import get_settings
from chalicelib.schemas.common import iso, utcnow
from chalicelib.store.catalogue import rebuild
from chalicelib.store.catalogue_models import CatalogueHeadItem
from chalicelib.store.facets import CounterKey, CounterLabel, counter_actions, plan_product_counters, sweep_empty
from chalicelib.store.limits import ItemTooLarge
from chalicelib.store.models import FacetItem, LookItem, LookRefItem, ProductItem, TableItem, bind_table, look_key
from chalicelib.store.products import check_product_size
from chalicelib.store.retry import backoff
from chalicelib.store.table import unavailable

CHECKPOINT_FORMAT = 1
DEFAULT_SEGMENTS = 4
DEFAULT_PAGE_SIZE = 100
# Attempts at one product's (or one counter's) conditional write before it is reported.
ATTEMPTS = 5

Raw = dict[str, Any]
Out = Callable[[str], None]


def _print(line: str) -> None:
    print(line, flush=True)


class MigrationError(Exception):
    """A run that cannot start as asked (a checkpoint of another table or segmentation)."""


@contextmanager
def bound_to(table: str) -> Iterator[None]:
    """Point the models at `table` for the block. bind_table() is called first, for the region;
    nothing called inside may bind again (the repositories' constructors do: not used here)."""
    bind_table()
    previous = TableItem.Meta.table_name
    TableItem.Meta.table_name = table
    try:
        yield
    finally:
        TableItem.Meta.table_name = previous


def _client() -> Any:
    # Made once and shared by the threads: botocore clients are thread-safe, making them is not.
    return boto3.client("dynamodb", region_name=get_settings().aws_region)


def scan_pages(
    client: Any,
    table: str,
    kind: str,
    segment: int,
    total_segments: int,
    *,
    page_size: int | None = None,
    start_key: Raw | None = None,
) -> Iterator[tuple[list[Raw], Raw | None]]:
    """One segment's pages of the items of one kind, with the LastEvaluatedKey after each (None
    after the last). Consistent reads: a recount must see every write committed before it."""
    request: dict[str, Any] = {
        "TableName": table,
        "Segment": segment,
        "TotalSegments": total_segments,
        "ConsistentRead": True,
        "FilterExpression": "#kind = :kind",
        "ExpressionAttributeNames": {"#kind": "kind"},
        "ExpressionAttributeValues": {":kind": {"S": kind}},
    }
    if page_size is not None:
        request["Limit"] = page_size
    key = start_key
    while True:
        page = client.scan(**request, **({"ExclusiveStartKey": key} if key else {}))
        key = page.get("LastEvaluatedKey")
        yield list(page.get("Items", [])), key
        if not key:
            return


def scan_all(client: Any, table: str, kind: str, segments: int) -> list[Raw]:
    def one(segment: int) -> list[Raw]:
        return [item for items, _ in scan_pages(client, table, kind, segment, segments) for item in items]

    with ThreadPoolExecutor(max_workers=segments) as pool:
        return [item for part in pool.map(one, range(segments)) for item in part]


# -- derived attributes -------------------------------------------------------------------


def _present(raw: Raw, name: str) -> bool:
    value = raw.get(name)
    return value is not None and "NULL" not in value


def derived_changes(raw: Raw) -> tuple[ProductItem, dict[str, Any]]:
    """The product as read with refresh_keys() applied, and the attributes whose stored value is
    not what the current code writes (python name -> new value, None: remove).

    Not a list of attribute names: whatever refresh_keys() derives is found by comparing, so the
    rules stay in the model. KeyError (a document without a field refresh_keys needs) and
    ValueError (an unknown discriminator or type) are the product's, for the caller to report.
    """
    stored = ProductItem.from_raw_data(raw)
    product = ProductItem.from_raw_data(raw)
    product.refresh_keys()
    if (product.pk, product.sk) != (stored.pk, stored.sk):
        raise ValueError(f"stored under {stored.pk}/{stored.sk}, its data says {product.pk}/{product.sk}")
    changes: dict[str, Any] = {}
    for name, attribute in ProductItem.get_attributes().items():
        if attribute.is_hash_key or attribute.is_range_key:
            continue
        if isinstance(attribute, (VersionAttribute, DiscriminatorAttribute)):
            continue
        new = getattr(product, name)
        present = _present(raw, attribute.attr_name)
        # Presence counts, not only the value: a sparse index key left out of the item is
        # missing from its index, and a default the model fills in on read is not stored.
        if (new is None) == present or (present and new != getattr(stored, name)):
            changes[name] = new
    return product, changes


class Outcome(Enum):
    RESAVED = "resaved"
    UNCHANGED = "unchanged"
    GONE = "gone"
    CONFLICT = "conflicts"
    FAILED = "failed"


@dataclass
class Tally:
    """What a backfill did: one per segment in the checkpoint, summed for the summary."""

    pages: int = 0
    scanned: int = 0
    resaved: int = 0
    unchanged: int = 0
    # Conditional writes that failed and were read again and redone (or found done).
    retried: int = 0
    # Products still conflicting after ATTEMPTS: left as they were, listed in `problems`.
    conflicts: int = 0
    gone: int = 0
    failed: int = 0

    def add(self, other: Tally) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    @classmethod
    def load(cls, data: dict[str, Any]) -> Tally:
        return cls(**{f.name: int(data.get(f.name, 0)) for f in fields(cls)})


def _product_key(raw: Raw) -> Raw:
    return {"pk": raw["pk"], "sk": raw["sk"]}


def resave(
    client: Any,
    table: str,
    raw: Raw,
    tally: Tally,
    problems: list[str],
    before_write: Callable[[str], None] | None = None,
) -> Outcome:
    """Write the product's derived attributes if they differ, under the version read."""
    key = _product_key(raw)
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(backoff(attempt - 1))
            raw = client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
            if raw is None or raw.get("kind", {}).get("S") != "Product":
                return Outcome.GONE
        try:
            product, changes = derived_changes(raw)
            if not changes:
                return Outcome.UNCHANGED
            check_product_size(product)
        except (KeyError, TypeError, ValueError) as exc:
            # ItemTooLarge is a ValueError: a product the current code could not store either.
            reason = f"{exc.size} bytes" if isinstance(exc, ItemTooLarge) else f"{type(exc).__name__}: {exc}"
            problems.append(f"{key['pk']['S']}: not re-saved ({reason})")
            return Outcome.FAILED
        if before_write is not None:
            before_write(product.id)
        attributes = ProductItem.get_attributes()
        actions: list[Action] = [
            attributes[name].remove() if value is None else attributes[name].set(value)
            for name, value in sorted(changes.items())
        ]
        try:
            # PynamoDB adds the version condition and increment; `exists` keeps an item without a
            # version (condition: no version) that was deleted meanwhile from coming back as a stub.
            product.update(actions=actions, condition=ProductItem.pk.exists())
        except UpdateError as exc:
            code = exc.cause_response_code
            if code != "ConditionalCheckFailedException" and unavailable(code) is None:
                raise
            # Changed since read, throttled, or an outcome unknown: a fresh read tells which.
            tally.retried += 1
            continue
        return Outcome.RESAVED
    problems.append(f"{key['pk']['S']}: still changing after {ATTEMPTS} attempts, not re-saved")
    return Outcome.CONFLICT


# -- checkpoint ---------------------------------------------------------------------------


@dataclass
class SegmentState:
    done: bool = False
    last_key: Raw | None = None
    tally: Tally = field(default_factory=Tally)


class Checkpoint:
    """Each segment's progress in one JSON file, replaced whole (temporary file, then rename) after
    every page, so a crash leaves the previous or the next state, never half of one."""

    def __init__(self, path: Path, table: str, segments: int) -> None:
        self.path = path
        self.table = table
        self.lock = threading.Lock()
        self.resumed = path.exists()
        if not self.resumed:
            self.segments = [SegmentState() for _ in range(segments)]
            return
        data = json.loads(path.read_text())
        if data.get("format") != CHECKPOINT_FORMAT or data.get("table") != table:
            raise MigrationError(f"{path} is not a backfill checkpoint of table {table}")
        if data.get("total_segments") != segments:
            # A key of one segmentation says nothing about where another's segments stand.
            raise MigrationError(f"{path} was made with --segments {data.get('total_segments')}, not {segments}")
        self.segments = [
            SegmentState(done=bool(s["done"]), last_key=s.get("last_key"), tally=Tally.load(s.get("tally", {})))
            for s in data["segments"]
        ]

    def record(self, segment: int, last_key: Raw | None, page: Tally) -> None:
        with self.lock:
            state = self.segments[segment]
            state.last_key = last_key
            state.done = last_key is None
            state.tally.add(page)
            self._write()

    def total(self) -> Tally:
        with self.lock:
            total = Tally()
            for state in self.segments:
                total.add(state.tally)
            return total

    def _write(self) -> None:
        data = {
            "format": CHECKPOINT_FORMAT,
            "table": self.table,
            "total_segments": len(self.segments),
            "segments": [{"done": s.done, "last_key": s.last_key, "tally": asdict(s.tally)} for s in self.segments],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(data, handle, indent=1)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temporary)
            raise


# -- backfill -----------------------------------------------------------------------------


@dataclass
class PageDone:
    """Passed to `on_page` once a page is processed and checkpointed."""

    segment: int
    page: int
    products: int
    done: bool


@dataclass
class BackfillReport:
    run: Tally
    total: Tally
    segments_skipped: list[int]
    problems: list[str]
    counters: CounterReport | None

    @property
    def ok(self) -> bool:
        return not self.problems and (self.counters is None or self.counters.ok)


class _Stopped(Exception):
    pass


def backfill(
    table: str,
    checkpoint_path: Path,
    *,
    segments: int = DEFAULT_SEGMENTS,
    page_size: int = DEFAULT_PAGE_SIZE,
    recount: bool = True,
    on_page: Callable[[PageDone], None] | None = None,
    before_write: Callable[[str], None] | None = None,
    out: Out = _print,
) -> BackfillReport:
    """Re-save every product whose derived attributes differ, then fix the counters.

    `on_page` runs after each page is checkpointed; an exception from it (or from anything else)
    stops every segment after its current page and is raised once they have stopped: the
    checkpoint then resumes the run. `before_write(product_id)` runs between a product's read and
    its conditional write (tests put a concurrent write there).
    """
    client = _client()
    checkpoint = Checkpoint(checkpoint_path, table, segments)
    skipped = [n for n, s in enumerate(checkpoint.segments) if s.done]
    if checkpoint.resumed:
        out(f"resuming from {checkpoint_path}: {len(skipped)} of {segments} segments done")
    stop = threading.Event()
    run = Tally()
    problems: list[str] = []
    shared = threading.Lock()

    def run_segment(segment: int) -> None:
        state = checkpoint.segments[segment]
        if state.done:
            return
        pages = scan_pages(client, table, "Product", segment, segments, page_size=page_size, start_key=state.last_key)
        for number, (items, last_key) in enumerate(pages, start=state.tally.pages + 1):
            page = Tally(pages=1, scanned=len(items))
            page_problems: list[str] = []
            for raw in items:
                page.count(resave(client, table, raw, page, page_problems, before_write))
            checkpoint.record(segment, last_key, page)
            with shared:
                run.add(page)
                problems.extend(page_problems)
                out(
                    f"segment {segment} page {number}: {page.scanned} products, {page.resaved} re-saved,"
                    f" {page.unchanged} unchanged" + ("" if last_key else " (segment done)")
                )
            if on_page is not None:
                on_page(PageDone(segment=segment, page=number, products=len(items), done=last_key is None))
            if stop.is_set() and last_key is not None:
                raise _Stopped()

    def guarded(segment: int) -> None:
        try:
            run_segment(segment)
        except _Stopped:
            pass
        except BaseException:
            stop.set()
            raise

    with bound_to(table), ThreadPoolExecutor(max_workers=segments, thread_name_prefix="backfill") as pool:
        futures = [pool.submit(guarded, n) for n in range(segments)]
        try:
            errors = [f.exception() for f in futures]
        except KeyboardInterrupt:
            stop.set()
            out("interrupted: stopping each segment after its page; run again with the same --checkpoint")
            raise
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        out(f"stopped: {type(first).__name__}: {first}; run again with the same --checkpoint to resume")
        raise first
    counters = verify_counters(table, segments=segments, fix=True, out=out) if recount else None
    # The re-saves are UpdateItems of derived attributes, not logged: the catalogues are made
    # anew from the products as they now are.
    rebuild_catalogues(table, segments=segments, out=out)
    return BackfillReport(
        run=run, total=checkpoint.total(), segments_skipped=skipped, problems=problems, counters=counters
    )


# -- catalogues ---------------------------------------------------------------------------


def rebuild_catalogues(table: str, *, segments: int = DEFAULT_SEGMENTS, out: Out = _print) -> int:
    """A snapshot of every scope's catalogue from its products (consistent Scans): for products
    written before the change log, or changed by a migration's UpdateItems. Each scope's snapshot
    takes the log number read before the products were, so a write made meanwhile is applied
    again on top of it. Returns the number of scopes."""
    client = _client()
    with bound_to(table):
        heads = {
            item.scope: int(item.seq)
            for item in (
                CatalogueHeadItem.from_raw_data(raw) for raw in scan_all(client, table, "CatalogueHead", segments)
            )
        }
        by_scope: dict[str, list[ProductItem]] = {}
        for raw in scan_all(client, table, "Product", segments):
            product = ProductItem.from_raw_data(raw)
            product.refresh_keys()
            by_scope.setdefault(product.scope, []).append(product)
        for scope in sorted(set(by_scope) | set(heads)):
            fresh = rebuild(scope, by_scope.get(scope, []), heads.get(scope, 0))
            out(
                f"catalogue {scope}: {len(by_scope.get(scope, []))} products"
                + ("" if fresh else " (newer snapshot kept)")
            )
    return len(by_scope)


# -- counters -----------------------------------------------------------------------------


@dataclass
class Expected:
    count: int = 0
    label: CounterLabel = (None, None, None)
    # The earliest product's creation: the label and first_at a recreated counter gets, as the
    # first product to take the value wrote them.
    first_at: str = "~"


@dataclass
class Drift:
    key: CounterKey
    expected: int
    stored: int | None  # None: no counter item (or one without product_count)


@dataclass
class CounterReport:
    products: int
    counters: int
    drift: list[Drift]
    unsettled: list[CounterKey]
    uncountable: list[str]
    fixed: list[Drift] = field(default_factory=list)
    not_fixed: list[Drift] = field(default_factory=list)
    fix: bool = False

    @property
    def ok(self) -> bool:
        if self.unsettled or self.uncountable:
            return False
        return not self.not_fixed if self.fix else not self.drift


def _stored_count(raw: Raw) -> int | None:
    value = raw.get("product_count")
    return int(value["N"]) if value and "N" in value else None


def _stored_counters(client: Any, table: str, segments: int) -> dict[CounterKey, int | None]:
    return {(i["pk"]["S"], i["sk"]["S"]): _stored_count(i) for i in scan_all(client, table, "Facet", segments)}


def recount_products(products: Sequence[Raw]) -> tuple[dict[CounterKey, Expected], list[str]]:
    """The counters the products count in, by the rule of a product's create."""
    expected: dict[CounterKey, Expected] = {}
    uncountable: list[str] = []
    for raw in products:
        try:
            product = ProductItem.from_raw_data(raw)
            plan = plan_product_counters(None, product)
        except (KeyError, TypeError, ValueError) as exc:
            uncountable.append(f"{raw['pk']['S']}: {type(exc).__name__}: {exc}")
            continue
        for key, label in plan.increments:
            entry = expected.setdefault(key, Expected())
            entry.count += 1
            if product.created_at < entry.first_at:
                entry.label, entry.first_at = label, product.created_at
    return expected, uncountable


def _fix_counter(client: Any, table: str, drift: Drift, label: CounterLabel, first_at: str) -> bool:
    """Add (expected - stored) on condition that the counter still holds `stored`, re-reading it
    when it does not: what it gained since came from writes after the recount's scan."""
    pk, sk = drift.key
    difference = drift.expected - (drift.stored or 0)
    facet, display, brand = label
    actions = counter_actions(difference, facet, display, brand, first_at)
    current = drift.stored
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(backoff(attempt - 1))
            item = client.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
            current = _stored_count(item.get("Item") or {})
        condition = FacetItem.product_count.does_not_exist() if current is None else FacetItem.product_count == current
        try:
            FacetItem(pk=pk, sk=sk).update(actions=actions, condition=condition)
        except UpdateError as exc:
            code = exc.cause_response_code
            if code != "ConditionalCheckFailedException" and unavailable(code) is None:
                raise
            continue
        if (current or 0) + difference <= 0:
            sweep_empty([drift.key])
        return True
    return False


def verify_counters(
    table: str,
    *,
    segments: int = DEFAULT_SEGMENTS,
    fix: bool = False,
    out: Out = _print,
) -> CounterReport:
    client = _client()
    with bound_to(table):
        before = _stored_counters(client, table, segments)
        products = scan_all(client, table, "Product", segments)
        expected, uncountable = recount_products(products)
        after = _stored_counters(client, table, segments)
        drift: list[Drift] = []
        unsettled: list[CounterKey] = []
        for key in sorted(set(expected) | set(before) | set(after)):
            if (before.get(key) or 0) != (after.get(key) or 0):
                unsettled.append(key)
                continue
            want = expected[key].count if key in expected else 0
            if want != (after.get(key) or 0):
                drift.append(Drift(key=key, expected=want, stored=after.get(key)))
        report = CounterReport(
            products=len(products),
            counters=len(after),
            drift=drift,
            unsettled=unsettled,
            uncountable=uncountable,
            fix=fix,
        )
        _print_drift(report, out)
        if fix and uncountable:
            out("not fixing: the recount is incomplete while some products cannot be counted")
            report.not_fixed = list(drift)
        elif fix:
            for item in drift:
                entry = expected.get(item.key) or Expected(first_at=iso(utcnow()))
                done = _fix_counter(client, table, item, entry.label, entry.first_at)
                (report.fixed if done else report.not_fixed).append(item)
            out(f"fixed {len(report.fixed)} counters" + (f", {len(report.not_fixed)} not" if report.not_fixed else ""))
    return report


def _print_drift(report: CounterReport, out: Out) -> None:
    out(f"{report.products} products counted; {report.counters} counter items stored")
    partition = None
    for item in report.drift:
        pk, sk = item.key
        if pk != partition:
            out(pk)
            partition = pk
        stored = "none" if item.stored is None else str(item.stored)
        out(f"  {sk}: expected {item.expected}, stored {stored}")
    for pk, sk in report.unsettled:
        out(f"{pk} {sk}: changed while the products were read; not judged, run again")
    for line in report.uncountable:
        out(f"cannot count {line}")
    out(f"{len(report.drift)} counters drifted" if report.drift else "no drift")


# -- look references keyed by scope ------------------------------------------------------


@dataclass
class RekeyTally:
    scanned: int = 0
    rekeyed: int = 0
    # References whose look is gone: deleted.
    orphans: int = 0
    # Deleted meanwhile (with their product): nothing written.
    gone: int = 0
    failed: int = 0

    def add(self, other: RekeyTally) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def rekey_ref(client: Any, table: str, raw: Raw) -> str:
    """One legacy reference rewritten under its look's scope (or deleted, its look gone): the
    RekeyTally field it counts in."""
    ref = LookRefItem.from_raw_data(raw)
    pk, sk = look_key(ref.look_id)
    look_raw = client.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
    actions: list[dict[str, Any]] = [
        {
            "Delete": {
                "TableName": table,
                "Key": {"pk": raw["pk"], "sk": raw["sk"]},
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
    ]
    if "Item" in look_raw:
        look = LookItem.from_raw_data(look_raw["Item"])
        ref.owner_id, ref.organization_id = look.owner_id, look.organization_id
        ref.refresh_keys()
        actions.append({"Put": {"TableName": table, "Item": ref.serialize()}})
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(backoff(attempt - 1))
        try:
            client.transact_write_items(TransactItems=actions, ClientRequestToken=str(uuid.uuid4()))
        except client.exceptions.TransactionCanceledException as exc:
            reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons:
                return "gone"
            # A conflicting transaction or throttling: nothing was written, try again.
            continue
        return "rekeyed" if len(actions) == 2 else "orphans"
    return "failed"


def rekey_look_refs(table: str, *, segments: int = DEFAULT_SEGMENTS, out: Out = _print) -> RekeyTally:
    """Rewrite every look reference that is not keyed by its look's scope yet (see the module's
    docstring)."""
    client = _client()
    total = RekeyTally()
    shared = threading.Lock()

    def run_segment(segment: int) -> None:
        for items, _ in scan_pages(client, table, "LookRef", segment, segments):
            page = RekeyTally(scanned=len(items))
            for raw in items:
                if not _present(raw, "owner_id"):
                    outcome = rekey_ref(client, table, raw)
                    setattr(page, outcome, getattr(page, outcome) + 1)
            with shared:
                total.add(page)

    with bound_to(table), ThreadPoolExecutor(max_workers=segments, thread_name_prefix="rekey") as pool:
        for future in [pool.submit(run_segment, n) for n in range(segments)]:
            future.result()
    out(
        f"{total.scanned} look references scanned, {total.rekeyed} rewritten under their look's scope,"
        f" {total.orphans} without a look deleted, {total.gone} deleted meanwhile, {total.failed} failed"
    )
    return total


# -- command line -------------------------------------------------------------------------


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.migrations", description="Table migrations (operators only).")
    commands = parser.add_subparsers(dest="command", required=True)
    fill = commands.add_parser("backfill", help="re-save products whose derived attributes differ, then fix counters")
    verify = commands.add_parser("verify-counters", help="recount the counters from the products and compare")
    rekey = commands.add_parser("rekey-look-refs", help="key the look references written before by their look's scope")
    catalogues = commands.add_parser("rebuild-catalogues", help="snapshot every scope's catalogue from its products")
    for command in (fill, verify, rekey, catalogues):
        command.add_argument("--table", help="the table (default: the settings' TABLE_NAME)")
        command.add_argument("--segments", type=_positive, default=DEFAULT_SEGMENTS, help="parallel Scan segments")
    fill.add_argument(
        "--page-size",
        type=_positive,
        default=DEFAULT_PAGE_SIZE,
        help="items read per Scan page (before the product filter)",
    )
    fill.add_argument(
        "--checkpoint", type=Path, help="progress file, resumed when it exists (default: backfill-<table>.json)"
    )
    verify.add_argument("--fix", action="store_true", help="write the recounted values (default: report only)")
    args = parser.parse_args(argv)
    table: str = args.table or get_settings().table_name

    if args.command == "verify-counters":
        return 0 if verify_counters(table, segments=args.segments, fix=args.fix).ok else 1
    if args.command == "rekey-look-refs":
        return 0 if rekey_look_refs(table, segments=args.segments).failed == 0 else 1
    if args.command == "rebuild-catalogues":
        rebuild_catalogues(table, segments=args.segments)
        return 0

    checkpoint: Path = args.checkpoint or Path(f"backfill-{table}.json")
    try:
        report = backfill(table, checkpoint, segments=args.segments, page_size=args.page_size)
    except MigrationError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    run, total = report.run, report.total
    print(
        f"this run: {run.pages} pages, {run.scanned} products scanned, {run.resaved} re-saved,"
        f" {run.unchanged} unchanged, {run.retried} conflicts retried, {run.conflicts} still conflicting,"
        f" {run.gone} deleted meanwhile, {run.failed} failed"
        + (f"; segments {report.segments_skipped} were already done" if report.segments_skipped else "")
    )
    print(
        f"all runs ({checkpoint}): {total.scanned} scanned, {total.resaved} re-saved, {total.unchanged} unchanged,"
        f" {total.conflicts} still conflicting, {total.failed} failed"
    )
    for line in report.problems:
        print(line)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
