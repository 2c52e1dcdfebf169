"""Segment messages → our events: names, identities, traits, times and field names in errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from retentio.errors import InvalidInput
from retentio.events.segment_mapping import (
    MissingMessageId,
    batch_events,
    batch_field,
    event_type,
    single_field,
    snake_case,
    to_event,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Product Viewed", "product_view"),
        ("Product Added", "cart_add"),
        ("Product Removed", "cart_remove"),
        ("Checkout Started", "checkout_start"),
        ("Order Completed", "order_placed"),
        ("Signed Up", "signed_up"),
        ("addedToWishlist", "added_to_wishlist"),
        ("  Coupon -- Applied! ", "coupon_applied"),
        ("2FA Enabled", "e_2fa_enabled"),
    ],
)
def test_track_names_map_to_our_types(name: str, expected: str) -> None:
    assert event_type("track", name) == expected


def test_other_calls_have_fixed_types() -> None:
    calls = ["identify", "page", "screen", "group", "alias"]
    assert [event_type(c, None) for c in calls] == [
        "identify",
        "page_view",
        "screen_view",
        "group",
        "alias",
    ]


def test_snake_case_is_cut_to_the_longest_type() -> None:
    assert snake_case("A" * 100) == "a" * 64


def test_identify_takes_email_and_phone_as_identities_and_the_rest_as_traits() -> None:
    event = to_event(
        {
            "messageId": "m1",
            "userId": 42,
            "anonymousId": "anon-1",
            "traits": {
                "email": " Anna@Example.ru ",
                "phone": "+79123456789",
                "name": "Анна Иванова",
                "address": {"city": "Тула"},
                "plan": "gold",
            },
            "timestamp": "2026-02-28T10:00:00.000+03:00",
            "context": {"campaign": {"source": "yandex"}},
        },
        call="identify",
        now=NOW,
    )
    assert (event.type, event.message_id, event.user_id, event.anonymous_id) == (
        "identify",
        "m1",
        "42",
        "anon-1",
    )
    assert (event.email, event.phone) == ("Anna@Example.ru", "+79123456789")
    assert event.traits == {
        "name": "Анна Иванова",
        "firstName": "Анна",
        "lastName": "Иванова",
        "address": {"city": "Тула"},
        "city": "Тула",
        "plan": "gold",
    }
    assert event.occurred_at == datetime(2026, 2, 28, 7, 0, tzinfo=UTC)
    assert event.context == {"campaign": {"source": "yandex"}}


def test_track_reads_context_traits_and_keeps_the_segment_name() -> None:
    event = to_event(
        {
            "messageId": "m2",
            "userId": "42",
            "event": "Order Completed",
            "properties": {"revenue": 5990},
            "context": {"traits": {"email": "anna@example.ru", "plan": "gold"}},
        },
        call="track",
        now=NOW,
    )
    assert (event.type, event.email, event.traits) == ("order_placed", "anna@example.ru", None)
    assert event.properties == {"revenue": 5990, "segment_event": "Order Completed"}


def test_page_group_and_alias_keep_what_identifies_them() -> None:
    page = to_event(
        {"messageId": "p", "anonymousId": "a", "name": "Home", "category": "Shop"},
        call="page",
        now=NOW,
    )
    group = to_event(
        {"messageId": "g", "userId": "42", "groupId": "acme", "traits": {"plan": "b2b"}},
        call="group",
        now=NOW,
    )
    alias = to_event({"messageId": "al", "userId": "42", "previousId": "a"}, call="alias", now=NOW)
    assert (page.type, page.properties) == ("page_view", {"name": "Home", "category": "Shop"})
    assert (group.type, group.properties) == (
        "group",
        {"group_id": "acme", "traits": {"plan": "b2b"}},
    )
    assert (alias.type, alias.user_id, alias.anonymous_id) == ("alias", "42", "a")


def test_original_timestamp_is_corrected_for_the_device_clock() -> None:
    # given: a device whose clock is 10 minutes fast
    message = {
        "messageId": "m",
        "anonymousId": "a",
        "originalTimestamp": "2026-03-01T12:05:00Z",
        "sentAt": "2026-03-01T12:10:00Z",
    }
    # then: the event happened 5 minutes before it was received
    assert to_event(message, call="page", now=NOW).occurred_at == datetime(
        2026, 3, 1, 11, 55, tzinfo=UTC
    )


def test_without_any_time_the_event_takes_the_time_received() -> None:
    assert (
        to_event({"messageId": "m", "anonymousId": "a"}, call="page", now=NOW).occurred_at is None
    )


@pytest.mark.parametrize("message_id", [None, "", "  ", 17])
def test_a_message_without_message_id_is_a_400_naming_it(message_id: Any) -> None:
    with pytest.raises(MissingMessageId) as caught:
        to_event({"messageId": message_id, "userId": "1"}, call="identify", now=NOW)
    assert caught.value.status == 400
    assert [d["field"] for d in caught.value.details] == ["messageId"]


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"messageId": "m", "userId": "1"}, "event"),
        ({"messageId": "m", "userId": "1", "event": "X", "timestamp": "yesterday"}, "timestamp"),
        ({"messageId": "m" * 101, "userId": "1", "event": "X"}, "messageId"),
    ],
)
def test_invalid_fields_are_named_as_segment_names_them(
    message: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        to_event(message, call="track", now=NOW)
    assert caught.value.details == {"field": field}
    assert caught.value.message.startswith(f"{field}: ")


def test_batch_errors_carry_the_position_of_the_message() -> None:
    body = {"batch": [{"type": "page", "messageId": "1", "anonymousId": "a"}, {"type": "track"}]}
    with pytest.raises(MissingMessageId) as caught:
        batch_events(body, now=NOW)
    assert [d["field"] for d in caught.value.details] == ["batch.1.messageId"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "batch"),
        ({"batch": []}, "batch"),
        ({"batch": ["x"]}, "batch.0"),
        ({"batch": [{"type": "fly", "messageId": "1"}]}, "batch.0.type"),
        (
            {"batch": [{"type": "page", "messageId": str(i), "userId": "1"} for i in range(1001)]},
            "batch",
        ),
    ],
)
def test_malformed_batches_are_refused_naming_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        batch_events(body, now=NOW)
    assert caught.value.details == {"field": field}


def test_service_field_names_become_segment_names() -> None:
    assert [batch_field(f) for f in ("events.3.email", "events.0.user_id", "events.2")] == [
        "batch.3.traits.email",
        "batch.0.userId",
        "batch.2",
    ]
    assert [single_field(f) for f in ("events.0.phone", "events.0.anonymous_id")] == [
        "traits.phone",
        "anonymousId",
    ]
