"""JSON shapes of the profiles API: one computed profile, and a page of them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class ProfileRead(BaseModel):
    """A contact's computed profile as of `computed_at` (rebuilt by `retentio recompute`)."""

    model_config = ConfigDict(from_attributes=True)

    contact_id: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    orders: int
    revenue: Decimal
    average_check: Decimal | None
    mean_days_between: float | None
    recency_days: int | None
    frequency: int | None = Field(description="Repeat orders (orders − 1)")
    r_score: int | None
    f_score: int | None
    m_score: int | None
    rfm_segment: str | None
    p_alive: float | None
    expected_purchases_90d: float | None
    clv_12m: Decimal | None = Field(description="Predicted 12-month CLV, discounted")
    churn_band: str | None
    lifecycle_stage: str
    computed_at: datetime


class ProfilePage(BaseModel):
    items: list[ProfileRead]
    total: int
    page: int
    per_page: int
