"""Who may see which deals and leads.

Sales users see deals they own or watch, or that are available to all, and leads assigned to
them or to nobody; every other role sees everything. A deal the user may not see is reported
as missing (404), never as forbidden, so ids cannot be probed — on every route: card, API,
export, kanban move.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, or_, select, true
from sqlalchemy.orm import Session

from retentio.auth.models import Role, User
from retentio.errors import NotFound
from retentio.sales.models import Deal, DealWatcher, Lead


def deals_visible(user: User) -> ColumnElement[bool]:
    if user.role != Role.SALES:
        return true()
    watched = exists(
        select(DealWatcher.deal_id).where(
            DealWatcher.deal_id == Deal.id, DealWatcher.user_id == user.id
        )
    )
    return or_(Deal.owner_id == user.id, Deal.available_to_all.is_(True), watched)


def leads_visible(user: User) -> ColumnElement[bool]:
    if user.role != Role.SALES:
        return true()
    return or_(Lead.owner_id == user.id, Lead.owner_id.is_(None))


def visible_deal(session: Session, user: User, deal_id: int, *, lock: bool = False) -> Deal:
    query = select(Deal).where(Deal.id == deal_id, deals_visible(user))
    deal = session.scalars(query.with_for_update() if lock else query).first()
    if deal is None:
        raise NotFound(f"Deal {deal_id} does not exist.")
    return deal


def visible_lead(session: Session, user: User, lead_id: int, *, lock: bool = False) -> Lead:
    query = select(Lead).where(Lead.id == lead_id, leads_visible(user))
    lead = session.scalars(query.with_for_update() if lock else query).first()
    if lead is None:
        raise NotFound(f"Lead {lead_id} does not exist.")
    return lead
