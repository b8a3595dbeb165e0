"""Users, tokens and organizations (shapes fixed in shared/spec/README.md)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, EmailStr, Field, model_validator

from chalicelib.schemas.common import WireModel
from chalicelib.schemas.enums import MemberRole


class Token(WireModel):
    access_token: str
    token_type: str = "bearer"


class LoginForm(WireModel):
    username: str = Field(min_length=1)
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


class MemberAdd(WireModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr | None = Field(default=None, max_length=254)
    user_id: uuid.UUID | None = None
    role: MemberRole = MemberRole.MEMBER

    @model_validator(mode="after")
    def _one_identity(self) -> MemberAdd:
        if self.email is None and self.user_id is None:
            raise ValueError("Either email or user_id is required")
        return self


class MemberPublic(WireModel):
    organization_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    full_name: str | None
    role: str
    created_at: datetime
