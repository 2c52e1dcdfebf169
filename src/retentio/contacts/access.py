"""Who may see and edit which contacts.

Sales users see contacts they own or watch, or that are marked "available to all"; other roles
see every contact. A contact the user may not see is reported as missing (404), never as
forbidden, so ids cannot be probed.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, or_, select, true
from sqlalchemy.orm import Session

from retentio.auth.models import Role, User
from retentio.auth.permissions import Permission, role_allows
from retentio.contacts.models import Contact, ContactWatcher
from retentio.errors import NotFound, PermissionDenied


def visible_clause(user: User) -> ColumnElement[bool]:
    if user.role != Role.SALES:
        return true()
    watched = exists(
        select(ContactWatcher.contact_id).where(
            ContactWatcher.contact_id == Contact.id, ContactWatcher.user_id == user.id
        )
    )
    return or_(Contact.owner_id == user.id, Contact.available_to_all.is_(True), watched)


def visible_contact(session: Session, user: User, contact_id: int) -> Contact:
    contact = session.scalar(
        select(Contact).where(
            Contact.id == contact_id, Contact.deleted_at.is_(None), visible_clause(user)
        )
    )
    if contact is None:
        raise NotFound(f"Contact {contact_id} does not exist.")
    return contact


def editable_contact(session: Session, user: User, contact_id: int) -> Contact:
    contact = visible_contact(session, user, contact_id)
    if not role_allows(user.role, Permission.EDIT_CUSTOMERS):
        raise PermissionDenied("Your role does not allow editing contacts.")
    return contact
