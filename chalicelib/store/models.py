"""PynamoDB models of the single table.

Every entity is a subclass of `TableItem`, told apart by the `kind` discriminator. Key
attributes are derived from the entity's data by `refresh_keys()`, which the repositories
call before every write, so a key can never drift from the data it indexes.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    DiscriminatorAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.config import get_settings

# The attributes product listings filter and sort on: "kind" plus every ProductItem attribute
# declared with `slim(...)` (filled in below the class, so this list has one source). The scope
# and facet indexes project exactly these, so a listing that must filter in memory reads slim
# items and fetches whole products only for its page.
SLIM_ATTRIBUTES: list[str] = ["kind"]
_SLIM: list[Attribute[Any]] = []

A = TypeVar("A", bound=Attribute[Any])


def slim[A: Attribute[Any]](attribute: A) -> A:
    """Mark a product attribute as projected into the listing indexes."""
    _SLIM.append(attribute)
    return attribute


# The page indexes (`updated`, `attention`) only order ids: the page is fetched whole anyway.
_PAGE_ONLY = ["kind", "id"]


class ScopeIndex(GlobalSecondaryIndex[Any]):
    """A scope's enabled (or disabled) products by creation: `sort_by=created_at` pages, and
    every slim item of the scope for the filters no index serves."""

    class Meta:
        index_name = "scope"
        projection = IncludeProjection(SLIM_ATTRIBUTES)

    list_pk = UnicodeAttribute(hash_key=True)
    created_sk = UnicodeAttribute(range_key=True)


class UpdatedIndex(GlobalSecondaryIndex[Any]):
    """`sort_by=updated_at` pages."""

    class Meta:
        index_name = "updated"
        projection = IncludeProjection(_PAGE_ONLY)

    list_pk = UnicodeAttribute(hash_key=True)
    updated_sk = UnicodeAttribute(range_key=True)


class AttentionIndex(GlobalSecondaryIndex[Any]):
    """The default order (shot-status bucket, then newest change) as a sort key: read backwards."""

    class Meta:
        index_name = "attention"
        projection = IncludeProjection(_PAGE_ONLY)

    list_pk = UnicodeAttribute(hash_key=True)
    attention_sk = UnicodeAttribute(range_key=True)


class BrandIndex(GlobalSecondaryIndex[Any]):
    class Meta:
        index_name = "brand"
        projection = IncludeProjection(SLIM_ATTRIBUTES)

    brand_pk = UnicodeAttribute(hash_key=True)
    created_sk = UnicodeAttribute(range_key=True)


class SeasonIndex(GlobalSecondaryIndex[Any]):
    class Meta:
        index_name = "season"
        projection = IncludeProjection(SLIM_ATTRIBUTES)

    season_pk = UnicodeAttribute(hash_key=True)
    created_sk = UnicodeAttribute(range_key=True)


class YearIndex(GlobalSecondaryIndex[Any]):
    class Meta:
        index_name = "year"
        projection = IncludeProjection(SLIM_ATTRIBUTES)

    year_pk = UnicodeAttribute(hash_key=True)
    created_sk = UnicodeAttribute(range_key=True)


class MemberIndex(GlobalSecondaryIndex[Any]):
    """Memberships inverted: the organizations of a user."""

    class Meta:
        index_name = "member"
        projection = AllProjection()

    member_pk = UnicodeAttribute(hash_key=True)
    sk_org = UnicodeAttribute(range_key=True)


class LooksIndex(GlobalSecondaryIndex[Any]):
    """The shooting looks of which a product is the main product, newest last, whole (shots,
    revisions and push records are embedded): one Query serves every per-product look read."""

    class Meta:
        index_name = "looks"
        projection = AllProjection()

    looks_pk = UnicodeAttribute(hash_key=True)
    looks_sk = UnicodeAttribute(range_key=True)


class ExportsIndex(GlobalSecondaryIndex[Any]):
    """A user's export tasks, newest first."""

    class Meta:
        index_name = "exports"
        projection = AllProjection()

    exports_pk = UnicodeAttribute(hash_key=True)
    exports_sk = UnicodeAttribute(range_key=True)


class TableItem(Model):
    class Meta:
        table_name = "sartiq-products"
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    expires_at_ttl = TTLAttribute(null=True)

    list_pk = UnicodeAttribute(null=True)
    created_sk = UnicodeAttribute(null=True)
    updated_sk = UnicodeAttribute(null=True)
    attention_sk = UnicodeAttribute(null=True)
    brand_pk = UnicodeAttribute(null=True)
    season_pk = UnicodeAttribute(null=True)
    year_pk = UnicodeAttribute(null=True)
    member_pk = UnicodeAttribute(null=True)
    sk_org = UnicodeAttribute(null=True)
    looks_pk = UnicodeAttribute(null=True)
    looks_sk = UnicodeAttribute(null=True)
    exports_pk = UnicodeAttribute(null=True)
    exports_sk = UnicodeAttribute(null=True)

    scope_index = ScopeIndex()
    updated_index = UpdatedIndex()
    attention_index = AttentionIndex()
    brand_index = BrandIndex()
    season_index = SeasonIndex()
    year_index = YearIndex()
    member_index = MemberIndex()
    looks_index = LooksIndex()
    exports_index = ExportsIndex()

    def refresh_keys(self) -> None:
        raise NotImplementedError


def bind_table() -> None:
    """Point every model at the configured table; called once by each repository factory."""
    settings = get_settings()
    TableItem.Meta.table_name = settings.table_name
    TableItem.Meta.region = settings.aws_region  # type: ignore[attr-defined]


def user_scope(user_id: str) -> str:
    return f"USER#{user_id}"


def org_scope(org_id: str) -> str:
    return f"ORG#{org_id}"


def product_scope(owner_id: str, organization_id: str | None) -> str:
    return org_scope(organization_id) if organization_id else user_scope(owner_id)


def list_partition(scope: str, enabled: bool) -> str:
    """`enabled` is in the listing partition: `enabled=true` is the listing's default filter."""
    return f"{scope}#{'ENABLED' if enabled else 'DISABLED'}"


# The default listing order: what needs attention first (values of ProductShootingStatus).
ATTENTION_ORDER = ("TO_REVIEW", "IN_PROGRESS", "NOT_STARTED", "APPROVED")
DEFAULT_SHOT_STATUS = "NOT_STARTED"


def attention_rank(shot_status: str | None) -> int:
    status = shot_status or DEFAULT_SHOT_STATUS
    return ATTENTION_ORDER.index(status) if status in ATTENTION_ORDER else len(ATTENTION_ORDER)


def attention_key(shot_status: str | None, updated_at: str, product_id: str) -> str:
    """Read in descending order, this is bucket rank ascending, then updated_at and id descending."""
    return f"{len(ATTENTION_ORDER) - attention_rank(shot_status)}#{updated_at}#{product_id}"


class UserItem(TableItem, discriminator="User"):
    id = UnicodeAttribute()
    email = UnicodeAttribute()
    hashed_password = UnicodeAttribute()
    full_name = UnicodeAttribute(null=True)
    is_active = BooleanAttribute(default=True)
    is_superuser = BooleanAttribute(default=False)
    created_at = UnicodeAttribute()
    # Carried in every token as `ver`: raising it (a password change, logout-all) revokes every
    # token issued before. Items written before it existed read as 0, the version of the tokens
    # issued before it existed too.
    token_version = NumberAttribute(default=0)
    # When the user last set their own e-mail address (PATCH /users/me); None while it is the one
    # the account was created with. Nothing verifies an address, so invitations sent to it
    # before this moment are not this account's (services/invitations.py).
    email_changed_at = UnicodeAttribute(null=True)

    def refresh_keys(self) -> None:
        self.pk = f"USER#{self.id}"
        self.sk = "USER"


class EmailGuardItem(TableItem, discriminator="EmailGuard"):
    """Makes e-mail addresses unique: written in the same transaction as its user."""

    email = UnicodeAttribute()
    user_id = UnicodeAttribute()

    def refresh_keys(self) -> None:
        self.pk = f"EMAIL#{self.email.lower()}"
        self.sk = "EMAIL"


class OrganizationItem(TableItem, discriminator="Organization"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()

    def refresh_keys(self) -> None:
        self.pk = f"ORG#{self.id}"
        self.sk = "ORG"


class MembershipItem(TableItem, discriminator="Membership"):
    organization_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    role = UnicodeAttribute()
    created_at = UnicodeAttribute()

    def refresh_keys(self) -> None:
        self.pk = f"ORG#{self.organization_id}"
        self.sk = f"MEMBER#{self.user_id}"
        self.member_pk = f"USER#{self.user_id}"
        self.sk_org = self.pk


class MediaItem(TableItem, discriminator="Media"):
    """A stored image. `product_id` is the product that owns the object in S3; an upload
    (POST /uploads/) has none: it belongs to `owner_id` and `organization_id` until a product
    copies it, and its record expires (`expires_at_ttl`) with the object.
    """

    id = UnicodeAttribute()
    product_id = UnicodeAttribute(null=True)
    owner_id = UnicodeAttribute()
    organization_id = UnicodeAttribute(null=True)
    key = UnicodeAttribute()
    # The public fields (MediaResourcePublic, as JSON) once the image is known; an upload's is
    # filled by the ingest worker.
    public = JSONAttribute(null=True)
    created_at = UnicodeAttribute()

    # Uploads only. `status` (MediaStatus) is written by the ingest worker with a condition, as
    # are the rest; a product's own media have no status (they are ready when written).
    status = UnicodeAttribute(null=True)
    failure_reason = UnicodeAttribute(null=True)
    declared_type = UnicodeAttribute(null=True)
    declared_size = NumberAttribute(null=True)
    filename = UnicodeAttribute(null=True)
    # The ETag of the object the record describes: a delivery of the same object again is a no-op.
    etag = UnicodeAttribute(null=True)
    # S3's event sequencer of that object (padded to a fixed width): writes of the same key are
    # ordered by it, so an older object's ingest that ends last cannot overwrite a newer one's.
    sequencer = UnicodeAttribute(null=True)

    # Written by the caption worker (never with `public`, which a product write may copy).
    caption = UnicodeAttribute(null=True)
    alt_text = UnicodeAttribute(null=True)

    @property
    def ready(self) -> bool:
        return self.status is None or self.status == "READY"

    @property
    def expired(self) -> bool:
        """DynamoDB deletes expired items within a day or two, not at once: reads check the time."""
        expires = self.expires_at_ttl
        return expires is not None and expires <= datetime.now(UTC)

    def public_fields(self) -> dict[str, Any]:
        """`public` with the worker-written caption and alt text where the record has none."""
        public = dict(self.public or {})
        if public.get("caption") is None and self.caption is not None:
            public["caption"] = self.caption
        if public.get("alt_text") is None and self.alt_text is not None:
            public["alt_text"] = self.alt_text
        return public

    def refresh_keys(self) -> None:
        self.pk = f"MEDIA#{self.id}"
        self.sk = "MEDIA"


class ProductItem(TableItem, discriminator="Product"):
    id = slim(UnicodeAttribute())
    version = VersionAttribute()
    owner_id = UnicodeAttribute()
    organization_id = UnicodeAttribute(null=True)
    created_at = slim(UnicodeAttribute())
    updated_at = slim(UnicodeAttribute())

    # The whole product as its public fields (less the derived ones), kept as one JSON
    # document: one attribute to read and write, and the schema owns its shape.
    doc = JSONAttribute()
    media_ids: ListAttribute[str] = ListAttribute(of=UnicodeAttribute, default=list)  # type: ignore[arg-type]
    is_filler_explicit = BooleanAttribute(default=False)
    # Captioning: written by the product's own writes (a new task) and by the caption worker
    # (the outcome), whose conditional UpdateItems name the task they finish.
    caption_status = UnicodeAttribute(null=True)
    caption_task_id = UnicodeAttribute(null=True)
    caption_retry_count = NumberAttribute(default=0)
    caption_error = UnicodeAttribute(null=True)
    # The media id the task captions (the cover at the time), and the caption's texts: shown as
    # the cover media's caption / alt text and as the description where the user wrote none.
    caption_media_id = UnicodeAttribute(null=True)
    caption_text = UnicodeAttribute(null=True)
    caption_alt_text = UnicodeAttribute(null=True)
    caption_description = UnicodeAttribute(null=True)
    # The scope as stored: a write moves the counters from it (see store.facets).
    scope_pk = UnicodeAttribute(null=True)

    # The slim, projected copies used by listings (SLIM_ATTRIBUTES), derived from `doc`.
    name_lc = slim(UnicodeAttribute())
    sku_lc = slim(UnicodeAttribute(null=True))
    brand_lc = slim(UnicodeAttribute(null=True))
    collection_lc = slim(UnicodeAttribute(null=True))
    season_lc = slim(UnicodeAttribute(null=True))
    year = slim(NumberAttribute(null=True))
    gender = slim(UnicodeAttribute())
    type_lc = slim(UnicodeAttribute(null=True))
    archived = slim(BooleanAttribute(default=False))
    enabled = slim(BooleanAttribute(default=True))
    demo = slim(BooleanAttribute(default=False))
    is_filler = slim(BooleanAttribute(default=False))
    public = slim(BooleanAttribute(default=False))
    # Written by the shootings side too: always through a write that calls refresh_keys(),
    # so the attention index follows it.
    shot_status = slim(UnicodeAttribute(null=True))
    shooting_ids: ListAttribute[str] = slim(ListAttribute(of=UnicodeAttribute, null=True))  # type: ignore[arg-type]
    # The shootings side's copies on the product, written in the same transaction as the look
    # (store/shootings.py): the look `shot_status` follows (the most recent look of which the
    # product is the main product) and the summaries of its shots by look id ({look_id: [...]}).
    shot_status_look_id = UnicodeAttribute(null=True)
    shot_summaries = JSONAttribute(null=True)
    # Selected shots: shot type -> prediction id (POST /products/selected_shot/{id}).
    selected_shots = JSONAttribute(null=True)

    @property
    def scope(self) -> str:
        return product_scope(self.owner_id, self.organization_id)

    def refresh_keys(self) -> None:
        doc = self.doc
        self.pk = f"PRODUCT#{self.id}"
        self.sk = "PRODUCT"
        self.name_lc = str(doc["name"]).lower()
        self.sku_lc = _lower(doc.get("sku"))
        self.brand_lc = _lower(doc.get("brand"))
        self.collection_lc = _lower(doc.get("brand_collection"))
        self.season_lc = _lower(doc.get("season"))
        self.year = doc.get("year")
        self.gender = doc["gender"]
        self.type_lc = _lower(doc.get("type"))
        self.archived = bool(doc["archived"])
        self.enabled = bool(doc["enabled"])
        self.demo = bool(doc["demo"])
        self.is_filler = bool(doc["is_filler"])
        self.public = bool(doc["public"])
        scope = self.scope
        self.scope_pk = scope
        self.list_pk = list_partition(scope, self.enabled)
        self.created_sk = f"{self.created_at}#{self.id}"
        self.updated_sk = f"{self.updated_at}#{self.id}"
        self.attention_sk = attention_key(self.shot_status, self.updated_at, self.id)
        # Sparse facet indexes: a product without the value is simply absent from them.
        self.brand_pk = facet_index_key(scope, "brand", self.brand_lc) if self.brand_lc else None
        self.season_pk = facet_index_key(scope, "season", self.season_lc) if self.season_lc else None
        self.year_pk = facet_index_key(scope, "year", int(self.year)) if self.year is not None else None


SLIM_ATTRIBUTES.extend(attribute.attr_name for attribute in _SLIM)


class ShootingItem(TableItem, discriminator="Shooting"):
    id = UnicodeAttribute()
    version = VersionAttribute()
    name = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    organization_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()

    def refresh_keys(self) -> None:
        self.pk = f"SHOOTING#{self.id}"
        self.sk = "SHOOTING"


class LookItem(TableItem, discriminator="Look"):
    """A shooting look with its shots, their revisions and push records embedded (JSON, stored
    shapes of services/shootings.py): one item, read whole, written under its version."""

    id = UnicodeAttribute()
    version = VersionAttribute()
    shooting_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    organization_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    doc = JSONAttribute()
    shots = JSONAttribute(default=list)

    def refresh_keys(self) -> None:
        self.pk, self.sk = look_key(self.id)
        self.looks_pk = f"LOOKS#{self.product_id}"
        self.looks_sk = f"{self.created_at}#{self.id}"


LOOKREF_PREFIX = "LOOKREF#"


def look_key(look_id: str) -> tuple[str, str]:
    return f"LOOK#{look_id}", "LOOK"


def look_ref_prefix(scope: str | None) -> str:
    """The sort-key prefix of one scope's look references in a product's partition (every
    scope's with None)."""
    return f"{LOOKREF_PREFIX}{scope}#" if scope else LOOKREF_PREFIX


def look_ref_sk(owner_id: str, organization_id: str | None, created_at: str, look_id: str) -> str:
    return f"{look_ref_prefix(product_scope(owner_id, organization_id))}{created_at}#{look_id}"


class LookRefItem(TableItem, discriminator="LookRef"):
    """A look a product takes part in (as main product or in the outfit), under the product and
    keyed by the look's scope, newest first within it: a page of the related looks a reader may
    see is one Query of their scope's references, whatever other tenants' looks name the product
    (a public one); and the product's delete removes them with its partition."""

    product_id = UnicodeAttribute()
    look_id = UnicodeAttribute()
    role = UnicodeAttribute()  # "main" or "outfit"
    created_at = UnicodeAttribute()
    # The look's scope. Null on a reference written before references were keyed by scope
    # (`LOOKREF#<created_at>#<look>`), until `python -m ops.migrations rekey-look-refs` rewrites it.
    owner_id = UnicodeAttribute(null=True)
    organization_id = UnicodeAttribute(null=True)

    def refresh_keys(self) -> None:
        if self.owner_id is None:
            raise ValueError("a look reference is keyed by its look's scope: owner_id is required")
        self.pk = f"PRODUCT#{self.product_id}"
        self.sk = look_ref_sk(self.owner_id, self.organization_id, self.created_at, self.look_id)


class ShotRefItem(TableItem, discriminator="ShotRef"):
    """Where a shot lives (its look): the by-id shot routes read this, then the look."""

    shot_id = UnicodeAttribute()
    look_id = UnicodeAttribute()
    product_id = UnicodeAttribute()

    def refresh_keys(self) -> None:
        self.pk = f"SHOT#{self.shot_id}"
        self.sk = "SHOT"


class ExportTaskItem(TableItem, discriminator="ExportTask"):
    """An export of approved shots. `request` is the validated ExportApprovedShotsRequest (and the
    organization it was made in); the worker owns status, progress and the archive's fields,
    written with conditions that never overwrite CANCELLED (store/exports.py)."""

    id = UnicodeAttribute()
    version = VersionAttribute()
    owner_id = UnicodeAttribute()
    organization_id = UnicodeAttribute(null=True)
    task_type = UnicodeAttribute()
    status = UnicodeAttribute()
    progress = NumberAttribute(default=0)
    total_items = NumberAttribute(default=0)
    processed_items = NumberAttribute(default=0)
    # What the run left out because the task's owner may not read it (services/export_runs.py).
    skipped_items = NumberAttribute(default=0)
    request = JSONAttribute()
    object_key = UnicodeAttribute(null=True)
    object_size = NumberAttribute(null=True)
    error_message = UnicodeAttribute(null=True)
    started_at = UnicodeAttribute(null=True)
    completed_at = UnicodeAttribute(null=True)
    # When the download link handed out last expires (the record and object go after it).
    download_expires_at = UnicodeAttribute(null=True)
    # Failed runs so far (FAILED at settings.export_max_attempts).
    failures = NumberAttribute(default=0)
    # The worker run that holds the task (a duplicate delivery finds it held and stops).
    lease_id = UnicodeAttribute(null=True)
    lease_until = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()

    def refresh_keys(self) -> None:
        self.pk = f"EXPORT#{self.id}"
        self.sk = "EXPORT"
        self.exports_pk = f"USER#{self.owner_id}"
        self.exports_sk = f"{self.created_at}#{self.id}"


class FacetItem(TableItem, discriminator="Facet"):
    """A counter of one facet value in one scope (or one shard of the all-scopes view).

    `product_count` is how many products carry the value; `registered` how many registered brands or
    collections bear the name (`entity_id` is the registration, and the item is its
    uniqueness guard). A value is listed while either is above zero.
    """

    facet = UnicodeAttribute(null=True)
    value = UnicodeAttribute(null=True)
    brand = UnicodeAttribute(null=True)
    product_count = NumberAttribute(default=0)
    registered = NumberAttribute(default=0)
    entity_id = UnicodeAttribute(null=True)
    first_at = UnicodeAttribute(null=True)


class _RegisteredName(TableItem):
    """A registered brand or collection: a named entity of one scope, keyed `<PREFIX>#<id>`."""

    key_prefix = ""

    id = UnicodeAttribute()
    version = VersionAttribute()
    name = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    organization_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()

    @property
    def scope(self) -> str:
        return product_scope(self.owner_id, self.organization_id)

    def refresh_keys(self) -> None:
        self.pk = f"{self.key_prefix}#{self.id}"
        self.sk = self.key_prefix


class BrandItem(_RegisteredName, discriminator="Brand"):
    key_prefix = "BRAND"


class CollectionItem(_RegisteredName, discriminator="Collection"):
    key_prefix = "COLLECTION"

    brand = UnicodeAttribute()


def _lower(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return text or None


_MAX_KEY_PART = 256


def _part(value: str) -> str:
    """A free-text key part: quoted so that a '#' in a name cannot forge a key boundary, and
    shortened with a digest when long (key attributes have a byte limit, names may not)."""
    quoted = quote(value, safe="")
    if len(quoted) <= _MAX_KEY_PART:
        return quoted
    return f"{quoted[:128]}~{hashlib.sha256(value.encode()).hexdigest()}"


def facet_index_key(scope: str, facet: str, value: str | int) -> str:
    if facet == "year":
        return f"{scope}#YEAR#{int(value)}"
    return f"{scope}#{facet.upper()}#{_part(str(value).strip().lower())}"


# -- facet counters ------------------------------------------------------------------------

FACETS = ("brand", "collection", "season", "year")
# The all-scopes (superuser) view is spread over shards so that product writes do not all
# land on one partition key; a read queries every shard.
ALL_SCOPES_SHARDS = 10


def facet_counter_pk(scope: str) -> str:
    return f"FACETS#{scope}"


def list_counter_sk(enabled: bool) -> str:
    """The product count of a listing partition (see `list_partition`), beside the facets."""
    return f"PRODUCTS#{'ENABLED' if enabled else 'DISABLED'}"


def facet_all_pks() -> list[str]:
    return [f"FACETS#ALL#{n}" for n in range(ALL_SCOPES_SHARDS)]


def facet_shard_pk(entity_id: str) -> str:
    shard = int(hashlib.sha256(entity_id.encode()).hexdigest(), 16) % ALL_SCOPES_SHARDS
    return f"FACETS#ALL#{shard}"


def facet_sk(facet: str, value: str | int, brand: str | None = None) -> str:
    if facet == "year":
        return f"YEAR#{int(value)}"
    lowered = str(value).strip().lower()
    if facet == "collection":
        return f"COLLECTION#{_part(_lower(brand) or '')}#{_part(lowered)}"
    return f"{facet.upper()}#{_part(lowered)}"


def facet_prefix(facet: str, brand: str | None = None) -> str:
    if facet == "collection" and brand is not None:
        return f"COLLECTION#{_part(_lower(brand) or '')}#"
    return f"{facet.upper()}#"


def stored_facet_sks(product: ProductItem) -> set[str]:
    """The counters a product item counts in, from its stored (slim) attributes."""
    sks = set()
    if product.brand_lc:
        sks.add(facet_sk("brand", product.brand_lc))
    if product.collection_lc:
        sks.add(facet_sk("collection", product.collection_lc, product.brand_lc))
    if product.season_lc:
        sks.add(facet_sk("season", product.season_lc))
    if product.year is not None:
        sks.add(facet_sk("year", int(product.year)))
    return sks


def doc_facet_values(doc: dict[str, Any]) -> dict[str, tuple[str, str, str | None]]:
    """sk -> (facet, display value, brand display) for a product document."""
    out: dict[str, tuple[str, str, str | None]] = {}
    brand = str(doc["brand"]).strip() if _lower(doc.get("brand")) else None
    if brand:
        out[facet_sk("brand", brand)] = ("brand", brand, None)
    if _lower(doc.get("brand_collection")):
        collection = str(doc["brand_collection"]).strip()
        out[facet_sk("collection", collection, brand)] = ("collection", collection, brand)
    if _lower(doc.get("season")):
        season = str(doc["season"]).strip()
        out[facet_sk("season", season)] = ("season", season, None)
    if doc.get("year") is not None:
        out[facet_sk("year", int(doc["year"]))] = ("year", str(int(doc["year"])), None)
    return out


# The generation kinds live in their own module; imported here so that every read of the table
# (a product's partition holds generations) knows their discriminators.
# And the catalogue's log, head and snapshot parts (store/catalogue.py).
from chalicelib.store import catalogue_models as _catalogue_models  # noqa: E402, F401
from chalicelib.store import generation_models as _generation_models  # noqa: E402, F401

# Likewise the invitations (an organization's partition holds them beside its members).
from chalicelib.store import invitation_models as _invitation_models  # noqa: E402, F401

# And the failed sign-in counters, so that a read of any partition knows every kind of the table.
from chalicelib.store import login_attempts as _login_attempts  # noqa: E402, F401
