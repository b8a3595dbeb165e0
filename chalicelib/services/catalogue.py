"""The product catalogues a function keeps in memory, caught up from the log before each use.

A scope's catalogue holds, for each of its products, the fields listings filter and sort on,
packed in one bytes object (strings the scope repeats, such as brands, seasons and types, as
numbers into a table of its own): about 200 bytes a product (tests/unit/test_catalogue_entries.py,
`bench.listing_pages`). Listing a scope then reads no product but the page's.

Before answering, `Catalogues.current` reads the changes after the number it holds, with the
log's head, in one consistent Query (store.catalogue): a write committed before the request
began is in the answer, whichever instance made it. A catalogue too far behind, or not yet
loaded, is read from the newest snapshot and the changes after it; a catalogue whose log has
grown long since the newest snapshot writes a new one, so a cold start stays one compact read.
"""

from __future__ import annotations

import logging
import struct
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from pynamodb.exceptions import PynamoDBException

from chalicelib.errors import Unavailable
from chalicelib.store import catalogue as log

logger = logging.getLogger(__name__)

# Times, year, codes (brand, collection, season, gender, type, shot status), flags, shooting
# count, name length; then the shootings' UUIDs, the name's UTF-8 and the SKU's.
_HEADER = struct.Struct("<qqi6IBHH")
_NO_YEAR = -(2**31)
_HAS_SKU = 1 << 7
# Changes read in one warm catch-up before the snapshot is cheaper to read.
CATCH_UP_LIMIT = 500
# Changes after the newest snapshot at which a caught-up catalogue writes a new one.
SNAPSHOT_EVERY = 500
_LOAD_ATTEMPTS = 3


class Entry(NamedTuple):
    """A product as listings see it: the slim attributes under ProductItem's names."""

    id: str
    name_lc: str
    sku_lc: str | None
    brand_lc: str | None
    collection_lc: str | None
    season_lc: str | None
    year: int | None
    gender: str | None
    type_lc: str | None
    archived: bool
    enabled: bool
    demo: bool
    is_filler: bool
    public: bool
    shot_status: str | None
    shooting_ids: tuple[str, ...]
    created_at: int  # microseconds since the epoch: the same order as the stored ISO strings
    updated_at: int


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(value: str) -> int:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


def _iso(micros: int) -> str:
    return (_EPOCH + micros * _MICROSECOND).isoformat()


def _key(product_id: str) -> bytes:
    """16 bytes for the UUIDs the service gives; any other id (never 16 bytes long) as text."""
    try:
        parsed = uuid.UUID(product_id)
    except ValueError:
        parsed = None
    if parsed is not None and str(parsed) == product_id:
        return parsed.bytes
    key = b"\0" + product_id.encode()
    return b"\0" + key if len(key) == 16 else key


_new_entry = tuple.__new__


def _uuid_text(raw: bytes) -> str:
    """str(uuid.UUID(bytes=raw)), three times as fast."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _id(key: bytes) -> str:
    # No id starts with NUL (ids come from paths and JSON): the prefix is unambiguous.
    return str(uuid.UUID(bytes=key)) if len(key) == 16 else key.lstrip(b"\0").decode()


class ScopeCatalogue:
    """One scope's products at log number `seq`."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.seq = 0
        self.epoch = 0
        self.records: dict[bytes, bytes] = {}
        self._strings: list[str | None] = [None]
        self._codes: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.records)

    def _code(self, value: str | None) -> int:
        if value is None:
            return 0
        code = self._codes.get(value)
        if code is None:
            code = self._codes[value] = len(self._strings)
            self._strings.append(value)
        return code

    def apply(self, product_id: str, entry: log.WireEntry | None) -> None:
        key = _key(product_id)
        if entry is None:
            self.records.pop(key, None)
            return
        (_, name, sku, brand, collection, season, year, gender, type_lc, flags, status, shootings, created, updated) = (
            entry
        )
        name_bytes = name.encode()
        codes = [self._code(v) for v in (brand, collection, season, gender, type_lc, status)]
        header = _HEADER.pack(
            _micros(created),
            _micros(updated),
            _NO_YEAR if year is None else int(year),
            *codes,
            flags | (_HAS_SKU if sku is not None else 0),
            len(shootings),
            len(name_bytes),
        )
        # Inline, not interned: a shooting's id is 16 bytes here, 140 in a table of strings.
        shooting_bytes = b"".join(uuid.UUID(s).bytes for s in shootings)
        self.records[key] = header + shooting_bytes + name_bytes + (sku.encode() if sku is not None else b"")

    def _decode(self, key: bytes, record: bytes) -> Entry:
        created, updated, year, brand, collection, season, gender, type_lc, status, flags, count, name_len = (
            _HEADER.unpack_from(record)
        )
        strings = self._strings
        start = _HEADER.size
        end = start + 16 * count
        shootings = tuple(_uuid_text(record[i : i + 16]) for i in range(start, end, 16)) if count else ()
        # Positionally, in Entry's field order: the decode runs for every product of every listing.
        return _new_entry(
            Entry,
            (
                _uuid_text(key) if len(key) == 16 else _id(key),
                record[end : end + name_len].decode(),
                record[end + name_len :].decode() if flags & _HAS_SKU else None,
                strings[brand],
                strings[collection],
                strings[season],
                None if year == _NO_YEAR else year,
                strings[gender],
                strings[type_lc],
                bool(flags & 1),
                bool(flags & 2),
                bool(flags & 4),
                bool(flags & 8),
                bool(flags & 16),
                strings[status],
                shootings,
                created,
                updated,
            ),
        )

    def entries(self) -> Iterator[Entry]:
        decode = self._decode
        # A copy (made under the GIL): another thread's catch-up may apply changes meanwhile.
        for key, record in list(self.records.items()):
            yield decode(key, record)

    def wire_entries(self) -> Iterator[log.WireEntry]:
        for e in self.entries():
            flags = sum(1 << i for i, name in enumerate(log.FLAG_ATTRIBUTES) if getattr(e, name))
            yield [
                e.id,
                e.name_lc,
                e.sku_lc,
                e.brand_lc,
                e.collection_lc,
                e.season_lc,
                e.year,
                e.gender,
                e.type_lc,
                flags,
                e.shot_status,
                list(e.shooting_ids),
                _iso(e.created_at),
                _iso(e.updated_at),
            ]


class Catalogues:
    """The scopes' catalogues of this process, each caught up on use."""

    def __init__(self, write_snapshots: bool = True) -> None:
        self.write_snapshots = write_snapshots
        self._scopes: dict[str, ScopeCatalogue] = {}
        self._lock = threading.Lock()

    def current(self, scope: str) -> ScopeCatalogue:
        """The scope's catalogue with every change committed before this call."""
        with self._lock:
            held = self._scopes.get(scope)
            catalogue = self._catch_up(held) if held is not None else None
            if catalogue is None:
                catalogue = self._load(scope)
            self._scopes[scope] = catalogue
            return catalogue

    def forget(self) -> None:
        with self._lock:
            self._scopes.clear()

    def _catch_up(self, catalogue: ScopeCatalogue) -> ScopeCatalogue | None:
        read = log.read_changes(catalogue.scope, catalogue.seq, CATCH_UP_LIMIT)
        if not read.complete:
            return None
        head_seq, epoch = (int(read.head.seq), int(read.head.epoch)) if read.head is not None else (0, 0)
        if head_seq < catalogue.seq or epoch != catalogue.epoch:
            # The log is younger than what this catalogue holds (the table was replaced), or a
            # rebuild made a snapshot with products no change names.
            return None
        if not self._apply(catalogue, read):
            return None
        self._maybe_snapshot(catalogue, read.head)
        return catalogue

    def _load(self, scope: str) -> ScopeCatalogue:
        for _ in range(_LOAD_ATTEMPTS):
            head = log.read_head(scope)
            catalogue = ScopeCatalogue(scope)
            if head is None:
                return catalogue
            try:
                entries = log.read_snapshot(head)
            except log.SnapshotGone:
                continue
            for entry in entries:
                catalogue.apply(entry[0], entry)
            catalogue.seq = int(head.snapshot_seq or 0) if head.snapshot_parts else 0
            catalogue.epoch = int(head.epoch or 0)
            read = log.read_changes(scope, catalogue.seq, None)
            if self._apply(catalogue, read):
                self._maybe_snapshot(catalogue, read.head)
                return catalogue
        raise RuntimeError(f"the catalogue of {scope} kept changing under its reads")

    @staticmethod
    def _apply(catalogue: ScopeCatalogue, read: log.LogRead) -> bool:
        """Apply the changes in order; False when one is missing (deleted with an old snapshot:
        this catalogue is behind the snapshot that replaced them)."""
        for change in read.changes:
            seq = int(change.seq)
            if seq != catalogue.seq + 1:
                return False
            catalogue.apply(change.product_id, log.decode_entry(change))
            catalogue.seq = seq
        return True

    def _maybe_snapshot(self, catalogue: ScopeCatalogue, head: Any) -> None:
        if not self.write_snapshots or head is None or int(head.seq) != catalogue.seq:
            return
        base = int(head.snapshot_seq or 0) if head.snapshot_parts else 0
        if catalogue.seq - base >= SNAPSHOT_EVERY:
            try:
                log.write_snapshot(head, catalogue.seq, catalogue.wire_entries())
            except (PynamoDBException, Unavailable):
                # An optimization for the next cold start, not this answer: the next caught-up
                # instance tries again.
                logger.warning("catalogue snapshot not written", extra={"scope": catalogue.scope}, exc_info=True)
