"""The calibration check on the shop's own orders: fit BG/NBD on the earlier part of the order
history, then compare what it predicts for the later part (the holdout) with what happened.

The split: the history runs from the first purchase's UTC day to the last one's (purchases
dated after `now` are left out); the holdout is its last third, at most `MAX_HOLDOUT_DAYS`;
the history must be long enough for a holdout of `MIN_HOLDOUT_DAYS`. The customers checked
are those who had bought by the end of calibration (a fixed cohort, as in Fader, Hardie & Lee
2005): customers who first bought during the holdout are in neither view.

Time is in days and a purchase is a visit (all purchases of one customer on one UTC day are
one, as `predict.summary` counts them); the tracking view is weekly. When there are too few
customers or repeat buyers to fit, or the fit fails, the check says why instead of a report.
One statement reads the purchases; everything after that is `predict` over numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import chain
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from retentio.analytics.sqlfunc import EpochWholeSeconds
from retentio.commerce.models import Order, OrderStatus
from retentio.contacts.models import Contact
from retentio.kit.text import N_
from retentio.predict import bgnbd, calibration, summary
from retentio.predict.bgnbd import BgNbdParams
from retentio.predict.calibration import CalibrationReport

MIN_CUSTOMERS: Final = 20
MIN_REPEAT_BUYERS: Final = 5
MIN_HOLDOUT_DAYS: Final = 28
MAX_HOLDOUT_DAYS: Final = 365
HOLDOUT_SHARE: Final = 1 / 3
TRACKING_STEP_DAYS: Final = 7.0
EPOCH: Final = date(1970, 1, 1)
SECONDS_PER_DAY: Final = 86_400

IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class HoldoutCheck:
    """The split, and either the report or the reason there is none."""

    first_day: date | None  # the first purchase's UTC day
    calibration_end: date | None  # the last day of calibration (inclusive)
    observation_end: date | None  # the last day of the holdout (inclusive)
    customers: int  # customers who had bought by the end of calibration
    repeat_buyers: int  # of those, who bought again within calibration
    problem: str | None = None  # English, with %(name)s fields from `problem_args`
    problem_args: dict[str, Any] | None = None
    params: BgNbdParams | None = None
    converged: bool = True
    report: CalibrationReport | None = None

    @property
    def holdout_start(self) -> date | None:
        return None if self.calibration_end is None else self.calibration_end + timedelta(days=1)

    def tracking_dates(self) -> list[date]:
        """The calendar day of each tracking point (the origin is the first purchase's day)."""
        if self.report is None or self.first_day is None:
            return []
        origin = self.first_day
        return [origin + timedelta(days=float(t)) for t in self.report.tracking.time]


def holdout_days(history_days: int) -> int:
    """The holdout's length for a history of that many days: a third, capped, in whole days."""
    return min(int(history_days * HOLDOUT_SHARE), MAX_HOLDOUT_DAYS)


def check(session: Session, now: datetime) -> HoldoutCheck:
    """Split the shop's purchases up to `now`, fit BG/NBD on calibration and report."""
    customer, day = _purchases(session, now)
    if customer.size == 0:
        return HoldoutCheck(None, None, None, 0, 0, problem=N_("There are no orders yet."))
    first_day, last_day = int(day.min()), int(day.max())
    history = last_day - first_day + 1
    holdout = holdout_days(history)
    if holdout < MIN_HOLDOUT_DAYS:
        return HoldoutCheck(
            _date(first_day),
            None,
            _date(last_day),
            0,
            0,
            problem=N_(
                "The order history covers %(days)s days; the check needs at least %(needed)s."
            ),
            problem_args={"days": history, "needed": int(MIN_HOLDOUT_DAYS / HOLDOUT_SHARE)},
        )
    calibration_end = last_day - holdout
    moment = np.datetime64(0, "D") + day.astype("timedelta64[D]")
    zeros = np.zeros(customer.size)
    split = summary.split(
        customer,
        moment,
        zeros,
        calibration_end=np.datetime64(calibration_end, "D"),
        observation_end=np.datetime64(last_day, "D"),
    )
    cal = split.calibration
    dates = (_date(first_day), _date(calibration_end), _date(last_day))
    customers, repeat_buyers = int(cal.x.size), int(np.count_nonzero(cal.x))
    if customers < MIN_CUSTOMERS or repeat_buyers < MIN_REPEAT_BUYERS:
        return HoldoutCheck(
            *dates,
            customers,
            repeat_buyers,
            problem=N_(
                "Too little data to fit the model: %(customers)s customers and "
                "%(repeat)s repeat buyers by the end of calibration; it needs at least "
                "%(min_customers)s and %(min_repeat)s."
            ),
            problem_args={
                "customers": customers,
                "repeat": repeat_buyers,
                "min_customers": MIN_CUSTOMERS,
                "min_repeat": MIN_REPEAT_BUYERS,
            },
        )
    try:
        fitted = bgnbd.fit(cal.x, cal.t_x, cal.T)
    except (ValueError, ArithmeticError):
        return HoldoutCheck(
            *dates,
            customers,
            repeat_buyers,
            problem=N_("The model could not be fitted to these orders."),
        )
    # The tracking view follows the same cohort: the calibration customers' purchases only.
    cohort = np.isin(customer, cal.customer)
    line = summary.timeline(
        customer[cohort],
        moment[cohort],
        origin=np.datetime64(first_day, "D"),
        end=np.datetime64(last_day, "D"),
    )
    report = calibration.calibration_report(
        fitted.params,
        cal.x,
        cal.t_x,
        cal.T,
        split.holdout_purchases,
        holdout_length=split.holdout_length,
        first=line.first,
        repeats=line.repeats,
        step=TRACKING_STEP_DAYS,
    )
    return HoldoutCheck(
        *dates,
        customers,
        repeat_buyers,
        params=fitted.params,
        converged=fitted.converged,
        report=report,
    )


def _purchases(session: Session, now: datetime) -> tuple[IntArray, IntArray]:
    """(contact id, UTC day since the epoch) of every purchase of a live contact before `now`."""
    # NOT IN the few contacts that are gone, rather than a join with every contact: on SQLite
    # the join costs a primary-key lookup per order (~3× slower on the 100k-contact demo).
    # "Before now" is applied below: in SQL it would lead SQLite to the placed_at index and
    # a table lookup per order.
    gone = select(Contact.id).where(
        or_(Contact.deleted_at.is_not(None), Contact.merged_into_id.is_not(None))
    )
    statement = select(Order.contact_id, EpochWholeSeconds(Order.placed_at)).where(
        Order.status != OrderStatus.CANCELLED, Order.contact_id.not_in(gone)
    )
    rows = session.execute(statement).all()
    # fromiter over the flattened values: np.asarray over Row objects is ~10× slower.
    flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=2 * len(rows))
    pairs = flat.reshape(-1, 2)
    before = pairs[:, 1] < int(now.astimezone(UTC).timestamp())
    return pairs[before, 0], np.floor_divide(pairs[before, 1], SECONDS_PER_DAY)


def _date(day: int) -> date:
    return EPOCH + timedelta(days=day)
