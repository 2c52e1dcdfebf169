"""Segment Tracking API messages → our `EventIn`: names, identities, times, errors.

Pure functions, no database. The field names in errors are Segment's (`messageId`,
`traits.email`), so an SDK user sees the name they sent. Spec: Segment's "Spec: Common Fields",
"Identify", "Track", "Page", "Screen", "Group", "Alias" and "E-commerce Events v2".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from retentio.errors import InvalidInput
from retentio.events.schemas import MAX_BATCH, EventIn

CALLS = ("identify", "track", "page", "screen", "group", "alias")
CALL_TYPES = {
    "identify": "identify",
    "page": "page_view",
    "screen": "screen_view",
    "group": "group",
    "alias": "alias",
}
# Segment's e-commerce spec names → the event types our segments and journeys use.
SPEC_EVENTS = {
    "Product Viewed": "product_view",
    "Product Added": "cart_add",
    "Product Removed": "cart_remove",
    "Checkout Started": "checkout_start",
    "Order Completed": "order_placed",
}
# Our field → Segment's, for error messages.
SEGMENT_FIELDS = {
    "message_id": "messageId",
    "user_id": "userId",
    "anonymous_id": "anonymousId",
    "email": "traits.email",
    "phone": "traits.phone",
    "occurred_at": "timestamp",
    "type": "event",
}
CONTACT_TRAITS = ("email", "phone")
MAX_TYPE = 64


class MissingMessageId(InvalidInput):
    status = 400
    code = "missing_message_id"


class InvalidSegmentMessage(InvalidInput):
    code = "invalid_segment_message"


def event_type(call: str, name: object) -> str:
    """`track` "Signed Up" → `signed_up`; spec names → ours; other calls by their kind."""
    if call != "track":
        return CALL_TYPES[call]
    if not isinstance(name, str) or not name.strip():
        raise InvalidSegmentMessage("event: a track call needs an event name.", details=_f("event"))
    return SPEC_EVENTS.get(name.strip()) or snake_case(name)


def snake_case(name: str) -> str:
    """`Signed Up` → `signed_up`, `addedToCart` → `added_to_cart`, `2FA On` → `e_2fa_on`."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name.strip())
    words = re.sub(r"[^0-9A-Za-z]+", "_", spaced).strip("_").lower()
    if not words[:1].isalpha():
        # Our types start with a letter.
        words = f"e_{words}".rstrip("_")
    return words[:MAX_TYPE].rstrip("_")


def to_event(
    message: Mapping[str, Any], *, call: str, now: datetime, sent_at: Any = None
) -> EventIn:
    """One Segment message as our event; `call` is the endpoint's kind or the message's `type`."""
    if call not in CALLS:
        raise InvalidSegmentMessage(f"type: {call!r} is not a Segment call.", details=_f("type"))
    message_id = message.get("messageId")
    if not isinstance(message_id, str) or not message_id.strip():
        raise _missing_message_id("messageId")
    raw = {
        "message_id": message_id,
        "type": event_type(call, message.get("event")),
        "occurred_at": occurred_at(message, now=now, sent_at=sent_at),
        "user_id": _id(message.get("userId")),
        "anonymous_id": _id(message.get("anonymousId")),
        "properties": _properties(message, call=call),
        "context": _dict(message.get("context")),
        **_people_fields(message, call=call),
    }
    if call == "alias":
        # The previous id (usually the anonymous one) joins the user: resolution merges them.
        raw["anonymous_id"] = _id(message.get("previousId"))
    return _validated(raw)


def batch_events(body: Mapping[str, Any], *, now: datetime) -> list[EventIn]:
    """The messages of a `/v1/batch` body, each by its own `type`; errors name `batch.N.…`."""
    items = body.get("batch")
    if not isinstance(items, list) or not items:
        raise InvalidSegmentMessage("batch: give a list of messages.", details=_f("batch"))
    if len(items) > MAX_BATCH:
        raise InvalidSegmentMessage(
            f"batch: at most {MAX_BATCH} messages per request, got {len(items)}.",
            details=_f("batch"),
        )
    return [_batch_item(item, index, now, body.get("sentAt")) for index, item in enumerate(items)]


def _batch_item(item: Any, index: int, now: datetime, sent_at: Any) -> EventIn:
    if not isinstance(item, Mapping):
        raise InvalidSegmentMessage(
            f"batch.{index}: a message is a JSON object.", details=_f(f"batch.{index}")
        )
    try:
        return to_event(item, call=str(item.get("type")), now=now, sent_at=sent_at)
    except InvalidInput as error:
        raise at_index(error, index) from error


def occurred_at(message: Mapping[str, Any], *, now: datetime, sent_at: Any = None) -> Any:
    """`timestamp`, else `originalTimestamp` corrected for the device clock's skew."""
    if message.get("timestamp") is not None:
        # Unparseable values go on as they are, for the validation error to name the field.
        return _parse_time(message["timestamp"]) or message["timestamp"]
    original = _parse_time(message.get("originalTimestamp"))
    sent = _parse_time(message.get("sentAt", sent_at))
    if original is None:
        return message.get("originalTimestamp")
    if sent is None:
        return original
    # Segment's rule: timestamp = receivedAt - (sentAt - originalTimestamp).
    return now - (sent - original)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    # Segment reads a time without an offset as UTC.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _people_fields(message: Mapping[str, Any], *, call: str) -> dict[str, Any]:
    """E-mail and phone become identities; identify's other traits set contact fields."""
    if call == "identify":
        traits = _dict(message.get("traits"))
    else:
        traits = _dict(_dict(message.get("context")).get("traits"))
    fields: dict[str, Any] = {name: _text(traits.get(name)) for name in CONTACT_TRAITS}
    rest = {k: v for k, v in traits.items() if k not in CONTACT_TRAITS}
    if call == "identify":
        fields["traits"] = _contact_traits(rest) or None
    return fields


def _contact_traits(traits: dict[str, Any]) -> dict[str, Any]:
    """Segment's reserved `name` and `address.city` in the shape the ingest service reads."""
    result = dict(traits)
    name = traits.get("name")
    if (
        isinstance(name, str)
        and name.strip()
        and not ("firstName" in traits or "lastName" in traits)
    ):
        first, _, last = name.strip().partition(" ")
        result.update({"firstName": first, "lastName": last.strip() or None})
    city = _dict(traits.get("address")).get("city")
    if "city" not in traits and isinstance(city, str):
        result["city"] = city
    return result


def _properties(message: Mapping[str, Any], *, call: str) -> dict[str, Any]:
    properties = _dict(message.get("properties"))
    if call == "track":
        properties["segment_event"] = message.get("event")
    elif call in ("page", "screen"):
        for key in ("name", "category"):
            if message.get(key) is not None:
                properties.setdefault(key, message[key])
    elif call == "group":
        properties.update(
            {"group_id": _id(message.get("groupId")), "traits": message.get("traits")}
        )
    elif call == "alias":
        properties["previous_id"] = _id(message.get("previousId"))
    return properties


def _validated(raw: dict[str, Any]) -> EventIn:
    try:
        return EventIn.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        ours = ".".join(str(p) for p in first["loc"])
        name = segment_field(ours)
        raise InvalidSegmentMessage(f"{name}: {first['msg']}", details=_f(name)) from error


def segment_field(ours: str) -> str:
    """Our field path (`email`, `properties.x`) as Segment names it (`traits.email`)."""
    head, _, rest = ours.partition(".")
    name = SEGMENT_FIELDS.get(head, head)
    return f"{name}.{rest}" if rest else name


def single_field(ours: str) -> str:
    """`events.0.email` (the ingest service's naming) → `traits.email`."""
    return segment_field(ours.removeprefix("events.0."))


def batch_field(ours: str) -> str:
    """`events.3.email` (the ingest service's naming) → `batch.3.traits.email`."""
    parts = ours.split(".", 2)
    if parts[0] != "events" or len(parts) < 2:
        return ours
    return ".".join(["batch", parts[1], *(segment_field(p) for p in parts[2:])])


def at_index(error: InvalidInput, index: int) -> InvalidInput:
    """A message's error, located in the batch (`messageId` → `batch.2.messageId`)."""
    if isinstance(error, MissingMessageId):
        return _missing_message_id(f"batch.{index}.messageId")
    details = dict(error.details) if isinstance(error.details, dict) else {}
    field = f"batch.{index}.{details.get('field', '')}".rstrip(".")
    return type(error)(f"batch.{index}.{error.message}", details={**details, "field": field})


def _missing_message_id(field: str) -> MissingMessageId:
    message = f"{field}: every message needs one; retries are recognised by it."
    # A 400, yet the same details shape as the 422 field errors: a list of {field, message}.
    return MissingMessageId(message, details=[{"field": field, "message": message}])


def _f(field: str) -> dict[str, str]:
    return {"field": field}


def _id(value: Any) -> str | None:
    # SDKs send numbers as ids too; the Python SDK turns them into strings, others may not.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return _text(str(value))


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}
