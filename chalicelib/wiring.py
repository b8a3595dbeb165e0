"""The services, built once per process (lazily: nothing at import), for routes and workers alike.

Each factory imports its service module on first use, so importing this module does not load
every service with its store and schemas: a cold start loads the ones its entry point needs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.services.accounts import AccountService
    from chalicelib.services.captioning import Captioner
    from chalicelib.services.captions import CaptionService
    from chalicelib.services.catalog import CatalogService
    from chalicelib.services.export_runs import ExportRunner
    from chalicelib.services.exports import ExportService
    from chalicelib.services.generations import GenerationService
    from chalicelib.services.ingest import MediaIngest
    from chalicelib.services.invitations import InvitationService
    from chalicelib.services.listing import ProductListing
    from chalicelib.services.organizations import OrganizationService
    from chalicelib.services.products import ProductService
    from chalicelib.services.shootings import ShootingService
    from chalicelib.services.uploads import UploadService
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
def invitations() -> InvitationService:
    from chalicelib.services.invitations import InvitationService

    return InvitationService()


@lru_cache(maxsize=1)
def accounts() -> AccountService:
    from chalicelib.services.accounts import AccountService

    return AccountService()


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
def org_repository() -> OrganizationRepository:
    from chalicelib.store.organizations import OrganizationRepository

    return OrganizationRepository()


@lru_cache(maxsize=1)
def uploads() -> UploadService:
    from chalicelib.services.uploads import UploadService

    return UploadService()


@lru_cache(maxsize=1)
def media_ingest() -> MediaIngest:
    from chalicelib.services.ingest import MediaIngest

    return MediaIngest()


@lru_cache(maxsize=1)
def captioner() -> Captioner:
    from chalicelib.config import get_settings
    from chalicelib.services.captioning import build_captioner

    return build_captioner(get_settings().captioner)


@lru_cache(maxsize=1)
def captions() -> CaptionService:
    from chalicelib.services.captions import CaptionService

    return CaptionService()


@lru_cache(maxsize=1)
def shootings() -> ShootingService:
    from chalicelib.services.shootings import ShootingService

    return ShootingService()


@lru_cache(maxsize=1)
def generations() -> GenerationService:
    from chalicelib.services.generations import GenerationService

    return GenerationService()


@lru_cache(maxsize=1)
def export_runner() -> ExportRunner:
    from chalicelib.services.export_runs import ExportRunner

    return ExportRunner()


@lru_cache(maxsize=1)
def exports() -> ExportService:
    from chalicelib.services.exports import ExportService

    return ExportService()
