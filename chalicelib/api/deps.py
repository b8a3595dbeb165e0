"""Services built once per process (lazily: nothing at import), and the current caller."""

from __future__ import annotations

from functools import lru_cache

from chalice.app import Request

from chalicelib.api.request import bearer_token
from chalicelib.errors import NotAuthenticated
from chalicelib.services.access import Caller
from chalicelib.services.catalog import CatalogService
from chalicelib.services.listing import ProductListing
from chalicelib.services.organizations import OrganizationService
from chalicelib.services.products import ProductService
from chalicelib.services.users import UserService
from chalicelib.store.organizations import OrganizationRepository


@lru_cache(maxsize=1)
def users() -> UserService:
    return UserService()


@lru_cache(maxsize=1)
def organizations() -> OrganizationService:
    return OrganizationService()


@lru_cache(maxsize=1)
def products() -> ProductService:
    return ProductService()


@lru_cache(maxsize=1)
def catalog() -> CatalogService:
    return CatalogService()


@lru_cache(maxsize=1)
def listing() -> ProductListing:
    return ProductListing()


@lru_cache(maxsize=1)
def _org_repository() -> OrganizationRepository:
    return OrganizationRepository()


def caller(request: Request) -> Caller:
    token = bearer_token(request)
    if token is None:
        raise NotAuthenticated()
    return Caller(user=users().current_user(token), orgs=_org_repository())
