"""Organizations and memberships (with the inverted member index)."""

from __future__ import annotations

from chalicelib.errors import Busy, NotFound
from chalicelib.schemas.enums import StoredRole
from chalicelib.store.models import MembershipItem, OrganizationItem, TableItem, bind_table
from chalicelib.store.retry import with_retries
from chalicelib.store.table import conditional_delete, conditional_update, get_item, transaction


class OrganizationRepository:
    def __init__(self) -> None:
        bind_table()

    def create(self, org: OrganizationItem, owner: MembershipItem) -> None:
        org.refresh_keys()
        owner.refresh_keys()

        def write() -> None:
            with transaction() as tx:
                tx.save(org, condition=OrganizationItem.pk.does_not_exist())
                tx.save(owner, condition=MembershipItem.pk.does_not_exist())

        with_retries(write, retry_on=(Busy,))

    def get(self, org_id: str) -> OrganizationItem | None:
        return get_item(OrganizationItem, f"ORG#{org_id}", "ORG")

    def get_many(self, org_ids: set[str]) -> dict[str, OrganizationItem]:
        if not org_ids:
            return {}
        found = OrganizationItem.batch_get([(f"ORG#{org_id}", "ORG") for org_id in org_ids])
        return {org.id: org for org in found if isinstance(org, OrganizationItem)}

    def membership(self, org_id: str, user_id: str) -> MembershipItem | None:
        return get_item(MembershipItem, f"ORG#{org_id}", f"MEMBER#{user_id}")

    def members(self, org_id: str) -> list[MembershipItem]:
        """Every member of the organization, in the order they joined (then by user id)."""
        found = MembershipItem.query(f"ORG#{org_id}", MembershipItem.sk.startswith("MEMBER#"), consistent_read=True)
        members = [m for m in found if isinstance(m, MembershipItem)]
        return sorted(members, key=lambda m: (m.created_at, m.user_id))

    def rename(self, org: OrganizationItem, name: str, now: str) -> OrganizationItem:
        actions = [OrganizationItem.name.set(name), OrganizationItem.updated_at.set(now)]
        if not conditional_update(org, actions, OrganizationItem.pk.exists()):
            raise NotFound("Organization not found")
        return org

    def set_role(self, member: MembershipItem, role: str) -> bool:
        """False when the member has gone, or is the owner, whose role never changes."""
        condition = MembershipItem.pk.exists() & (MembershipItem.role != StoredRole.OWNER.value)
        return conditional_update(member, [MembershipItem.role.set(role)], condition)

    def remove_member(self, org_id: str, user_id: str) -> bool:
        """False when there is no such member (or it is the owner, whom nothing removes)."""
        member = self.membership(org_id, user_id)
        if member is None:
            return False
        # The owner is never removed, whatever was read before.
        return conditional_delete(member, MembershipItem.pk.exists() & (MembershipItem.role != StoredRole.OWNER.value))

    def organizations_of(self, user_id: str) -> list[OrganizationItem]:
        """Every organization of the user, ordered by (created_at, id)."""
        org_keys = [
            (m.organization_id, m.sk_org)
            for m in TableItem.member_index.query(f"USER#{user_id}")
            if isinstance(m, MembershipItem)
        ]
        if not org_keys:
            return []
        found = OrganizationItem.batch_get([(f"ORG#{org_id}", "ORG") for org_id, _ in org_keys])
        orgs = [o for o in found if isinstance(o, OrganizationItem)]
        return sorted(orgs, key=lambda o: (o.created_at, o.id))

    def organizations_page(self, user_id: str, skip: int, limit: int) -> tuple[list[OrganizationItem], int]:
        """One page of the user's organizations and how many there are in all.

        The order is the organization's creation, which the member index does not carry:
        every organization item is read, then sliced. They are small (no members, no
        products inside), and a user belongs to few, so this is the slim read of a listing.
        """
        orgs = self.organizations_of(user_id)
        return orgs[skip : skip + limit], len(orgs)
