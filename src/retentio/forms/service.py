"""Rules of web forms: defining them, counting views, and taking a visitor's submission.

Creating, changing and switching off a form is recorded in the audit log (entity "form") here,
for the API and the settings pages alike.

A submission is checked completely before anything is written, then — in the caller's one
transaction — finds or creates the contact (merging the anonymous visitor the tracker knew),
fills the contact's empty fields, records each consent ticked with the wording's version,
applies the tag, stores the submission, counts it and emits a `form_submit` event. Counters
use `SET n = n + 1`, never read-modify-write.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import InstrumentedAttribute, Session

from retentio.audit import service as audit
from retentio.consent.models import Channel, Purpose
from retentio.consent.service import record_consent
from retentio.contacts import identities
from retentio.contacts.models import Contact, IdentityKind
from retentio.contacts.normalize import normalize_email, normalize_phone, normalize_telegram
from retentio.contacts.resolve import Who, resolve
from retentio.contacts.schemas import ContactFields
from retentio.contacts.service import WriteContext, add_tag, update_contact
from retentio.errors import InvalidInput, NotFound, RetentioError
from retentio.events.models import Source
from retentio.events.schemas import EventIn
from retentio.events.service import ingest
from retentio.fields import queries as field_queries
from retentio.fields.models import CustomFieldDefinition, FieldEntity, FieldType
from retentio.fields.service import InvalidCustomValue, coerce
from retentio.forms import queries
from retentio.forms.models import FormSubmission, WebForm
from retentio.forms.schemas import (
    IDENTIFYING_FIELDS,
    ConsentIn,
    FormField,
    FormIn,
    FormPatch,
    RuleBroken,
    SubmissionIn,
    check_definition,
)
from retentio.sales import service as sales

# Column widths of the contact fields a form may fill.
MAX_LENGTH = {"first_name": 100, "last_name": 100, "city": 120, "telegram": 64}
MAX_TEXT = 1000
# Kinds a custom field of each type accepts; other types take text.
CUSTOM_KINDS = {FieldType.BOOLEAN: {"checkbox"}, FieldType.DATE: {"date"}}
TEXT_KINDS = {"text", "email", "tel"}


class FormNotFound(NotFound):
    code = "form_not_found"


class FormInactive(RetentioError):
    status = 410
    code = "form_inactive"


# --- definitions ---------------------------------------------------------------------------


def create_form(
    session: Session,
    data: FormIn,
    *,
    actor_id: int | None,
) -> WebForm:
    _check_against_database(session, data.fields, data.source_id)
    form = WebForm(
        public_id=secrets.token_urlsafe(12),
        name=data.name,
        fields=[f.model_dump() for f in data.fields],
        consents=_versioned([], data.consents),
        success_message=data.success_message,
        tag=data.tag,
        source_id=data.source_id,
        is_active=data.is_active,
    )
    session.add(form)
    session.flush()
    _audit(session, form, "create", actor_id, _settings(form))
    return form


def update_form(
    session: Session, form_id: int, data: FormPatch, *, actor_id: int | None
) -> WebForm:
    form = get_form(session, form_id)
    before = _settings(form)
    given = data.model_fields_set
    fields = data.fields if data.fields is not None else _fields_of(form)
    consents = data.consents if data.consents is not None else _consents_of(form)
    try:
        check_definition(fields, consents)
    except RuleBroken as broken:
        raise broken.as_invalid_input() from broken
    source_id = data.source_id if "source_id" in given else form.source_id
    _check_against_database(session, fields, source_id)
    form.fields = [f.model_dump() for f in fields]
    form.consents = _versioned(form.consents, consents)
    form.source_id = source_id
    if data.name is not None:
        form.name = data.name
    if data.success_message is not None:
        form.success_message = data.success_message
    if "tag" in given:
        form.tag = data.tag or None
    if data.is_active is not None:
        form.is_active = data.is_active
    session.flush()
    changes = audit.changed(before, _settings(form))
    if changes.keys() == {"is_active"}:
        # Switching a form on or off alone reads as such in the log, not as an edit.
        _audit(session, form, "activate" if form.is_active else "deactivate", actor_id, {})
    else:
        _audit(session, form, "update", actor_id, changes)
    return form


def deactivate_form(session: Session, form_id: int, *, actor_id: int | None) -> WebForm:
    """Forms are switched off, not deleted: their submissions and counters are history."""
    form = get_form(session, form_id)
    form.is_active = False
    session.flush()
    _audit(session, form, "deactivate", actor_id, {})
    return form


def _settings(form: WebForm) -> dict[str, Any]:
    """What the audit log keeps of a definition; a consent's past wordings are in the form."""
    return {
        "name": form.name,
        "fields": form.fields,
        "consents": [{k: v for k, v in c.items() if k != "history"} for c in form.consents],
        "success_message": form.success_message,
        "tag": form.tag,
        "source_id": form.source_id,
        "is_active": form.is_active,
    }


def _audit(
    session: Session, form: WebForm, action: str, actor_id: int | None, changes: dict[str, Any]
) -> None:
    audit.record(
        session, entity="form", entity_id=form.id, action=action, actor_id=actor_id, changes=changes
    )


def get_form(session: Session, form_id: int) -> WebForm:
    form = queries.form_by_id(session, form_id)
    if form is None:
        raise FormNotFound(f"Form {form_id} does not exist.")
    return form


def public_form(session: Session, public_id: str) -> WebForm:
    form = queries.form_by_public_id(session, public_id)
    if form is None:
        raise FormNotFound("There is no such form.")
    return form


def _check_against_database(
    session: Session, fields: list[FormField], source_id: int | None
) -> None:
    if source_id is not None and session.get(Source, source_id) is None:
        raise InvalidInput(
            f"source_id: source {source_id} does not exist.", details={"field": "source_id"}
        )
    definitions = _custom_definitions(session)
    for index, field in enumerate(fields):
        if field.custom_key is None:
            continue
        definition = definitions.get(field.custom_key)
        where = f"fields.{index}.maps_to"
        if definition is None:
            raise InvalidInput(
                f"{where}: there is no contact custom field {field.custom_key!r}.",
                details={"field": where},
            )
        kinds = CUSTOM_KINDS.get(definition.type, TEXT_KINDS)
        if field.kind not in kinds:
            raise InvalidInput(
                f"fields.{index}.kind: {field.custom_key!r} is a {definition.type.value} field; "
                f"use {' or '.join(sorted(kinds))}.",
                details={"field": f"fields.{index}.kind"},
            )


def _versioned(old: list[dict[str, Any]], new: list[ConsentIn]) -> list[dict[str, Any]]:
    """Consents with their wording's version: a changed wording is a new version, and the
    old one is kept, so any recorded consent can be matched to the exact text shown."""
    before = {c["key"]: c for c in old}
    result = []
    for consent in new:
        item: dict[str, Any] = consent.model_dump(mode="json")
        previous = before.get(consent.key)
        if previous is None:
            item.update(version="1", history=[])
        elif _same_wording(previous, item):
            item.update(version=previous["version"], history=previous.get("history", []))
        else:
            shown = {"version": previous["version"], "text": previous["text"]}
            item.update(
                version=str(int(previous["version"]) + 1),
                history=[*previous.get("history", []), shown],
            )
        result.append(item)
    return result


def _same_wording(previous: dict[str, Any], item: dict[str, Any]) -> bool:
    return all(previous.get(k) == item[k] for k in ("text", "channel", "purpose"))


def _fields_of(form: WebForm) -> list[FormField]:
    return [FormField.model_validate(f) for f in form.fields]


def _consents_of(form: WebForm) -> list[ConsentIn]:
    keep = set(ConsentIn.model_fields)
    return [
        ConsentIn.model_validate({k: v for k, v in c.items() if k in keep}) for c in form.consents
    ]


def _custom_definitions(session: Session) -> dict[str, CustomFieldDefinition]:
    return {
        d.key: d for d in field_queries.definitions(session, FieldEntity.CONTACT) if not d.archived
    }


# --- counters ------------------------------------------------------------------------------


def count_view(session: Session, form: WebForm) -> None:
    if not form.is_active:
        raise FormInactive("This form no longer accepts submissions.")
    _increment(session, form.id, WebForm.views)


def _increment(session: Session, form_id: int, column: InstrumentedAttribute[int]) -> None:
    session.execute(
        update(WebForm)
        .where(WebForm.id == form_id)
        # updated_at says when the definition changed; a counter moving is not that.
        .values({column: column + 1, WebForm.updated_at: WebForm.updated_at})
    )


# --- submissions ---------------------------------------------------------------------------


def submit(
    session: Session,
    form: WebForm,
    data: SubmissionIn,
    *,
    ip: str | None,
    user_agent: str,
    default_region: str,
    now: datetime,
) -> FormSubmission:
    """Take a visitor's submission; InvalidInput naming the field before anything is written."""
    if not form.is_active:
        raise FormInactive("This form no longer accepts submissions.")
    fields = _fields_of(form)
    values = _clean_values(session, fields, data.values, default_region=default_region)
    ticked = _ticked_consents(form.consents, data.consents)
    who = _who(fields, values, data.anonymous_id)
    contact = resolve(session, who, default_region=default_region, now=now)
    _fill_contact(session, contact, fields, values, default_region=default_region)
    _record_consents(session, form, contact.id, ticked, ip=ip, now=now)
    if form.tag:
        add_tag(session, [contact.id], form.tag)
    submission = FormSubmission(
        form_id=form.id,
        contact_id=contact.id,
        data={
            "values": values,
            "consents": {c["key"]: c["version"] for c in ticked},
            "page_url": data.page_url,
        },
        ip=ip,
        submitted_at=now,
    )
    session.add(submission)
    session.flush()
    _increment(session, form.id, WebForm.submissions)
    event = _submit_event(form, submission, who, data, ip=ip, user_agent=user_agent, now=now)
    ingest(session, [event], source_id=form.source_id, default_region=default_region, now=now)
    sales.lead_from_form(
        session,
        form_id=form.id,
        form_name=form.name,
        answers={f.maps_to: values.get(f.name) for f in fields},
        campaign=data.campaign,
        default_region=default_region,
        now=now,
    )
    return submission


def _clean_values(
    session: Session, fields: list[FormField], raw: dict[str, Any], *, default_region: str
) -> dict[str, Any]:
    """Each field's canonical value (JSON-ready), or InvalidInput naming the field."""
    known = {f.name for f in fields}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InvalidInput(
            f"{unknown[0]}: this form has no such field.", details={"field": unknown[0]}
        )
    definitions = _custom_definitions(session) if any(f.is_custom for f in fields) else {}
    values: dict[str, Any] = {}
    for field in fields:
        value = _clean_one(field, raw.get(field.name), definitions, default_region)
        if value is not None:
            values[field.name] = value
    return values


def _clean_one(
    field: FormField,
    raw: Any,
    definitions: dict[str, CustomFieldDefinition],
    default_region: str,
) -> Any:
    if field.kind == "checkbox":
        ticked = raw is True or (isinstance(raw, str) and raw.lower() in ("true", "on", "1"))
        if field.required and not ticked:
            raise _invalid(field, "tick this box to continue.")
        return _custom(field, ticked, definitions)
    text = raw.strip() if isinstance(raw, str) else ""
    if raw is not None and not isinstance(raw, str):
        raise _invalid(field, "expected text.")
    if not text:
        if field.required:
            raise _invalid(field, "this field is required.")
        return None
    if len(text) > MAX_LENGTH.get(field.maps_to, MAX_TEXT):
        raise _invalid(field, f"at most {MAX_LENGTH.get(field.maps_to, MAX_TEXT)} characters.")
    if field.kind == "email":
        return normalize_email(text, field=field.name)
    if field.kind == "tel":
        return normalize_phone(text, default_region=default_region, field=field.name)
    if field.kind == "date":
        return _iso_date(field, text)
    if field.maps_to == "telegram":
        return normalize_telegram(text)
    return _custom(field, text, definitions)


def _iso_date(field: FormField, text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as error:
        raise _invalid(field, f"{text!r} is not a date like 1990-05-17.") from error


def _custom(field: FormField, value: Any, definitions: dict[str, CustomFieldDefinition]) -> Any:
    if field.custom_key is None:
        return value
    definition = definitions.get(field.custom_key)
    if definition is None:
        # The custom field was archived after the form was built: keep the answer in the
        # submission, but there is nothing on the contact to fill.
        return value
    try:
        return coerce(definition, value)
    except InvalidCustomValue as error:
        raise _invalid(field, f"{value!r} is not a valid answer.") from error


def _invalid(field: FormField, message: str) -> InvalidInput:
    return InvalidInput(f"{field.name}: {message}", details={"field": field.name})


def _ticked_consents(
    consents: list[dict[str, Any]], answers: dict[str, bool]
) -> list[dict[str, Any]]:
    keys = {c["key"] for c in consents}
    unknown = sorted(set(answers) - keys)
    if unknown:
        where = f"consents.{unknown[0]}"
        raise InvalidInput(f"{where}: this form has no such consent.", details={"field": where})
    for consent in consents:
        if consent.get("required") and not answers.get(consent["key"]):
            where = f"consents.{consent['key']}"
            raise InvalidInput(f"{where}: this consent is required.", details={"field": where})
    return [c for c in consents if answers.get(c["key"]) is True]


def _record_consents(
    session: Session,
    form: WebForm,
    contact_id: int,
    ticked: list[dict[str, Any]],
    *,
    ip: str | None,
    now: datetime,
) -> None:
    # The version ties each consent to the exact wording shown (kept in the form's history).
    for consent in ticked:
        record_consent(
            session,
            contact_id,
            channel=Channel(consent["channel"]),
            purpose=Purpose(consent["purpose"]),
            granted=True,
            source=f"form:{form.id}",
            occurred_at=now,
            text_version=consent["version"],
            ip=ip,
        )


def _who(fields: list[FormField], values: dict[str, Any], anonymous_id: str | None) -> Who:
    by_target = {f.maps_to: values.get(f.name) for f in fields}
    email, phone = by_target.get("email"), by_target.get("phone")
    if not email and not phone:
        name = next(f.name for f in fields if f.maps_to in IDENTIFYING_FIELDS)
        raise InvalidInput(f"{name}: give an e-mail or a phone number.", details={"field": name})
    return Who(email=email, phone=phone, anonymous_id=anonymous_id or None)


def _fill_contact(
    session: Session,
    contact: Contact,
    fields: list[FormField],
    values: dict[str, Any],
    *,
    default_region: str,
) -> None:
    plain, custom = _changes(contact, fields, values)
    if "telegram" in plain and _held_by_another(session, contact, plain["telegram"]):
        del plain["telegram"]
    if custom:
        # A custom field archived since the form was built keeps its answer in the
        # submission only.
        defined = _custom_definitions(session)
        custom = {k: v for k, v in custom.items() if k in defined}
    if custom:
        plain["custom"] = custom
    if plain:
        context = WriteContext(actor_id=None, default_region=default_region)
        update_contact(session, contact, ContactFields.model_validate(plain), context)


def _changes(
    contact: Contact, fields: list[FormField], values: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Contact fields and custom values to set. Empty ones are filled; a value the contact
    has is kept unless the field says `overwrite`: a visitor's typo must not replace what
    the team curated."""
    plain: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for field in fields:
        if field.name not in values or field.maps_to in IDENTIFYING_FIELDS:
            continue  # e-mail and phone were attached as identities by resolve()
        value = values[field.name]
        if field.custom_key is not None:
            if field.overwrite or contact.custom.get(field.custom_key) in (None, ""):
                custom[field.custom_key] = value
        elif field.overwrite or getattr(contact, field.maps_to) in (None, ""):
            plain[field.maps_to] = value
    return plain, custom


def _held_by_another(session: Session, contact: Contact, telegram: str) -> bool:
    # Another record holding the handle is likely the same person: leave that to a merge.
    owner = identities.owners_of(session, [(IdentityKind.TELEGRAM, telegram)])
    return owner.get((IdentityKind.TELEGRAM, telegram), contact.id) != contact.id


def _submit_event(
    form: WebForm,
    submission: FormSubmission,
    who: Who,
    data: SubmissionIn,
    *,
    ip: str | None,
    user_agent: str,
    now: datetime,
) -> EventIn:
    """The `form_submit` event; it goes through ingestion like any other, so whatever reacts
    to events (segments, journeys) sees form submissions too."""
    context: dict[str, Any] = {"ip": ip, "userAgent": user_agent[:500]}
    if data.page_url:
        context["page"] = {"url": data.page_url}
    if data.campaign:
        context["campaign"] = data.campaign
    return EventIn(
        message_id=f"form:{form.public_id}:{submission.id}",
        type="form_submit",
        occurred_at=now,
        email=who.email,
        phone=who.phone,
        anonymous_id=who.anonymous_id,
        properties={"form_id": form.id, "form": form.name, "submission_id": submission.id},
        context=context,
    )
