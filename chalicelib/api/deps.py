"""Services built once per process (lazily: nothing at import), and the current caller.

Each factory imports its service module on first use, so importing deps (every blueprint
does) does not load every service with its store and schemas: a cold start loads the ones
its route needs, and whatever the blueprints import themselves.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from chalicelib.api.request import bearer_token
from chalicelib.errors import NotAuthenticated

if TYPE_CHECKING:
    from chalice.app import Request

    from chalicelib.services.access import Caller
    from chalicelib.services.catalog import CatalogService
    from chalicelib.services.listing import ProductListing
    from chalicelib.services.organizations import OrganizationService
    from chalicelib.services.products import ProductService
    from chalicelib.services.users import UserService
    from chalicelib.store.organizations import OrganizationRepository


@lru_cache(maxsize=1)
def users() -> UserService:
    from chalicelib.services.users import UserService

    return UserService()


@lru_cache(maxsize=1)
def organizations() -> OrganizationService:
    from chalicelib.services.organizations import OrganizationService

    return OrganizationService()


@lru_cache(maxsize=1)
def products() -> ProductService:
    from chalicelib.services.products import ProductService

    return ProductService()


@lru_cache(maxsize=1)
def catalog() -> CatalogService:
    from chalicelib.services.catalog import CatalogService

    return CatalogService()


@lru_cache(maxsize=1)
def listing() -> ProductListing:
    from chalicelib.services.listing import ProductListing

    return ProductListing()


@lru_cache(maxsize=1)
def _org_repository() -> OrganizationRepository:
    from chalicelib.store.organizations import OrganizationRepository

    return OrganizationRepository()


def caller(request: Request) -> Caller:
    from chalicelib.services.access import Caller

    token = bearer_token(request)
    if token is None:
        raise NotAuthenticated()
    return Caller(user=users().current_user(token), orgs=_org_repository())
