"""Organizations and memberships (with the inverted member index)."""

from __future__ import annotations

from chalicelib.errors import Busy, Conflict, NotFound
from chalicelib.store.models import MembershipItem, OrganizationItem, TableItem, bind_table
from chalicelib.store.retry import with_retries
from chalicelib.store.table import get_item, transaction


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

    def membership(self, org_id: str, user_id: str) -> MembershipItem | None:
        return get_item(MembershipItem, f"ORG#{org_id}", f"MEMBER#{user_id}")

    def add_member(self, member: MembershipItem) -> None:
        member.refresh_keys()

        def write() -> None:
            with transaction() as tx:
                # The organization must still exist when the member is added.
                tx.condition_check(
                    OrganizationItem, f"ORG#{member.organization_id}", "ORG", condition=OrganizationItem.pk.exists()
                )
                tx.save(member, condition=MembershipItem.pk.does_not_exist())

        try:
            with_retries(write, retry_on=(Busy,))
        except Conflict as exc:
            if (member.pk, member.sk) in exc.failed_keys:
                raise Conflict("The user is already a member of this organization") from exc
            raise NotFound("Organization not found") from exc

    def remove_member(self, org_id: str, user_id: str) -> bool:
        member = self.membership(org_id, user_id)
        if member is None:
            return False
        member.delete(condition=MembershipItem.pk.exists())
        return True

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
