"""JSON shapes of the accounts and tokens API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.auth.roles import Role


class AccountCreate(BaseModel):
    username: str = Field(min_length=2, max_length=80)
    display_name: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=1, max_length=200)
    role: Role
    department_code: str | None = None
    station_code: str | None = None
    phone: str | None = Field(default=None, max_length=20)


class AccountUpdate(BaseModel):
    display_name: str | None = Field(default=None, max_length=120)
    active: bool | None = None
    phone: str | None = Field(default=None, max_length=20)
    password: str | None = Field(default=None, max_length=200)


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    department_code: str | None
    station_code: str | None
    active: bool


class MeOut(BaseModel):
    role: Role
    role_label: str
    name: str
    account_id: int | None
    department_code: str | None
    station_code: str | None
    via: str


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="Le jeton, affiché une seule fois : conservez-le.")


class PairingCodeCreate(BaseModel):
    station_code: str = Field(min_length=1, max_length=12)


class PairingCodeOut(BaseModel):
    station_code: str
    code: str
    expires_at: datetime
