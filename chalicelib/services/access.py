"""Tenancy: who may read and write what. Every route asks here, nowhere else.

A product is personal (no organization: its owner's) or belongs to one organization (its
members'). A superuser reads and writes everything; `public` products are readable by every
signed-in user. A product the caller may not see is reported as not found.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from chalicelib.errors import Forbidden, InvalidField, NotFound
from chalicelib.store.models import LookItem, MembershipItem, ProductItem, UserItem
from chalicelib.store.organizations import OrganizationRepository


@dataclass
class Caller:
    user: UserItem
    orgs: OrganizationRepository = field(default_factory=OrganizationRepository)
    _memberships: dict[str, MembershipItem | None] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.user.id

    @property
    def is_superuser(self) -> bool:
        return bool(self.user.is_superuser)

    def membership(self, org_id: str) -> MembershipItem | None:
        if org_id not in self._memberships:
            self._memberships[org_id] = self.orgs.membership(org_id, self.id)
        return self._memberships[org_id]

    def is_member(self, org_id: str) -> bool:
        return self.membership(org_id) is not None

    def require_member(self, org_id: str) -> None:
        """The `organization_id` query parameter: membership required, else 403."""
        if self.is_superuser:
            if self.orgs.get(org_id) is None:
                raise NotFound("Organization not found")
            return
        if not self.is_member(org_id):
            raise Forbidden("Not enough permissions")

    def target_organization(self, body_value: uuid.UUID | None, query_org: str | None) -> str | None:
        """The organization a new record goes to: the body's or the query's (they must agree),
        where the caller must be a member; None for a personal record."""
        body_org = str(body_value) if body_value else None
        if body_org and query_org and body_org != query_org:
            raise InvalidField.single(["organization_id"], "Must match the organization_id query parameter", body_org)
        org_id = body_org or query_org
        if org_id:
            self.require_member(org_id)
        return org_id

    def is_org_owner(self, org_id: str) -> bool:
        member = self.membership(org_id)
        return member is not None and member.role == "owner"

    def is_org_admin(self, org_id: str) -> bool:
        """Manages the organization's name, members and invitations: its owner, an admin, a superuser."""
        if self.is_superuser:
            return True
        member = self.membership(org_id)
        return member is not None and member.role in ("owner", "admin")

    def sees_look(self, look: LookItem, product_id: str) -> bool:
        """A look of that product (as its main product) that the caller may access: where an id
        leads from a product to its looks (an export, a generation's look or shot)."""
        return look.product_id == product_id and self.in_scope(look.owner_id, look.organization_id)

    def in_scope(self, owner_id: str, organization_id: str | None) -> bool:
        """The one tenancy rule of a scoped record (product, upload, shooting, look, generation):
        an organization's belongs to its members, a personal one to its owner; a superuser's all."""
        if self.is_superuser:
            return True
        if organization_id:
            return self.is_member(organization_id)
        return owner_id == self.id

    def can_write(self, product: ProductItem) -> bool:
        return self.in_scope(product.owner_id, product.organization_id)

    def can_read(self, product: ProductItem) -> bool:
        return bool(product.public) or self.can_write(product)

    def check_product(self, product: ProductItem | None, organization_id: str | None, *, write: bool) -> ProductItem:
        """Resolve a by-id product access.

        With `organization_id`, the caller must be a member (403) and the product must belong
        to that organization (404). Without it, membership is checked from the product itself.
        """
        if organization_id is not None:
            self.require_member(organization_id)
        if product is None or (organization_id is not None and product.organization_id != organization_id):
            raise NotFound("Product not found")
        if not self.can_read(product):
            raise NotFound("Product not found")
        if write and not self.can_write(product):
            raise Forbidden("Not enough permissions")
        return product


class SystemActor:
    """The service itself, acting from a worker: no user, no organization membership.

    A worker reads and writes what its event names (the event came from our own queue or
    bucket); it never acts for a caller, so it is not given a `Caller` to pretend with.
    """

    id = "system"
    is_superuser = False

    def can_read(self, product: ProductItem) -> bool:
        return True

    def can_write(self, product: ProductItem) -> bool:
        return True

    def check_product(self, product: ProductItem | None, organization_id: str | None, *, write: bool) -> ProductItem:
        if product is None or (organization_id is not None and product.organization_id != organization_id):
            raise NotFound("Product not found")
        return product


SYSTEM = SystemActor()
