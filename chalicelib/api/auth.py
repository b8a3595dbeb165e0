"""Sign-in and users."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib import wiring
from chalicelib.api import deps
from chalicelib.api.errors import api_view, render
from chalicelib.api.request import form_body, json_body
from chalicelib.schemas.users import LoginForm, Token, UserCreate
from chalicelib.services.users import to_public

bp = Blueprint(__name__)

ANY_CONTENT = ["*/*"]


@bp.route("/login/access-token", methods=["POST"], content_types=ANY_CONTENT)
@api_view
def login() -> Response:
    form = form_body(bp.current_request, LoginForm)
    token = wiring.users().authenticate(form.username, form.password)
    return render(Token(access_token=token))


@bp.route("/users/", methods=["POST"], content_types=ANY_CONTENT)
@api_view
def create_user() -> Response:
    caller = deps.caller(bp.current_request)
    data = json_body(bp.current_request, UserCreate)
    return render(to_public(wiring.users().create(data, caller.user)))


@bp.route("/users/me", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def read_me() -> Response:
    return render(to_public(deps.caller(bp.current_request).user))
