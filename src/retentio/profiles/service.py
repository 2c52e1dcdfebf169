"""Compute profiles: a full recompute of every contact, or a refresh of a few with the stored
model; both append the lifecycle moves they cause to the history.

`recompute` reads one grouped query over orders (and one over events), fits the shop-wide
model (`scoring`), stores it in `profile_models`, and rewrites every profile. `refresh`
reads the same aggregates for a list of contacts and applies the stored model to them
without refitting, so a contact's card follows each new order. Both run the same numpy code
(`_compute`); the caller owns the transaction (the CLI and the tasks commit).

Model inputs, time in days, calibration end = `now`:

- x = non-cancelled orders - 1 (each order is a purchase, two on one day are two), t_x = days
  from the first to the last order, T = days from the first order to `now`, both in whole
  UTC calendar days (the day of `now` minus the day of the order);
- the Gamma-Gamma mean spend is the average check over all the customer's orders (not the
  repeat orders only: the grouped query has no per-order detail), fitted on repeat buyers
  with a positive average check;
- CLV over 12 months of 30.4375 days at a 1 % monthly discount rate.

With fewer than `MIN_CUSTOMERS` customers or `MIN_REPEAT_BUYERS` repeat buyers, or when a
fit fails, there is no model: P(alive), expected purchases and CLV stay NULL (and CLV also
when the Gamma-Gamma fit gives q <= 1, an infinite mean spend). NaN is never stored.

Writing: rows are built from numpy arrays chunk by chunk as plain tuples and handed to the
driver (executemany on SQLite, COPY on PostgreSQL for the full rewrite; an upsert for a
refresh): SQLAlchemy's per-value bind processing cost more than the whole computation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import repeat
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Table, bindparam, delete, insert, select, text
from sqlalchemy.orm import Session

from retentio.db import utcnow
from retentio.kit.upsert import insert_or_replace
from retentio.predict import rfm
from retentio.profiles import lifecycle, queries, scoring
from retentio.profiles.models import LifecycleChange, Profile, ProfileModel, RefreshRequest
from retentio.profiles.scoring import (  # noqa: F401 - the documented constants live there
    DAY_SECONDS,
    MIN_CUSTOMERS,
    MIN_REPEAT_BUYERS,
    ShopModel,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
ObjectArray = NDArray[np.object_]

CHUNK = 50_000
REFRESH_BATCH = 5_000  # contact ids per IN (...) list
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DATETIME text on SQLite
REFRESH_REQUESTS = cast(Table, RefreshRequest.__table__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class RecomputeResult:
    profiles: int
    customers: int
    model_fitted: bool
    spend_model_fitted: bool
    lifecycle_changes: int = 0


def recompute(
    session: Session,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    refit: bool = True,
) -> RecomputeResult:
    """Rebuild every live contact's profile as of `now` (default: the current time); flushes.

    Fits and stores the shop-wide model, unless `refit` is False and a stored one exists.
    On PostgreSQL the profiles table is locked against other writers (refreshes wait), so
    the history compares against the stages this recompute replaces.
    """
    at = (now or utcnow()).astimezone(UTC)
    report = progress or (lambda _done, _total: None)
    writer = _Writer(session)
    if not writer.sqlite and not writer.autocommit:
        session.execute(text("LOCK TABLE profiles IN EXCLUSIVE MODE"))
    data = queries.aggregates(session, at)
    size = data.contact_id.size
    report(0, size)
    derived = _derive(data, at)
    model = None if refit else queries.shop_model(session)
    if model is None:
        model = scoring.fit(
            _customers(data, derived, at, at),
            at=at,
            rhythm_days=lifecycle.shop_rhythm(derived.mean_between),
        )
        _save_model(session, model)
    computed = _compute(data, derived, model, at)
    changes = _record_changes(writer, computed, *queries.stages(session), at)
    session.execute(delete(Profile))
    written = 0
    for rows in computed.rows(writer, at):
        writer.insert(Profile.__tablename__, PROFILE_COLUMNS, rows)
        written += len(rows)
        report(written, size)
    session.flush()
    return RecomputeResult(
        size,
        int(derived.buyers.sum()),
        model.purchase is not None,
        model.spend is not None,
        changes,
    )


def request_refresh(session: Session, contact_ids: Iterable[int], *, now: datetime) -> None:
    """Mark these contacts for the refresh job (`tasks.refresh_requested`) in the caller's
    transaction; after the commit, `tasks.refresh_soon()` runs it."""
    rows = [{"contact_id": i, "requested_at": now} for i in sorted(set(contact_ids))]
    if rows:
        session.execute(insert_or_replace(session, REFRESH_REQUESTS, ["contact_id"]), rows)


def refresh_requested(session: Session, *, limit: int, now: datetime | None = None) -> list[int]:
    """Refresh up to `limit` contacts waiting in the refresh requests and take their requests
    off, except those requested again since they were read; flushes. The ids refreshed."""
    taken = session.execute(
        select(RefreshRequest.contact_id, RefreshRequest.requested_at)
        .order_by(RefreshRequest.contact_id)
        .limit(limit)
    ).all()
    ids = [contact_id for contact_id, _at in taken]
    if ids:
        refresh(session, ids, now=now)
        done = delete(REFRESH_REQUESTS).where(
            REFRESH_REQUESTS.c.contact_id == bindparam("id"),
            REFRESH_REQUESTS.c.requested_at == bindparam("at"),
        )
        session.connection().execute(done, [{"id": i, "at": at} for i, at in taken])
    return ids


def refresh(
    session: Session, contact_ids: Iterable[int], *, now: datetime | None = None
) -> RecomputeResult:
    """Recompute these contacts' profiles as of `now` with the stored model; flushes.

    Nothing is refitted: RFM scores come from the stored breakpoints, predictions from the
    stored parameters, so the rest of the shop keeps its figures. Contacts no longer live lose
    their profile. Before any full recompute has stored a model, this runs one.
    """
    at = (now or utcnow()).astimezone(UTC)
    wanted = sorted({int(i) for i in contact_ids})
    model = queries.shop_model(session)
    if model is None and wanted:
        return recompute(session, now=at)
    if model is None:
        return RecomputeResult(0, 0, model_fitted=False, spend_model_fitted=False)
    writer = _Writer(session)
    profiles = customers = changes = 0
    for start in range(0, len(wanted), REFRESH_BATCH):
        batch = wanted[start : start + REFRESH_BATCH]
        # Stages first: on PostgreSQL this locks the rows, so a concurrent refresh of the same
        # contact waits, then sees this one's stage (and its orders) and records no move twice.
        old = queries.stages(session, batch)
        data = queries.aggregates(session, at, batch)
        derived = _derive(data, at)
        computed = _compute(data, derived, model, at)
        changes += _record_changes(writer, computed, *old, at)
        gone = sorted(set(batch) - set(data.contact_id.tolist()))
        if gone:
            session.execute(delete(Profile).where(Profile.contact_id.in_(gone)))
        for rows in computed.rows(writer, at):
            writer.upsert_profiles(rows)
        profiles += data.contact_id.size
        customers += int(derived.buyers.sum())
    session.flush()
    return RecomputeResult(
        profiles, customers, model.purchase is not None, model.spend is not None, changes
    )


@dataclass(frozen=True, slots=True)
class _Derived:
    """Per contact, in days; NaN for contacts without orders."""

    buyers: BoolArray
    span: FloatArray  # first to last order
    recency: FloatArray  # last order to now
    mean_between: FloatArray  # NaN below two orders
    average_check: FloatArray


def _derive(data: queries.Aggregates, at: datetime) -> _Derived:
    now_s = at.timestamp()
    first, last = data.first_order, data.last_order
    buyers = data.orders > 0
    span = (last - first) / DAY_SECONDS
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_between = np.where(data.orders >= 2, span / (data.orders - 1), np.nan)
        average_check = np.where(buyers, data.revenue / data.orders, np.nan)
    return _Derived(
        buyers,
        span,
        np.maximum(now_s - last, 0.0) / DAY_SECONDS,
        mean_between,
        average_check,
    )


def _customers(
    data: queries.Aggregates, derived: _Derived, at: datetime, keys_at: datetime
) -> scoring.Customers:
    """The buyers as the model sees them at `at`; recency keys counted to the model's time."""
    buyers = derived.buyers
    # Whole UTC days, as summaries of transaction data usually count them: customers share
    # (x, t_x, T) rows, which the fit and the 2F1 of the predictions evaluate once each
    # (about 20 times fewer at a million customers than with times to the second).
    today = np.floor(at.timestamp() / DAY_SECONDS)
    first_day = np.floor(data.first_order[buyers] / DAY_SECONDS)
    last_day = np.floor(data.last_order[buyers] / DAY_SECONDS)
    age = np.maximum(today - first_day, 0.0)
    days_since = np.maximum(keys_at.timestamp() - data.last_order[buyers], 0.0) / DAY_SECONDS
    return scoring.Customers(
        contact_id=data.contact_id[buyers],
        x=(data.orders[buyers] - 1).astype(np.float64),
        # An order dated after `now` (a clock ahead, an order placed "tonight") would make the
        # last purchase later than the customer's age, which the model cannot take.
        t_x=np.minimum(last_day - first_day, age),
        T=age,
        spend=np.maximum(derived.average_check[buyers], 0.0),
        keys={
            "recency": -days_since,
            "frequency": data.orders[buyers].astype(np.float64),
            "monetary": data.revenue[buyers],
        },
    )


@dataclass(frozen=True, slots=True)
class _Computed:
    """Every profile column as an array (NaN / None for NULL), ready to be written."""

    contact_id: IntArray
    buyers: BoolArray
    first_us: IntArray
    last_us: IntArray
    numbers: dict[str, tuple[str, NDArray[Any]]]  # column -> (kind, values)
    stages: ObjectArray

    def rows(self, writer: _Writer, at: datetime) -> Iterator[list[tuple[Any, ...]]]:
        """Rows in `PROFILE_COLUMNS` order, `CHUNK` at a time, as plain driver values."""
        computed_at = writer.moment(at)
        for start in range(0, self.contact_id.size, CHUNK):
            part = slice(start, start + CHUNK)
            buyers = self.buyers[part]
            columns: list[Iterable[Any]] = [
                self.contact_id[part].tolist(),
                writer.moments(self.first_us[part], buyers),
                writer.moments(self.last_us[part], buyers),
            ]
            columns += [_plain(kind, values[part]) for kind, values in self.numbers.values()]
            columns += [repeat(computed_at)]
            yield list(zip(*columns, strict=False))


def _compute(
    data: queries.Aggregates, derived: _Derived, model: ShopModel, at: datetime
) -> _Computed:
    size = data.contact_id.size
    buyers = derived.buyers
    customers = _customers(data, derived, at, model.fitted_at)
    scores = np.full((3, size), np.nan)
    segment = np.full(size, None, dtype=object)
    if buyers.any():
        scores[:, buyers] = scoring.rfm_scores(model, customers)
        found = scores[:, buyers].astype(np.int64)
        segment[buyers] = rfm.segments(found[0], found[1]).astype(object)
    predicted = scoring.predict(model, customers)
    p_alive, expected, clv = (np.full(size, np.nan) for _ in range(3))
    p_alive[buyers], expected[buyers], clv[buyers] = (
        predicted.p_alive,
        predicted.expected_90d,
        predicted.clv_12m,
    )
    bands = lifecycle.churn_bands(
        data.orders,
        derived.recency,
        derived.mean_between,
        p_alive,
        fallback_rhythm=model.rhythm_days,
    )
    stages = lifecycle.lifecycle_stages(
        data.orders, p_alive, bands, data.has_events, data.recent_cart, data.declared_exit
    )
    nan = np.nan
    numbers: dict[str, tuple[str, NDArray[Any]]] = {
        "orders": ("int", data.orders),
        "revenue": ("money", data.revenue),
        "average_check": ("money", derived.average_check),
        "mean_days_between": ("float", derived.mean_between),
        "recency_days": ("int", np.where(buyers, np.floor(derived.recency), nan)),
        "frequency": ("int", np.where(buyers, data.orders - 1, nan)),
        "r_score": ("int", scores[0]),
        "f_score": ("int", scores[1]),
        "m_score": ("int", scores[2]),
        "rfm_segment": ("object", segment),
        "p_alive": ("float", p_alive),
        "expected_purchases_90d": ("float", expected),
        "clv_12m": ("money", clv),
        "churn_band": ("object", bands),
        "lifecycle_stage": ("object", stages),
    }
    return _Computed(data.contact_id, buyers, data.first_us, data.last_us, numbers, stages)


PROFILE_COLUMNS = (
    "contact_id",
    "first_order_at",
    "last_order_at",
    "orders",
    "revenue",
    "average_check",
    "mean_days_between",
    "recency_days",
    "frequency",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "p_alive",
    "expected_purchases_90d",
    "clv_12m",
    "churn_band",
    "lifecycle_stage",
    "computed_at",
)
CHANGE_COLUMNS = ("contact_id", "from_stage", "to_stage", "changed_at")


def _plain(kind: str, values: NDArray[Any]) -> list[Any]:
    """Python values for the driver: None for NaN, ints for integer columns, 2-decimal money."""
    if kind == "object":
        result: list[Any] = values.tolist()
        return result
    numbers = values.astype(np.float64)
    if kind == "money":
        numbers = np.round(numbers, 2)
    missing = ~np.isfinite(numbers)
    if kind == "int":
        out = np.where(missing, 0, numbers).astype(np.int64).astype(object)
    else:
        out = numbers.astype(object)
    out[missing] = None
    return out.tolist()  # type: ignore[no-any-return]


def _record_changes(
    writer: _Writer, computed: _Computed, old_ids: IntArray, old_stages: ObjectArray, at: datetime
) -> int:
    """Append a `LifecycleChange` for each contact whose stage differs from the stored one."""
    ids = computed.contact_id
    previous = np.full(ids.size, None, dtype=object)
    if old_ids.size:
        position = np.minimum(np.searchsorted(old_ids, ids), old_ids.size - 1)
        known = old_ids[position] == ids
        previous[known] = old_stages[position[known]]
    changed = np.flatnonzero(previous != computed.stages)
    when = writer.moment(at)
    for start in range(0, changed.size, CHUNK):
        part = changed[start : start + CHUNK]
        rows = list(
            zip(
                ids[part].tolist(),
                previous[part].tolist(),
                computed.stages[part].tolist(),
                repeat(when),
                strict=False,
            )
        )
        writer.insert(LifecycleChange.__tablename__, CHANGE_COLUMNS, rows)
    return int(changed.size)


def _save_model(session: Session, model: ShopModel) -> None:
    purchase, spend = model.purchase, model.spend
    points = {
        name: [None if p is None else [p[0], p[1]] for p in found]
        for name, found in model.breakpoints.items()
    }
    session.execute(delete(ProfileModel))
    session.execute(
        insert(ProfileModel).values(
            id=ProfileModel.CURRENT,
            fitted_at=model.fitted_at,
            customers=model.customers,
            bgnbd_r=purchase and purchase.r,
            bgnbd_alpha=purchase and purchase.alpha,
            bgnbd_a=purchase and purchase.a,
            bgnbd_b=purchase and purchase.b,
            gg_p=spend and spend.p,
            gg_q=spend and spend.q,
            gg_gamma=spend and spend.gamma,
            rhythm_days=model.rhythm_days,
            rfm_breakpoints=points,
        )
    )


class _Writer:
    """Driver-level writes, and the values each driver takes for a UTC moment."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sqlite = session.get_bind().dialect.name == "sqlite"
        self.mark = "?" if self.sqlite else "%s"
        driver: Any = session.connection().connection.driver_connection
        # A session in autocommit mode (tests reading what the app wrote) has no transaction
        # to hold a lock in.
        self.autocommit = bool(getattr(driver, "autocommit", False))

    def moment(self, at: datetime) -> Any:
        # SQLite keeps the text SQLAlchemy would have written for a `UTCDateTime`.
        return at.astimezone(UTC).strftime(SQLITE_TIME) if self.sqlite else at.astimezone(UTC)

    def moments(self, micros: IntArray, present: BoolArray) -> list[Any]:
        stamps = micros.astype("datetime64[us]")
        if self.sqlite:
            texts = np.datetime_as_string(stamps, unit="us").tolist()
            values: list[Any] = [t.replace("T", " ") for t in texts]
        else:
            values = [d.replace(tzinfo=UTC) for d in stamps.astype(object).tolist()]
        for index in np.flatnonzero(~present).tolist():
            values[index] = None
        return values

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = ", ".join(columns)
        connection = self.session.connection()
        if self.sqlite:
            marks = ", ".join([self.mark] * len(columns))
            connection.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608 - constant names
            return
        # COPY: PostgreSQL's bulk path, about twice executemany's rate (DESIGN section 8).
        cursor: Any = connection.connection.cursor()
        try:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()

    def upsert_profiles(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = ", ".join(PROFILE_COLUMNS)
        marks = ", ".join([self.mark] * len(PROFILE_COLUMNS))
        updates = ", ".join(f"{c} = excluded.{c}" for c in PROFILE_COLUMNS[1:])
        self.session.connection().exec_driver_sql(
            f"INSERT INTO profiles ({names}) VALUES ({marks}) "  # noqa: S608 - constant names
            f"ON CONFLICT (contact_id) DO UPDATE SET {updates}",
            rows,
        )
