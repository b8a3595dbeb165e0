"""The current caller of a route; the services come from `chalicelib.wiring`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import observability
from chalicelib.api.request import bearer_token
from chalicelib.errors import NotAuthenticated
from chalicelib.wiring import org_repository, users

if TYPE_CHECKING:
    from chalice.app import Request

    from chalicelib.services.access import Caller


def caller(request: Request) -> Caller:
    from chalicelib.services.access import Caller

    token = bearer_token(request)
    if token is None:
        raise NotAuthenticated()
    user = users().current_user(token)
    # Known from here on: this request's later lines, and its access line, name the caller.
    observability.append_keys(user_id=user.id)
    return Caller(user=user, orgs=org_repository())
