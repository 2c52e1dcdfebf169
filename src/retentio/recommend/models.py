"""Tables of the recommendations domain, rebuilt from orders by the worker: product pairs
bought together with their lift, and each category's typical days between purchases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from retentio.db import Base, UTCDateTime


class Association(Base):
    """ "Customers who bought A also bought B": support counts and lift over chance."""

    __tablename__ = "product_associations"
    __table_args__ = (Index("ix_product_associations_a_lift", "product_a_id", "lift"),)

    product_a_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    product_b_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    together: Mapped[int]  # customers (or baskets) with both
    confidence: Mapped[float]  # P(B | A)
    lift: Mapped[float]  # P(B | A) / P(B)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CategoryInterval(Base):
    """The median days between a customer's consecutive purchases in a category."""

    __tablename__ = "category_intervals"

    category: Mapped[str] = mapped_column(String(120), primary_key=True)
    median_days: Mapped[float]
    customers: Mapped[int]
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
