"""Facet lists (brands, collections, seasons, years) and the brand/collection registry."""

from __future__ import annotations

import uuid

from chalicelib.errors import Busy, NotFound
from chalicelib.schemas.catalog import (
    BrandCollectionCreate,
    BrandCollectionPublic,
    BrandCreate,
    BrandPublic,
    BrandUpdate,
)
from chalicelib.schemas.common import iso, utcnow
from chalicelib.services.access import Caller
from chalicelib.store.facets import FacetRow, read_facet
from chalicelib.store.models import BrandItem, CollectionItem, product_scope
from chalicelib.store.registry import RegistryRepository
from chalicelib.store.retry import with_retries


def brand_public(item: BrandItem) -> BrandPublic:
    return BrandPublic.model_validate(
        {k: getattr(item, k) for k in ("id", "name", "owner_id", "organization_id", "created_at", "updated_at")}
    )


def collection_public(item: CollectionItem) -> BrandCollectionPublic:
    return BrandCollectionPublic.model_validate(
        {
            k: getattr(item, k)
            for k in ("id", "name", "brand", "owner_id", "organization_id", "created_at", "updated_at")
        }
    )


class CatalogService:
    def __init__(self, registry: RegistryRepository | None = None) -> None:
        self.registry = registry or RegistryRepository()

    # -- distinct values -----------------------------------------------------------------

    def values(
        self, caller: Caller, facet: str, organization_id: str | None, brand: str | None = None
    ) -> list[FacetRow]:
        """A superuser sees every scope; anyone else their personal scope, or a member's org."""
        if organization_id is not None:
            caller.require_member(organization_id)
            scope: str | None = product_scope(caller.id, organization_id)
        elif caller.is_superuser:
            scope = None
        else:
            scope = product_scope(caller.id, None)
        return read_facet(scope, facet, brand if brand and brand.strip() else None)

    # -- registry ------------------------------------------------------------------------

    def create_brand(self, caller: Caller, data: BrandCreate, organization_id: str | None) -> BrandItem:
        org_id = caller.target_organization(data.organization_id, organization_id)
        now = iso(utcnow())
        item = BrandItem(
            id=str(uuid.uuid4()),
            name=data.name,
            owner_id=caller.id,
            organization_id=org_id,
            created_at=now,
            updated_at=now,
        )
        with_retries(lambda: self.registry.create_brand(item), retry_on=(Busy,))
        return item

    def _visible_brand(self, caller: Caller, brand_id: str) -> BrandItem:
        item = self.registry.get_brand(brand_id)
        if item is None or not caller.in_scope(item.owner_id, item.organization_id):
            raise NotFound("Brand not found")
        return item

    def get_brand(self, caller: Caller, brand_id: str) -> BrandItem:
        return self._visible_brand(caller, brand_id)

    def update_brand(self, caller: Caller, brand_id: str, data: BrandUpdate) -> BrandItem:
        def attempt() -> BrandItem:
            item = self._visible_brand(caller, brand_id)
            old_name = item.name
            if old_name == data.name:
                return item
            item.name = data.name
            item.updated_at = iso(utcnow())
            self.registry.rename_brand(item, old_name)
            return item

        return with_retries(attempt)

    def create_collection(
        self, caller: Caller, data: BrandCollectionCreate, organization_id: str | None
    ) -> CollectionItem:
        org_id = caller.target_organization(data.organization_id, organization_id)
        now = iso(utcnow())
        item = CollectionItem(
            id=str(uuid.uuid4()),
            name=data.name,
            brand=data.brand,
            owner_id=caller.id,
            organization_id=org_id,
            created_at=now,
            updated_at=now,
        )
        with_retries(lambda: self.registry.create_collection(item), retry_on=(Busy,))
        return item
