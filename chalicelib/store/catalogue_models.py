"""The items of a scope's catalogue partition, `CATALOGUE#<scope>`:

- `LOGHEAD`: the last sequence number given to a change, and the newest snapshot's;
- `LOG#<seq>`: one product's listing entry as written by the change with that number (or its
  removal from the scope), put in the same transaction as the product;
- `SNAP#<seq>#<part>`: the whole catalogue at `seq`, zlib-compressed JSON, cut in parts that
  each fit an item.

`LOG#` sorts before `LOGHEAD` (`#` < `H`), so one Query from `LOG#<n>` to `LOGHEAD` reads the
changes after `n` and the head in one call.

These kinds are registered by chalicelib/store/models.py (imported at its end), so every reader
of the table knows them.
"""

from __future__ import annotations

from pynamodb.attributes import BinaryAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.store.models import TableItem

HEAD_SK = "LOGHEAD"


def catalogue_pk(scope: str) -> str:
    return f"CATALOGUE#{scope}"


def log_sk(seq: int) -> str:
    return f"LOG#{seq:012d}"


def snapshot_sk(seq: int, part: int) -> str:
    return f"SNAP#{seq:012d}#{part:04d}"


class CatalogueHeadItem(TableItem, discriminator="CatalogueHead"):
    scope = UnicodeAttribute()
    seq = NumberAttribute(default=0)
    snapshot_seq = NumberAttribute(default=0)
    snapshot_parts = NumberAttribute(default=0)
    # Raised by a rebuild (store.catalogue.rebuild): its snapshot may hold what no change in the
    # log says (products from before the log), so a catalogue of another epoch is read anew.
    epoch = NumberAttribute(default=0)

    def refresh_keys(self) -> None:
        self.pk, self.sk = catalogue_pk(self.scope), HEAD_SK


class CatalogueChangeItem(TableItem, discriminator="CatalogueChange"):
    seq = NumberAttribute()
    product_id = UnicodeAttribute()
    # The product's listing entry as JSON (store.catalogue.entry_of), absent when the change
    # took it out of the scope.
    entry = UnicodeAttribute(null=True)


class CatalogueChunkItem(TableItem, discriminator="CatalogueChunk"):
    seq = NumberAttribute()
    part = NumberAttribute()
    parts = NumberAttribute()
    data = BinaryAttribute(legacy_encoding=False)
