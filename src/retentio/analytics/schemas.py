"""JSON shapes of the analytics API: period metrics (overall or per group) and cohorts.

Money is a decimal string, as everywhere in the API; rates are ratios (0.8, not 80); a None
metric has a zero denominator ("not defined for this period").
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from retentio.analytics.base import BaseHealth
from retentio.analytics.cohorts import Cohort, Measure
from retentio.analytics.page_data import Period
from retentio.analytics.queries import GroupBy, PeriodMetrics


class PeriodRead(BaseModel):
    first_day: date = Field(description="First UTC day of the period")
    last_day: date = Field(description="Last UTC day of the period, included")
    start: datetime = Field(description="The period as a half-open interval [start, end)")
    end: datetime
    days: int

    @classmethod
    def of(cls, period: Period) -> PeriodRead:
        return cls(
            first_day=period.first_day,
            last_day=period.last_day,
            start=period.start,
            end=period.end,
            days=period.days,
        )


class LeversRead(BaseModel):
    """Revenue = leads × conversion × average check × purchases per customer."""

    leads: int
    conversion: float | None
    average_check: Decimal | None = Field(description="Unrounded, so the product is the revenue")
    purchases_per_customer: float | None
    revenue: Decimal | None


class MetricsRow(BaseModel):
    group: str | None = Field(description="Segment, source or city; null: overall or unknown")
    active_at_start: int
    active_at_end: int
    new: int
    lost: int
    retained: int
    reactivated: int
    leads: int
    buyers: int
    repeat_buyers: int
    orders: int
    revenue: Decimal
    customers: int
    retention_rate: float | None
    churn_rate: float | None
    repeat_purchase_rate: float | None
    purchase_frequency: float | None
    average_check: Decimal | None
    average_lifetime_days: float | None
    simple_ltv: Decimal | None
    predicted_clv_12m: Decimal | None
    active_base: int
    levers: LeversRead

    @classmethod
    def of(cls, row: PeriodMetrics) -> MetricsRow:
        counts, levers = row.counts, row.levers
        return cls(
            group=row.group,
            active_at_start=counts.active_at_start,
            active_at_end=counts.active_at_end,
            new=counts.new,
            lost=counts.lost,
            retained=counts.retained,
            reactivated=counts.reactivated,
            leads=counts.leads,
            buyers=counts.buyers,
            repeat_buyers=counts.repeat_buyers,
            orders=counts.orders,
            revenue=counts.revenue,
            customers=counts.customers,
            retention_rate=row.retention_rate,
            churn_rate=row.churn_rate,
            repeat_purchase_rate=row.repeat_purchase_rate,
            purchase_frequency=row.purchase_frequency,
            average_check=row.average_check,
            average_lifetime_days=row.average_lifetime_days,
            simple_ltv=row.simple_ltv,
            predicted_clv_12m=row.predicted_clv_12m,
            active_base=row.active_base,
            levers=LeversRead(
                leads=levers.leads,
                conversion=levers.conversion,
                average_check=levers.average_check,
                purchases_per_customer=levers.purchases_per_customer,
                revenue=levers.revenue,
            ),
        )


class MetricsRead(BaseModel):
    period: PeriodRead
    group_by: GroupBy | None
    rows: list[MetricsRow] = Field(description="One row overall, or one per group")


class CohortRead(BaseModel):
    month: date = Field(description="First day of the month of the first purchase (UTC)")
    customers: int
    values: list[float] = Field(
        description="The measure for months 0, 1, … since the first purchase, up to now"
    )

    @classmethod
    def of(cls, cohort: Cohort, measure: Measure) -> CohortRead:
        return cls(month=cohort.month, customers=cohort.customers, values=cohort.values(measure))


class CohortsRead(BaseModel):
    measure: Measure = Field(
        description="retention: % of the cohort buying in the month; revenue: revenue per "
        "customer in the month; ltv: cumulative revenue per customer"
    )
    months: int
    cohorts: list[CohortRead]


class BaseHealthRead(BaseModel):
    """The customer base: live contacts, reachable per channel, records holding each field."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "contacts": 2000,
                    "reachable": {"email": 1304, "sms": 1342, "telegram": 6},
                    "filled": {"email": 1900, "phone": 1800, "name": 2000},
                    "completeness": 0.83,
                }
            ]
        }
    )

    contacts: int
    reachable: dict[str, int]
    filled: dict[str, int]
    completeness: float | None = Field(description="Mean share of the fields filled (0–1)")

    @classmethod
    def of(cls, health: BaseHealth) -> BaseHealthRead:
        return cls(
            contacts=health.contacts,
            reachable=health.reachable,
            filled=health.filled,
            completeness=health.completeness,
        )
