"""Users, tokens and organizations (shapes fixed in shared/spec/README.md)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, EmailStr, Field

from chalicelib.schemas.common import WireModel, not_nullable
from chalicelib.schemas.enums import InvitationStatus, MemberRole


class Token(WireModel):
    access_token: str
    token_type: str = "bearer"


class LoginForm(WireModel):
    # An email's length at most (RFC 5321): it becomes part of a key, which DynamoDB caps at 2 KB.
    username: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1)


class UserCreate(WireModel):
    model_config = ConfigDict(extra="forbid")

    # 254: the longest address email-validator (RFC 5321) accepts.
    email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=8, max_length=128)
    full_name: str | None = Field(default=None, max_length=255)
    is_superuser: bool = False


class UserPublic(WireModel):
    id: uuid.UUID
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    created_at: datetime


class OrganizationCreate(WireModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)


class OrganizationPublic(WireModel):
    id: uuid.UUID
    name: str
    owner_id: uuid.UUID
    created_at: datetime
    updated_at: datetime


class OrganizationsPublic(WireModel):
    data: list[OrganizationPublic]
    count: int


class MemberPublic(WireModel):
    organization_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    full_name: str | None
    role: str
    created_at: datetime


class MembersPublic(WireModel):
    data: list[MemberPublic]
    count: int


class MemberUpdate(WireModel):
    model_config = ConfigDict(extra="forbid")

    role: MemberRole


class OrganizationUpdate(WireModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)


class UserUpdateMe(WireModel):
    """Only the fields sent change; `full_name: null` clears the name, an address cannot be cleared."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=not_nullable("email"))

    full_name: str | None = Field(default=None, max_length=255)
    email: EmailStr | None = Field(default=None, max_length=254)


class UpdatePassword(WireModel):
    model_config = ConfigDict(extra="forbid")

    # Checked against the stored password (a wrong one is a 400), not against a new one's rules.
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


class InvitationCreate(WireModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(max_length=254)
    role: MemberRole = MemberRole.MEMBER


class InvitationPublic(WireModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    email: str
    role: MemberRole
    status: InvitationStatus
    created_at: datetime
    expires_at: datetime


class InvitationsPublic(WireModel):
    data: list[InvitationPublic]
    count: int
