"""The signed-in user's own account: profile, password, sessions, invitations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib import wiring
from chalicelib.api.contract import endpoint
from chalicelib.schemas.common import Message, PageQuery
from chalicelib.schemas.users import InvitationPublic, InvitationsPublic, UpdatePassword, UserPublic, UserUpdateMe
from chalicelib.services.users import to_public

if TYPE_CHECKING:
    from chalicelib.services.access import Caller

bp = Blueprint(__name__)

TAG = "users"


@endpoint(
    bp,
    "PATCH",
    "/users/me",
    operation_id="update_user_me",
    summary="Update User Me",
    tag=TAG,
    response=UserPublic,
    body=UserUpdateMe,
    errors=frozenset({409, 503}),
)
def update_me(caller: Caller, body: UserUpdateMe) -> UserPublic:
    """Change one's full name (null clears it) or e-mail address (409 if another account has it)."""
    return to_public(wiring.accounts().update_me(caller.user, body))


@endpoint(
    bp,
    "PATCH",
    "/users/me/password",
    operation_id="update_password_me",
    summary="Update Password Me",
    tag=TAG,
    response=Message,
    body=UpdatePassword,
    errors=frozenset({429, 503}),
)
def update_password(caller: Caller, body: UpdatePassword) -> Message:
    """Change one's password: 400 if `current_password` is wrong. Wrong current passwords count
    against the account's sign-in limit (429 with Retry-After once it is reached). Every token
    issued before, this one included, is refused from then on: sign in again with the new password."""
    wiring.accounts().change_password(caller.user, body)
    return Message(message="Password updated successfully")


@endpoint(
    bp,
    "POST",
    "/users/me/logout-all",
    operation_id="logout_all",
    summary="Logout All",
    tag=TAG,
    response=Message,
    errors=frozenset({503}),
)
def logout_all(caller: Caller) -> Message:
    """Sign out everywhere: every token issued so far, this one included, is refused from now on."""
    wiring.accounts().logout_all(caller.user)
    return Message(message="Signed out of every session")


@endpoint(
    bp,
    "GET",
    "/users/me/invitations",
    operation_id="read_invitations_me",
    summary="Read Invitations Me",
    tag=TAG,
    response=InvitationsPublic,
    query=PageQuery,
)
def list_my_invitations(caller: Caller, query: PageQuery) -> InvitationsPublic:
    """The pending invitations sent to one's e-mail address, newest first."""
    invitations, count = wiring.invitations().mine_page(caller, query.skip, query.limit)
    return InvitationsPublic(data=invitations, count=count)


@endpoint(
    bp,
    "POST",
    "/users/me/invitations/{invitation_id}/accept",
    operation_id="accept_invitation",
    summary="Accept Invitation",
    tag=TAG,
    response=InvitationPublic,
    errors=frozenset({409, 503}),
)
def accept_invitation(caller: Caller, invitation_id: str) -> InvitationPublic:
    """Join the organization with the invitation's role (409 if one is a member already)."""
    return wiring.invitations().accept(caller, invitation_id)


@endpoint(
    bp,
    "POST",
    "/users/me/invitations/{invitation_id}/decline",
    operation_id="decline_invitation",
    summary="Decline Invitation",
    tag=TAG,
    response=InvitationPublic,
    errors=frozenset({503}),
)
def decline_invitation(caller: Caller, invitation_id: str) -> InvitationPublic:
    """Decline an invitation: it is deleted, and its organization's admins no longer list it."""
    return wiring.invitations().decline(caller, invitation_id)
