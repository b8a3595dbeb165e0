"""Sign-in and users."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.contract import endpoint
from chalicelib.schemas.users import LoginForm, Token, UserCreate, UserPublic
from chalicelib.services.users import to_public

if TYPE_CHECKING:
    from chalicelib.services.access import Caller

bp = Blueprint(__name__)


@endpoint(
    bp,
    "POST",
    "/login/access-token",
    operation_id="login_access_token",
    summary="Login Access Token",
    tag="login",
    response=Token,
    body=LoginForm,
    form=True,
    secure=False,
    errors=frozenset({400, 429}),
)
def login(body: LoginForm) -> Token | Response:
    """OAuth2 password sign-in: `username` is the email. Answers a bearer token. After
    LOGIN_MAX_FAILURES (10) failed attempts for one email in a window of LOGIN_WINDOW_SECONDS
    (900, aligned on the clock), every attempt for it, right password or not, is a 429 with
    Retry-After (seconds until the next window) until the window ends, whether or not an account
    has that email; a right password clears the count."""
    return Token(access_token=wiring.users().authenticate(body.username, body.password))


@endpoint(
    bp,
    "POST",
    "/users/",
    operation_id="create_user",
    summary="Create User",
    tag="users",
    response=UserPublic,
    body=UserCreate,
    errors=frozenset({403, 409, 503}),
)
def create_user(caller: Caller, body: UserCreate) -> UserPublic:
    """Create a user (superusers only)."""
    return to_public(wiring.users().create(body, caller.user))


@endpoint(bp, "GET", "/users/me", operation_id="read_user_me", summary="Read User Me", tag="users", response=UserPublic)
def read_me(caller: Caller) -> UserPublic:
    """The signed-in user."""
    return to_public(caller.user)
