"""The current caller of a route; the services come from `chalicelib.wiring`."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    return Caller(user=users().current_user(token), orgs=org_repository())
