"""JSON shapes of the sales API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from retentio.sales.models import DealStatus, LeadStatus, StageKind


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: int | None = None  # an existing stage keeps its deals and history
    name: str = Field(min_length=1, max_length=100)
    probability: int = Field(default=0, ge=0, le=100)
    kind: StageKind = StageKind.OPEN


class PipelineIn(BaseModel):
    """A pipeline with its stages in order; at least one open, one won and one lost stage."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    stages: list[StageIn] = Field(min_length=3, max_length=30)


class StageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    position: int
    probability: int
    kind: StageKind


class PipelineRead(BaseModel):
    id: int
    name: str
    stages: list[StageRead]


class DealProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: int
    quantity: Decimal = Field(default=Decimal("1"), gt=0)
    unit_price: Decimal = Field(ge=0)


class DealIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=300)
    pipeline_id: int
    stage_id: int | None = None  # None: the pipeline's first stage
    amount: Decimal = Field(default=Decimal("0"), ge=0, max_digits=14, decimal_places=2)
    currency: str = Field(default="RUB", pattern=r"^[A-Z]{3}$")
    contact_id: int | None = None
    company_id: int | None = None
    owner_id: int | None = None
    watcher_ids: list[int] = Field(default_factory=list)
    available_to_all: bool = False
    source: str | None = Field(default=None, max_length=100)
    utm: dict[str, str] = Field(default_factory=dict)
    custom: dict[str, Any] = Field(default_factory=dict)
    expected_close_on: date | None = None
    products: list[DealProductIn] = Field(default_factory=list)


class MoveIn(BaseModel):
    """A stage change (the kanban's drop); `version` is the one the mover saw."""

    model_config = ConfigDict(extra="forbid")

    stage_id: int
    version: int | None = None
    lost_reason_id: int | None = None
    lost_comment: str = Field(default="", max_length=2000)


class DealRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    pipeline_id: int
    stage_id: int
    status: DealStatus
    amount: Decimal
    currency: str
    contact_id: int | None
    company_id: int | None
    owner_id: int | None
    available_to_all: bool
    source: str | None
    utm: dict[str, Any]
    custom: dict[str, Any]
    expected_close_on: date | None
    lost_reason_id: int | None
    stage_entered_at: datetime
    won_at: datetime | None
    lost_at: datetime | None
    created_at: datetime
    version: int


class StageChangeRead(BaseModel):
    from_stage_id: int | None
    to_stage_id: int
    changed_at: datetime
    actor_id: int | None
    # Time spent in `to_stage` until the next change (None: still there).
    seconds_in_stage: float | None


class LeadIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=300)
    name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    company_name: str = Field(default="", max_length=300)
    message: str = Field(default="", max_length=10000)
    source: str | None = Field(default=None, max_length=100)
    utm: dict[str, str] = Field(default_factory=dict)
    owner_id: int | None = None
    external_id: str | None = Field(default=None, max_length=100)


class LeadRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    name: str
    email: str | None
    phone: str | None
    company_name: str
    message: str
    status: LeadStatus
    source: str | None
    utm: dict[str, Any]
    form_id: int | None
    owner_id: int | None
    contact_id: int | None
    deal_id: int | None
    is_repeat: bool
    created_at: datetime
    converted_at: datetime | None


class Duplicates(BaseModel):
    """What a conversion would attach to instead of creating."""

    contacts: list[int]
    open_deals: list[int]


class ConvertIn(BaseModel):
    """Convert a lead: attach to `contact_id` (a duplicate the user chose) or create one;
    open a deal in `pipeline_id` unless `deal_id` (an open deal to attach to) is given."""

    model_config = ConfigDict(extra="forbid")

    contact_id: int | None = None
    deal_id: int | None = None
    pipeline_id: int | None = None
    deal_title: str | None = Field(default=None, max_length=300)
    amount: Decimal = Field(default=Decimal("0"), ge=0)
    create_company: bool = True
