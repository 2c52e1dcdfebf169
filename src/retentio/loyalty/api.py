"""JSON API of the loyalty programme under `/api/v1/loyalty` and `/api/v1/contacts/{id}/loyalty`,
for the shop and its tills: the programme and tiers, a contact's points, redeeming, admin
adjustments, the ledger search and the points outstanding.

Every role may read; redeeming needs the customer-editing permission (a till's token);
changing the programme, tiers and adjusting points need the settings permission (admins).
Points are earned by the worker after an order is posted (`commerce.api`), never here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.contacts.access import visible_contact
from retentio.db import utcnow
from retentio.loyalty import queries, service
from retentio.loyalty.models import Entry, EntryKind, Programme, Tier
from retentio.loyalty.schemas import (
    AdjustIn,
    EntryRead,
    LedgerPage,
    Liabilities,
    LoyaltyRead,
    ProgrammeIn,
    ProgrammeRead,
    RedeemIn,
    TierIn,
    TierLiability,
    TierRead,
)
from retentio.web.deps import SessionDep

router = APIRouter(tags=["loyalty"])
Reader = Annotated[User, Depends(require(Permission.VIEW))]
Till = Annotated[User, Depends(require(Permission.EDIT_CUSTOMERS))]
Admin = Annotated[User, Depends(require(Permission.MANAGE_SETTINGS))]


@router.get("/loyalty/programme", response_model=ProgrammeRead)
def get_programme(session: SessionDep, _user: Reader) -> Programme:
    return queries.programme(session)


@router.put("/loyalty/programme", response_model=ProgrammeRead)
def put_programme(body: ProgrammeIn, session: SessionDep, _user: Admin) -> Programme:
    return service.update_programme(session, body, actor_id=_user.id)


@router.get("/loyalty/tiers", response_model=list[TierRead])
def list_tiers(session: SessionDep, _user: Reader) -> list[Tier]:
    return list(queries.tiers(session))


@router.post("/loyalty/tiers", response_model=TierRead, status_code=status.HTTP_201_CREATED)
def create_tier(body: TierIn, session: SessionDep, _user: Admin) -> Tier:
    return service.create_tier(session, body, actor_id=_user.id)


@router.get("/loyalty/tiers/{tier_id}", response_model=TierRead)
def get_tier(tier_id: int, session: SessionDep, _user: Reader) -> Tier:
    return service.get_tier(session, tier_id)


@router.put("/loyalty/tiers/{tier_id}", response_model=TierRead)
def update_tier(tier_id: int, body: TierIn, session: SessionDep, _user: Admin) -> Tier:
    return service.update_tier(session, tier_id, body, actor_id=_user.id)


@router.delete("/loyalty/tiers/{tier_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_tier(tier_id: int, session: SessionDep, _user: Admin) -> Response:
    service.delete_tier(session, tier_id, actor_id=_user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/loyalty/ledger", response_model=LedgerPage)
def search_ledger(
    session: SessionDep,
    user: Reader,
    contact_id: int | None = None,
    kind: EntryKind | None = None,
    created_from: datetime | None = Query(default=None, alias="from"),
    created_to: datetime | None = Query(default=None, alias="to"),
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> LedgerPage:
    """Entries newest first; `from` inclusive, `to` exclusive (ISO 8601 with an offset)."""
    flt = queries.LedgerFilter(contact_id, kind, created_from, created_to)
    rows, total = queries.ledger_page(session, user, flt, offset=offset, limit=limit)
    return LedgerPage(total=total, entries=[EntryRead.model_validate(e) for e, _c in rows])


@router.get("/loyalty/liabilities", response_model=Liabilities)
def liabilities(session: SessionDep, _user: Reader) -> Liabilities:
    owed = queries.outstanding(session)
    return Liabilities(
        points=owed.points,
        accounts=owed.accounts,
        by_tier=[TierLiability(**vars(share)) for share in owed.by_tier],
    )


@router.get("/contacts/{contact_id}/loyalty", response_model=LoyaltyRead)
def contact_loyalty(contact_id: int, session: SessionDep, user: Reader) -> LoyaltyRead:
    visible_contact(session, user, contact_id)
    return _read(session, contact_id)


@router.post("/contacts/{contact_id}/loyalty/redeem", response_model=EntryRead)
def redeem(contact_id: int, body: RedeemIn, session: SessionDep, user: Till) -> Entry:
    """Spend points; 409 `insufficient_points` (with the balance) when they are not there.
    Sending the same key again returns the first entry and spends nothing more."""
    visible_contact(session, user, contact_id)
    return service.redeem(
        session,
        contact_id,
        body.points,
        reason=body.reason,
        key=body.key,
        actor_id=user.id,
        now=utcnow(),
    )


@router.post("/contacts/{contact_id}/loyalty/adjust", response_model=EntryRead)
def adjust(contact_id: int, body: AdjustIn, session: SessionDep, user: Admin) -> Entry:
    visible_contact(session, user, contact_id)
    return service.adjust(
        session,
        contact_id,
        body.points,
        reason=body.reason,
        key=body.key,
        actor_id=user.id,
        now=utcnow(),
    )


def _read(session: SessionDep, contact_id: int) -> LoyaltyRead:
    points = queries.contact_points(session, contact_id)
    return LoyaltyRead(
        contact_id=contact_id,
        balance=points.balance,
        tier=TierRead.model_validate(points.tier) if points.tier else None,
        tier_since=points.tier_since,
        entries=[EntryRead.model_validate(e) for e in points.entries],
    )
