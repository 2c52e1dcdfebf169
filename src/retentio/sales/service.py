"""Writes of the sales domain: pipelines and their stages, lost reasons, deals (create, edit,
move between stages with history, win, lose), leads (take, qualify, convert).

Services flush, never commit. A stage move is guarded twice: the deal row is locked, and a
`version` the mover saw must still be current (two managers dragging the same card: the second
hears 409 instead of silently overwriting).

Pipelines, their stages and lost reasons are settings: each change of one is recorded in the
audit log (entities "pipeline", "pipeline_stage", "lost_reason") here, for the API and the
pages alike.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from retentio.audit import service as audit
from retentio.auth.models import User
from retentio.commerce.models import Order, OrderStatus
from retentio.companies.models import Company
from retentio.contacts.identities import owners_of
from retentio.contacts.models import Contact, IdentityKind
from retentio.contacts.normalize import normalize_email, normalize_phone
from retentio.contacts.resolve import Who, resolve
from retentio.errors import Conflict, InvalidInput, NotFound
from retentio.events.service import UTM_FIELDS
from retentio.kit.upsert import insert_or_ignore
from retentio.sales.access import visible_deal, visible_lead
from retentio.sales.models import (
    Deal,
    DealProduct,
    DealStageChange,
    DealStatus,
    DealWatcher,
    Lead,
    LeadStatus,
    LostReason,
    Pipeline,
    Stage,
    StageKind,
)
from retentio.sales.schemas import (
    ConvertIn,
    DealIn,
    Duplicates,
    LeadIn,
    MoveIn,
    PipelineIn,
    StageIn,
)


class NameTaken(Conflict):
    code = "name_taken"


class StaleDeal(Conflict):
    code = "stale_deal"


class StageInUse(Conflict):
    code = "stage_in_use"


class DuplicatesFound(Conflict):
    """Converting would create a second record of someone we know: choose one."""

    code = "duplicates_found"


class AlreadyConverted(Conflict):
    code = "already_converted"


# --- pipelines --------------------------------------------------------------------------------


def stages_of(session: Session, pipeline_id: int) -> list[Stage]:
    return list(
        session.scalars(
            select(Stage).where(Stage.pipeline_id == pipeline_id).order_by(Stage.position)
        )
    )


def get_pipeline(session: Session, pipeline_id: int) -> Pipeline:
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None or pipeline.archived_at is not None:
        raise NotFound(f"Pipeline {pipeline_id} does not exist.")
    return pipeline


def _check_stages(data: PipelineIn) -> None:
    kinds = [s.kind for s in data.stages]
    for kind in StageKind:
        if kind not in kinds:
            raise InvalidInput(
                f"stages: a pipeline needs a {kind.value} stage.", details={"field": "stages"}
            )
    if kinds[0] != StageKind.OPEN:
        raise InvalidInput(
            "stages.0.kind: deals start in the first stage, which must be open.",
            details={"field": "stages.0.kind"},
        )


def save_pipeline(
    session: Session, data: PipelineIn, *, pipeline_id: int | None = None, actor_id: int | None
) -> Pipeline:
    """Create, or replace the stages of, a pipeline. Stages given with their id are kept
    (renamed, moved); a stage left out must have no deals."""
    before = None
    if pipeline_id is not None:
        before = _pipeline_settings(session, get_pipeline(session, pipeline_id))
    pipeline = _store_pipeline(session, data, pipeline_id)
    _audit_pipeline(session, before, _pipeline_settings(session, pipeline), actor_id)
    return pipeline


def _store_pipeline(session: Session, data: PipelineIn, pipeline_id: int | None) -> Pipeline:
    _check_stages(data)
    if pipeline_id is None:
        pipeline = Pipeline(name=data.name)
        session.add(pipeline)
    else:
        pipeline = get_pipeline(session, pipeline_id)
        pipeline.name = data.name
    try:
        session.flush()
    except IntegrityError as error:
        raise NameTaken(
            f"A pipeline named {data.name!r} exists.", details={"field": "name"}
        ) from error
    existing = {s.id: s for s in stages_of(session, pipeline.id)}
    kept = {s.id for s in data.stages if s.id is not None}
    for stage_id in set(existing) - kept:
        if session.scalar(select(func.count()).where(Deal.stage_id == stage_id)):
            raise StageInUse(
                f"Stage {existing[stage_id].name!r} has deals: move them first.",
                details={"field": "stages"},
            )
        session.delete(existing[stage_id])
    for position, given in enumerate(data.stages):
        stage = existing.get(given.id) if given.id is not None else None
        if given.id is not None and stage is None:
            raise InvalidInput(
                f"stages.{position}.id: stage {given.id} is not in this pipeline.",
                details={"field": f"stages.{position}.id"},
            )
        if stage is None:
            stage = Stage(pipeline_id=pipeline.id, position=position)
            session.add(stage)
        stage.name, stage.position = given.name, position
        stage.probability, stage.kind = given.probability, given.kind
    session.flush()
    return pipeline


def _pipeline_settings(session: Session, pipeline: Pipeline) -> dict[str, Any]:
    """The pipeline's name and each of its stages by id, as the audit log compares them."""
    stages = {
        s.id: {"name": s.name, "probability": s.probability, "kind": s.kind.value, "position": p}
        for p, s in enumerate(stages_of(session, pipeline.id))
    }
    return {"id": pipeline.id, "name": pipeline.name, "stages": stages}


def _audit_pipeline(
    session: Session, before: dict[str, Any] | None, after: dict[str, Any], actor_id: int | None
) -> None:
    """One entry for the pipeline, then one per stage made, changed or removed."""
    entries: list[tuple[str, int, str, dict[str, Any]]] = []
    if before is None:
        entries.append(("pipeline", after["id"], "create", {"name": after["name"]}))
    else:
        renamed = audit.changed({"name": before["name"]}, {"name": after["name"]})
        entries.append(("pipeline", after["id"], "update", renamed))
    old: dict[int, dict[str, Any]] = before["stages"] if before else {}
    for stage_id, stage in after["stages"].items():
        if stage_id not in old:
            entries.append(("pipeline_stage", stage_id, "create", stage))
            continue
        changes = audit.changed(old[stage_id], stage)
        if changes:
            entries.append(("pipeline_stage", stage_id, "update", changes))
    for stage_id, stage in old.items():
        if stage_id not in after["stages"]:
            # The row is gone: its name is what tells a reader of the log which stage it was.
            entries.append(("pipeline_stage", stage_id, "delete", {"name": stage["name"]}))
    for entity, entity_id, action, changes in entries:
        audit.record(
            session,
            entity=entity,
            entity_id=entity_id,
            action=action,
            actor_id=actor_id,
            changes=changes,
        )


DEFAULT_STAGES = (
    ("Новая", 10, StageKind.OPEN),
    ("Квалификация", 25, StageKind.OPEN),
    ("Предложение", 50, StageKind.OPEN),
    ("Переговоры", 75, StageKind.OPEN),
    ("Успешно", 100, StageKind.WON),
    ("Проиграна", 0, StageKind.LOST),
)
DEFAULT_LOST_REASONS = ("Дорого", "Выбрали конкурента", "Нет бюджета", "Не дозвонились")


def ensure_default_pipeline(session: Session) -> Pipeline:
    """The shop starts with one sales pipeline and a list of lost reasons."""
    found = session.scalars(
        select(Pipeline)
        .where(Pipeline.archived_at.is_(None))
        .order_by(Pipeline.position, Pipeline.id)
    ).first()
    for name in DEFAULT_LOST_REASONS:
        insert_or_ignore(session, LostReason, {"name": name})
    if found is not None:
        return found
    stages = [StageIn(name=n, probability=p, kind=k) for n, p, k in DEFAULT_STAGES]
    # Not audited: the starting pipeline (made on first use, even by a read) is nobody's change.
    return _store_pipeline(session, PipelineIn(name="Продажи", stages=stages), None)


def add_lost_reason(session: Session, name: str, *, actor_id: int | None) -> LostReason:
    name = name.strip()
    if not name:
        raise InvalidInput("name: give the reason.", details={"field": "name"})
    if not insert_or_ignore(session, LostReason, {"name": name}):
        raise NameTaken(f"The reason {name!r} exists.", details={"field": "name"})
    reason = session.scalars(select(LostReason).where(LostReason.name == name)).one()
    audit.record(
        session,
        entity="lost_reason",
        entity_id=reason.id,
        action="create",
        actor_id=actor_id,
        changes={"name": reason.name},
    )
    return reason


# --- deals ------------------------------------------------------------------------------------


def _stage(session: Session, pipeline_id: int, stage_id: int | None, field: str) -> Stage:
    stages = stages_of(session, pipeline_id)
    if stage_id is None:
        return stages[0]
    for stage in stages:
        if stage.id == stage_id:
            return stage
    raise InvalidInput(
        f"{field}: stage {stage_id} is not in pipeline {pipeline_id}.", details={"field": field}
    )


def _check_refs(session: Session, data: DealIn) -> None:
    for field, model, value in (
        ("contact_id", Contact, data.contact_id),
        ("company_id", Company, data.company_id),
        ("owner_id", User, data.owner_id),
    ):
        if value is not None and session.get(model, value) is None:
            raise InvalidInput(f"{field}: {value} does not exist.", details={"field": field})


def create_deal(session: Session, data: DealIn, *, actor: User | None, now: datetime) -> Deal:
    get_pipeline(session, data.pipeline_id)
    stage = _stage(session, data.pipeline_id, data.stage_id, "stage_id")
    _check_refs(session, data)
    deal = Deal(
        title=data.title,
        pipeline_id=data.pipeline_id,
        stage_id=stage.id,
        status=DealStatus.OPEN,
        stage_entered_at=now,
        created_at=now,
        updated_at=now,
    )
    _apply(deal, data, actor)
    session.add(deal)
    session.flush()
    session.add(
        DealStageChange(
            deal_id=deal.id,
            from_stage_id=None,
            to_stage_id=stage.id,
            actor_id=_id(actor),
            changed_at=now,
        )
    )
    _settle(deal, stage, now)
    _set_watchers(session, deal.id, data.watcher_ids)
    _set_products(session, deal, data)
    session.flush()
    return deal


def _id(user: User | None) -> int | None:
    return user.id if user else None


def _apply(deal: Deal, data: DealIn, actor: User | None) -> None:
    deal.title, deal.currency = data.title, data.currency
    deal.contact_id, deal.company_id = data.contact_id, data.company_id
    # A sales user's new deal is theirs unless they name someone else.
    deal.owner_id = data.owner_id if data.owner_id is not None else _id(actor)
    deal.available_to_all = data.available_to_all
    deal.source, deal.utm, deal.custom = data.source, data.utm, data.custom
    deal.expected_close_on = data.expected_close_on
    deal.amount = data.amount


def _set_watchers(session: Session, deal_id: int, user_ids: list[int]) -> None:
    session.execute(delete(DealWatcher).where(DealWatcher.deal_id == deal_id))
    for user_id in sorted(set(user_ids)):
        if session.get(User, user_id) is None:
            raise InvalidInput(
                f"watcher_ids: user {user_id} does not exist.", details={"field": "watcher_ids"}
            )
        session.add(DealWatcher(deal_id=deal_id, user_id=user_id))


def _set_products(session: Session, deal: Deal, data: DealIn) -> None:
    session.execute(delete(DealProduct).where(DealProduct.deal_id == deal.id))
    for item in data.products:
        session.add(
            DealProduct(
                deal_id=deal.id,
                product_id=item.product_id,
                quantity=item.quantity,
                unit_price=item.unit_price,
            )
        )
    if data.products and data.amount == 0:
        deal.amount = sum((i.quantity * i.unit_price for i in data.products), Decimal("0"))


def update_deal(session: Session, user: User, deal_id: int, data: DealIn, *, now: datetime) -> Deal:
    """Edit the fields; a different stage is a move (with history)."""
    deal = visible_deal(session, user, deal_id, lock=True)
    if data.pipeline_id != deal.pipeline_id:
        get_pipeline(session, data.pipeline_id)
        deal.pipeline_id = data.pipeline_id
        data = data.model_copy(update={"stage_id": data.stage_id})
    _check_refs(session, data)
    owner = deal.owner_id
    _apply(deal, data, None)
    if data.owner_id is None:
        deal.owner_id = owner
    _set_watchers(session, deal.id, data.watcher_ids)
    _set_products(session, deal, data)
    stage = _stage(session, deal.pipeline_id, data.stage_id or deal.stage_id, "stage_id")
    if stage.id != deal.stage_id:
        _move(session, deal, stage, actor=user, now=now)
    deal.version += 1
    deal.updated_at = now
    session.flush()
    return deal


def move_deal(session: Session, user: User, deal_id: int, data: MoveIn, *, now: datetime) -> Deal:
    """The kanban's drop: to another stage of the same pipeline."""
    deal = visible_deal(session, user, deal_id, lock=True)
    if data.version is not None and data.version != deal.version:
        raise StaleDeal(
            "Someone changed this deal meanwhile: reload and try again.",
            details={"field": "version", "current": deal.version},
        )
    stage = _stage(session, deal.pipeline_id, data.stage_id, "stage_id")
    if stage.kind == StageKind.LOST:
        reason = data.lost_reason_id
        if reason is None or session.get(LostReason, reason) is None:
            raise InvalidInput(
                "lost_reason_id: say why the deal was lost.", details={"field": "lost_reason_id"}
            )
        deal.lost_reason_id, deal.lost_comment = reason, data.lost_comment
    if stage.id != deal.stage_id:
        _move(session, deal, stage, actor=user, now=now)
        deal.version += 1
        deal.updated_at = now
    session.flush()
    return deal


def _move(session: Session, deal: Deal, stage: Stage, *, actor: User | None, now: datetime) -> None:
    session.add(
        DealStageChange(
            deal_id=deal.id,
            from_stage_id=deal.stage_id,
            to_stage_id=stage.id,
            actor_id=_id(actor),
            changed_at=now,
        )
    )
    deal.stage_id, deal.stage_entered_at = stage.id, now
    _settle(deal, stage, now)


def _settle(deal: Deal, stage: Stage, now: datetime) -> None:
    """The status follows the stage: reopening a won or lost deal clears its date."""
    deal.status = DealStatus(stage.kind.value)
    deal.won_at = now if stage.kind == StageKind.WON else None
    deal.lost_at = now if stage.kind == StageKind.LOST else None
    if stage.kind != StageKind.LOST:
        deal.lost_reason_id, deal.lost_comment = None, ""


# --- leads ------------------------------------------------------------------------------------


def _keys(email: str | None, phone: str | None, region: str) -> list[tuple[IdentityKind, str]]:
    keys = []
    if email:
        keys.append((IdentityKind.EMAIL, normalize_email(email)))
    if phone:
        keys.append((IdentityKind.PHONE, normalize_phone(phone, default_region=region)))
    return keys


def _known_contact(session: Session, lead: Lead, region: str) -> int | None:
    owners = owners_of(session, _keys(lead.email, lead.phone, region))
    return next(iter(owners.values()), None)


def create_lead(
    session: Session,
    data: LeadIn,
    *,
    default_region: str,
    now: datetime,
    form_id: int | None = None,
) -> Lead:
    """A new request. One from someone who already bought is marked a repeat sale; the same
    `external_id` twice is one lead (the first)."""
    if not (data.email or data.phone or data.name):
        raise InvalidInput("email: give a name, an e-mail or a phone.", details={"field": "email"})
    _keys(data.email, data.phone, default_region)  # refuses a malformed address by its field
    if data.owner_id is not None and session.get(User, data.owner_id) is None:
        raise InvalidInput(
            f"owner_id: {data.owner_id} does not exist.", details={"field": "owner_id"}
        )
    if data.external_id:
        found = session.scalars(select(Lead).where(Lead.external_id == data.external_id)).first()
        if found is not None:
            return found
    lead = Lead(
        title=data.title,
        name=data.name,
        email=normalize_email(data.email) if data.email else None,
        phone=normalize_phone(data.phone, default_region=default_region) if data.phone else None,
        company_name=data.company_name,
        message=data.message,
        status=LeadStatus.NEW,
        source=data.source,
        utm=data.utm,
        form_id=form_id,
        owner_id=data.owner_id,
        external_id=data.external_id,
        created_at=now,
    )
    known = _known_contact(session, lead, default_region)
    if known is not None:
        lead.contact_id = known
        lead.is_repeat = _has_bought(session, known)
    # The unique external id settles two identical calls racing: the loser gets the winner's.
    savepoint = session.begin_nested()
    session.add(lead)
    try:
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        return session.scalars(select(Lead).where(Lead.external_id == data.external_id)).one()
    savepoint.commit()
    return lead


def lead_from_form(
    session: Session,
    *,
    form_id: int,
    form_name: str,
    answers: dict[str, Any],
    campaign: dict[str, str] | None,
    default_region: str,
    now: datetime,
) -> Lead:
    """A web form's submission as a lead: `answers` by the contact field each one fills,
    `campaign` the visit's UTM as the tracker sends it ({"source", "medium", "name", …})."""
    name = " ".join(str(answers[k]) for k in ("first_name", "last_name") if answers.get(k))
    utm = {UTM_FIELDS[k]: str(v) for k, v in (campaign or {}).items() if k in UTM_FIELDS and v}
    data = LeadIn(
        title=form_name[:300],
        name=name[:200],
        email=answers.get("email") or None,
        phone=answers.get("phone") or None,
        source="form",
        utm=utm,
    )
    return create_lead(session, data, default_region=default_region, now=now, form_id=form_id)


def _has_bought(session: Session, contact_id: int) -> bool:
    won = select(Deal.id).where(Deal.contact_id == contact_id, Deal.status == DealStatus.WON)
    ordered = select(Order.id).where(
        Order.contact_id == contact_id, Order.status != OrderStatus.CANCELLED
    )
    return bool(session.scalar(select(won.exists() | ordered.exists())))


def set_lead_status(session: Session, user: User, lead_id: int, status: LeadStatus) -> Lead:
    lead = visible_lead(session, user, lead_id, lock=True)
    if lead.status == LeadStatus.CONVERTED or status == LeadStatus.CONVERTED:
        raise AlreadyConverted("A converted lead stays converted; convert through its card.")
    lead.status = status
    session.flush()
    return lead


def duplicates(session: Session, lead: Lead, region: str) -> Duplicates:
    """Contacts with the lead's e-mail or phone, and their open deals."""
    contacts = sorted(set(owners_of(session, _keys(lead.email, lead.phone, region)).values()))
    deals = (
        session.scalars(
            select(Deal.id)
            .where(Deal.contact_id.in_(contacts), Deal.status == DealStatus.OPEN)
            .order_by(Deal.id)
        ).all()
        if contacts
        else []
    )
    return Duplicates(contacts=contacts, open_deals=list(deals))


def convert_lead(
    session: Session,
    user: User,
    lead_id: int,
    data: ConvertIn,
    *,
    default_region: str,
    now: datetime,
) -> Deal:
    """Lead → contact (+ company) + deal. When the lead's e-mail or phone belongs to someone
    known, the caller must choose: attach to that contact (`contact_id`), and to one of their
    open deals (`deal_id`) or a new one; otherwise DuplicatesFound lists the candidates."""
    lead = visible_lead(session, user, lead_id, lock=True)
    if lead.status == LeadStatus.CONVERTED:
        raise AlreadyConverted(f"Lead {lead_id} is converted already.")
    found = duplicates(session, lead, default_region)
    if data.contact_id is None and _own_contact(lead, found):
        data = data.model_copy(update={"contact_id": lead.contact_id})
    if found.contacts and data.contact_id is None:
        raise DuplicatesFound(
            "This person is known: attach the lead to the contact (and deal) or pick another.",
            details={"field": "contact_id", **found.model_dump()},
        )
    contact = _contact_for(session, lead, data, default_region, now)
    deal = _deal_for(session, user, lead, contact, data, now)
    lead.status, lead.converted_at = LeadStatus.CONVERTED, now
    lead.contact_id, lead.deal_id = contact.id, deal.id
    session.flush()
    return deal


def _own_contact(lead: Lead, found: Duplicates) -> bool:
    """A form makes its contact before its lead: that contact, alone and with no open deal,
    is the lead's own person, not a duplicate to ask about."""
    return (
        lead.form_id is not None
        and lead.contact_id is not None
        and found.contacts == [lead.contact_id]
        and not found.open_deals
    )


def _contact_for(
    session: Session, lead: Lead, data: ConvertIn, region: str, now: datetime
) -> Contact:
    if data.contact_id is not None:
        contact = session.get(Contact, data.contact_id)
        if contact is None or contact.deleted_at is not None:
            raise InvalidInput(
                f"contact_id: contact {data.contact_id} does not exist.",
                details={"field": "contact_id"},
            )
        return contact
    if lead.email or lead.phone:
        contact = resolve(
            session, Who(email=lead.email, phone=lead.phone), default_region=region, now=now
        )
    else:
        contact = Contact(custom={})
        session.add(contact)
    first, _, last = lead.name.partition(" ")
    contact.first_name = contact.first_name or first or None
    contact.last_name = contact.last_name or last or None
    contact.source = contact.source or lead.source
    contact.owner_id = contact.owner_id or lead.owner_id
    if data.create_company and lead.company_name and contact.company_id is None:
        company = Company(name=lead.company_name, custom={}, owner_id=lead.owner_id)
        session.add(company)
        session.flush()
        contact.company_id = company.id
    session.flush()
    return contact


def _deal_for(
    session: Session, user: User, lead: Lead, contact: Contact, data: ConvertIn, now: datetime
) -> Deal:
    if data.deal_id is not None:
        deal = visible_deal(session, user, data.deal_id, lock=True)
        if deal.contact_id != contact.id or deal.status != DealStatus.OPEN:
            raise InvalidInput(
                f"deal_id: deal {data.deal_id} is not an open deal of this contact.",
                details={"field": "deal_id"},
            )
        return deal
    pipeline = (
        get_pipeline(session, data.pipeline_id)
        if data.pipeline_id is not None
        else ensure_default_pipeline(session)
    )
    deal_in = DealIn(
        title=data.deal_title or lead.title,
        pipeline_id=pipeline.id,
        amount=data.amount,
        contact_id=contact.id,
        company_id=contact.company_id,
        owner_id=lead.owner_id or user.id,
        source=lead.source,
        utm={str(k): str(v) for k, v in (lead.utm or {}).items()},
    )
    return create_deal(session, deal_in, actor=user, now=now)
