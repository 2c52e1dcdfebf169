"""Pydantic shapes of products and orders in the API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from retentio.commerce.models import OrderChannel, OrderStatus

MONEY = Field(ge=0, max_digits=14, decimal_places=2)


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: str = Field(min_length=1, max_length=100, examples=["SHOE-RUN-42"])
    name: str = Field(min_length=1, max_length=300, examples=["Кроссовки беговые"])
    category: str | None = Field(default=None, max_length=120, examples=["shoes"])
    price: Decimal = MONEY
    currency: str = Field(default="RUB", min_length=3, max_length=3)
    is_active: bool = True


class ProductRead(ProductIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    updated_at: datetime


class CustomerRef(BaseModel):
    """Who placed the order: a contact id, or identities to find or create the contact."""

    model_config = ConfigDict(extra="forbid")

    contact_id: int | None = None
    external_id: str | None = Field(default=None, max_length=100)
    email: str | None = None
    phone: str | None = None
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _something_given(self) -> CustomerRef:
        if not (self.contact_id or self.external_id or self.email or self.phone):
            raise ValueError("give contact_id, external_id, email or phone")
        return self


class OrderItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: str = Field(min_length=1, max_length=100)
    name: str | None = Field(default=None, max_length=300)
    category: str | None = Field(default=None, max_length=120)
    quantity: int = Field(gt=0, le=1_000_000)
    unit_price: Decimal = MONEY


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    external_id: str = Field(min_length=1, max_length=100, examples=["SO-1042"])
    customer: CustomerRef
    status: OrderStatus = OrderStatus.PLACED
    channel: OrderChannel = OrderChannel.ONLINE
    currency: str = Field(default="RUB", min_length=3, max_length=3)
    placed_at: AwareDatetime
    items: list[OrderItemIn] = Field(min_length=1)
    total: Decimal | None = Field(
        default=None,
        ge=0,
        max_digits=14,
        decimal_places=2,
        description="Defaults to the sum of the items",
    )
    refunded_total: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    custom: dict[str, Any] | None = None


class OrderItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku: str
    name: str
    category: str | None
    quantity: int
    unit_price: Decimal


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str
    contact_id: int
    status: OrderStatus
    channel: OrderChannel
    currency: str
    total: Decimal
    refunded_total: Decimal
    revenue: Decimal
    placed_at: datetime
    custom: dict[str, Any]
    items: list[OrderItemRead] = []
