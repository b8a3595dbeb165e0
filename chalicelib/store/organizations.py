"""Organizations and memberships (with the inverted member index)."""

from __future__ import annotations

from chalicelib.errors import Conflict
from chalicelib.store.models import MembershipItem, OrganizationItem, TableItem, bind_table
from chalicelib.store.table import get_item, transaction


class OrganizationRepository:
    def __init__(self) -> None:
        bind_table()

    def create(self, org: OrganizationItem, owner: MembershipItem) -> None:
        org.refresh_keys()
        owner.refresh_keys()
        with transaction() as tx:
            tx.save(org, condition=OrganizationItem.pk.does_not_exist())
            tx.save(owner, condition=MembershipItem.pk.does_not_exist())

    def get(self, org_id: str) -> OrganizationItem | None:
        return get_item(OrganizationItem, f"ORG#{org_id}", "ORG")

    def membership(self, org_id: str, user_id: str) -> MembershipItem | None:
        return get_item(MembershipItem, f"ORG#{org_id}", f"MEMBER#{user_id}")

    def add_member(self, member: MembershipItem) -> None:
        member.refresh_keys()
        try:
            with transaction() as tx:
                # The organization must still exist when the member is added.
                tx.condition_check(
                    OrganizationItem, f"ORG#{member.organization_id}", "ORG", condition=OrganizationItem.pk.exists()
                )
                tx.save(member, condition=MembershipItem.pk.does_not_exist())
        except Conflict as exc:
            raise Conflict("The user is already a member of this organization") from exc

    def remove_member(self, org_id: str, user_id: str) -> bool:
        member = self.membership(org_id, user_id)
        if member is None:
            return False
        member.delete(condition=MembershipItem.pk.exists())
        return True

    def organizations_of(self, user_id: str) -> list[OrganizationItem]:
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
