"""Template variables that other domains provide, read for a whole sending batch at once:

- `loyalty`: the contact's points balance, tier name and tier discount (zero points, no tier
  for contacts outside the programme);
- `recommendations`: the contact's next best offers (name, sku, price, currency), computed
  only for messages whose content mentions them — they cost a few queries per contact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from retentio.loyalty.queries import template_views
from retentio.messaging.models import Message, MessageContent
from retentio.recommend.queries import recommendation_variables

NO_POINTS: dict[str, Any] = {"balance": 0, "tier": None, "discount_percent": 0}
RECOMMENDATIONS = "recommendations"


def _mentions(content: MessageContent, name: str) -> bool:
    return any(name in (part or "") for part in (content.subject, content.html, content.text))


def template_extras(
    session: Session, messages: Sequence[Message], contents: Mapping[int, MessageContent]
) -> dict[int, dict[str, Any]]:
    contact_ids = {m.contact_id for m in messages}
    points = template_views(session, contact_ids)
    wanting = {
        m.contact_id
        for m in messages
        if m.content_id in contents and _mentions(contents[m.content_id], RECOMMENDATIONS)
    }
    extras: dict[int, dict[str, Any]] = {}
    for contact_id in contact_ids:
        extras[contact_id] = {"loyalty": points.get(contact_id, NO_POINTS)}
        if contact_id in wanting:
            extras[contact_id][RECOMMENDATIONS] = recommendation_variables(session, contact_id)
    return extras
