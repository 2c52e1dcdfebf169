"""JSON shapes of recommendations: offers for a contact, products bought together."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict


class OfferRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    product_id: int
    sku: str
    name: str
    category: str | None
    price: Decimal
    currency: str
    score: float
    source: Literal["together", "popular"]


class RelatedProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    product_id: int
    sku: str
    name: str
    price: Decimal
    currency: str
    together: int
    confidence: float
    lift: float
