"""Factories for users, organizations and products, through the API itself."""

from __future__ import annotations

import base64
import io
import json
import uuid
from dataclasses import dataclass
from typing import Any

from chalice.test import Client
from PIL import Image

from tests.support.shallow import shallow


def png_b64(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (8, 6)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


class Response:
    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status = status
        self.raw = body
        self.headers = headers

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.raw[:300]!r}>"


class Api:
    """A thin client over chalice.test.Client that speaks JSON and carries tokens."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._admin_token: str | None = None

    def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | str | None = None,
    ) -> Response:
        h = {"Content-Type": "application/json"}
        if token:
            h["Authorization"] = f"Bearer {token}"
        h.update(headers or {})
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        # On a worker thread's shallow stack: tests/support/shallow.py says why.
        r = shallow(self.client.http.request, method, path, headers=h, body=payload)
        return Response(r.status_code, r.body, dict(r.headers))

    def get(self, path: str, token: str | None = None, **kw: Any) -> Response:
        return self.call("GET", path, token, **kw)

    def post(self, path: str, body: Any = None, token: str | None = None, **kw: Any) -> Response:
        return self.call("POST", path, token, body, **kw)

    def put(self, path: str, body: Any = None, token: str | None = None, **kw: Any) -> Response:
        return self.call("PUT", path, token, body, **kw)

    def patch(self, path: str, body: Any = None, token: str | None = None, **kw: Any) -> Response:
        return self.call("PATCH", path, token, body, **kw)

    def delete(self, path: str, token: str | None = None, **kw: Any) -> Response:
        return self.call("DELETE", path, token, **kw)

    # -- factories -----------------------------------------------------------------

    def login(self, email: str, password: str) -> Response:
        from urllib.parse import urlencode

        return self.call(
            "POST",
            "/api/v1/login/access-token",
            raw=urlencode({"username": email, "password": password}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    @property
    def admin_token(self) -> str:
        if self._admin_token is None:
            from chalicelib.services.users import UserService

            UserService().ensure_first_superuser()
            r = self.login("admin@example.com", "admin-password-123")
            assert r.status == 200, r
            self._admin_token = r.json["access_token"]
        return self._admin_token

    def user(
        self, email: str | None = None, password: str = "password-123", superuser: bool = False
    ) -> tuple[str, str]:
        """Create a user; returns (user_id, token)."""
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        r = self.post(
            "/api/v1/users/", {"email": email, "password": password, "is_superuser": superuser}, self.admin_token
        )
        assert r.status == 200, r
        login = self.login(email, password)
        assert login.status == 200, login
        return r.json["id"], login.json["access_token"]

    def org(self, token: str, name: str = "Acme") -> str:
        r = self.post("/api/v1/organizations/", {"name": name}, token)
        assert r.status == 200, r
        return str(r.json["id"])

    def add_member(self, admin_token: str, org_id: str, user_id: str, role: str = "member") -> None:
        """Make a user a member as people do: an admin invites their address, they accept."""
        invitation = self.invite(admin_token, org_id, self.user_email(user_id), role)
        r = self.post(f"/api/v1/users/me/invitations/{invitation['id']}/accept", None, self.token_of(user_id))
        assert r.status == 200, r

    def invite(self, admin_token: str, org_id: str, email: str, role: str = "member") -> dict[str, Any]:
        r = self.post(f"/api/v1/organizations/{org_id}/invitations", {"email": email, "role": role}, admin_token)
        assert r.status == 200, r
        result: dict[str, Any] = r.json
        return result

    @staticmethod
    def user_email(user_id: str) -> str:
        """A user's address, read from the table: no route tells it to anyone but its members."""
        from chalicelib.store.users import UserRepository

        user = UserRepository().get(user_id)
        assert user is not None, user_id
        return user.email

    @staticmethod
    def token_of(user_id: str) -> str:
        """A valid token of the user now (at their token version), without their password."""
        from chalicelib.services.users import issue_token
        from chalicelib.store.users import UserRepository

        user = UserRepository().get(user_id)
        assert user is not None, user_id
        return issue_token(user)

    def product(self, token: str, org_id: str | None = None, **fields: Any) -> dict[str, Any]:
        body = {"name": "Black T-Shirt", "cover_image": "https://example.com/image.jpg", **fields}
        path = "/api/v1/products/" + (f"?organization_id={org_id}" if org_id else "")
        r = self.post(path, body, token)
        assert r.status == 200, r
        result: dict[str, Any] = r.json
        return result


@dataclass
class OrgWorld:
    """An organization and the people around it, by role: `owner` (created `org`), `admin` (its
    admin), `member` (a plain member), `other` (owns `other_org`, not in `org`), `stranger` (in no
    organization), `invitee` (in none either: the one tests invite), `root` (the superuser)."""

    api: Api
    org: str
    other_org: str
    ids: dict[str, str]
    tokens: dict[str, str]
    emails: dict[str, str]

    def token(self, who: str) -> str:
        return self.tokens[who]


def build_org_world(api: Api) -> OrgWorld:
    ids: dict[str, str] = {}
    tokens: dict[str, str] = {}
    emails: dict[str, str] = {}
    for who in ("owner", "admin", "member", "other", "stranger", "invitee"):
        emails[who] = f"{who}-{uuid.uuid4().hex[:8]}@example.com"
        ids[who], tokens[who] = api.user(email=emails[who])
    tokens["root"] = api.admin_token
    me = api.get("/api/v1/users/me", tokens["root"]).json
    ids["root"], emails["root"] = me["id"], me["email"]
    org = api.org(tokens["owner"], "Org")
    api.add_member(tokens["owner"], org, ids["admin"], role="admin")
    api.add_member(tokens["owner"], org, ids["member"])
    other_org = api.org(tokens["other"], "Other org")
    return OrgWorld(api=api, org=org, other_org=other_org, ids=ids, tokens=tokens, emails=emails)
