"""API schemas, named by direction (``UserCreate`` in, ``UserPublic`` out)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from costprism.roles import ROLES

T = TypeVar("T")
# Role names are listed in the schema but checked by the access capability (400 user.bad_role).
ROLE_NAMES: dict[str, Any] = {"items": {"type": "string", "enum": list(ROLES)}}


class PageOut(BaseModel, Generic[T]):
    """A page of a list; pass ``next`` as ``cursor`` for the following page."""

    items: list[T]
    next: str | None


class MeOut(BaseModel):
    username: str
    roles: list[str]
    scope: list[str]
    actions: list[str]


class SliceOut(BaseModel):
    source: str
    BillingAccountId: str
    BillingPeriodStart: str
    BillingCurrency: str
    rows: int
    BilledCost: float
    EffectiveCost: float
    version: int | None
    imported_at: str | None


class SliceVersionOut(BaseModel):
    version: int
    committed_at: str
    ingest_id: int | None
    source: str
    BillingAccountId: str
    BillingPeriodStart: str
    rows: int
    previous_rows: int | None
    files: list[str]
    current: bool


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    roles: list[str]
    scope: list[str]
    disabled: bool
    created_at: str
    last_login_at: str | None


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=150)
    roles: list[str] = Field(min_length=1, json_schema_extra=ROLE_NAMES)
    scope: list[str] = []
    password: str | None = None
    display_name: str = ""


class UserUpdate(BaseModel):
    roles: list[str] | None = Field(default=None, json_schema_extra=ROLE_NAMES)
    scope: list[str] | None = None
    disabled: bool | None = None
    password: str | None = None


class TokenOut(BaseModel):
    id: int
    username: str
    name: str
    prefix: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(default=90, ge=1, le=3650)


class TokenCreated(TokenOut):
    secret: str = Field(description="the token; shown this once, never again")


class AuditOut(BaseModel):
    id: int
    at: str
    actor: str | None
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    address: str
