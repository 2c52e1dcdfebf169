"""Rendering an e-mail to bytes: headers (RFC 2047 for Cyrillic), both parts, List-Unsubscribe
with one-click, and a DKIM signature that dkimpy verifies."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
from datetime import UTC, datetime

import dkim
import pytest
from dkim.canonicalization import Relaxed

from retentio.messaging.dkim import InvalidDkimKey, load_key, relaxed_body_hash
from retentio.messaging.email import Address, Email, encode_header_text, render_bytes
from tests.messaging.conftest import DKIM_DOMAIN, DKIM_SELECTOR, DkimPair

SUBJECT = "Анна, скидка 20% на весь чай до конца недели — не пропустите «Да Хун Пао»"


def _email(**changes: object) -> Email:
    fields: dict[str, object] = {
        "sender": Address("news@shop.example", "Чайная лавка"),
        "recipient": Address("anna@example.org", "Анна Иванова"),
        "subject": SUBJECT,
        "text": "Здравствуйте, Анна!\nСкидка   20%.  \n.точка в начале строки\n",
        "html": "<p>Здравствуйте, <b>Анна</b>!</p>",
        "message_id": "<m1.abc@shop.example>",
        "date": datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        "unsubscribe_url": "https://crm.shop.example/u/TOKEN",
        "unsubscribe_mailto": "unsubscribe@shop.example",
    }
    fields.update(changes)
    return Email(**fields)  # type: ignore[arg-type]


def test_headers_and_both_parts_round_trip_with_cyrillic() -> None:
    # when
    raw = render_bytes(_email())
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    # then
    assert raw.isascii()
    assert parsed["Subject"] == SUBJECT
    assert parsed["From"] == "Чайная лавка <news@shop.example>"
    assert parsed["To"] == "Анна Иванова <anna@example.org>"
    assert parsed["Message-ID"] == "<m1.abc@shop.example>"
    assert parsed["Date"] == "Mon, 02 Mar 2026 09:30:00 +0000"
    assert parsed["List-Unsubscribe"] == (
        "<https://crm.shop.example/u/TOKEN>, <mailto:unsubscribe@shop.example?subject=unsubscribe>"
    )
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed.get_content_type() == "multipart/alternative"
    text, html = list(parsed.iter_parts())
    assert text.get_content_type() == "text/plain"
    assert text.get_content().replace("\r\n", "\n") == (
        "Здравствуйте, Анна!\nСкидка   20%.  \n.точка в начале строки\n"
    )
    assert html.get_content_type() == "text/html"
    assert html.get_content().replace("\r\n", "\n") == "<p>Здравствуйте, <b>Анна</b>!</p>"


def test_every_line_is_crlf_terminated_and_body_lines_are_short() -> None:
    raw = render_bytes(_email(html="<p>" + "ы" * 500 + "</p>"))
    _head, _, body = raw.partition(b"\r\n\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert max(len(line) for line in body.split(b"\r\n")) <= 76


def test_encoded_words_stay_within_75_characters_and_ascii_passes_as_is() -> None:
    encoded = encode_header_text(SUBJECT)
    assert all(len(word.strip()) <= 75 for word in encoded.split("\r\n"))
    assert encode_header_text("Plain subject") == "Plain subject"


def test_line_breaks_cannot_inject_headers() -> None:
    raw = render_bytes(_email(subject="Hi\r\nBcc: victim@example.org"))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Hi Bcc: victim@example.org"


def test_ascii_display_name_with_specials_is_quoted() -> None:
    raw = render_bytes(_email(sender=Address("news@shop.example", 'Tea, "Leaf" & Co.')))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["From"].addresses[0].display_name == 'Tea, "Leaf" & Co.'


def test_without_unsubscribe_url_there_are_no_list_headers() -> None:
    raw = render_bytes(_email(unsubscribe_url="", unsubscribe_mailto=""))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["List-Unsubscribe"] is None
    assert parsed["List-Unsubscribe-Post"] is None


def test_dkim_signature_verifies_with_dkimpy(dkim_pair: DkimPair) -> None:
    # given
    key = load_key(DKIM_DOMAIN, DKIM_SELECTOR, dkim_pair.private_pem)
    # when
    raw = render_bytes(_email(), dkim=key)
    # then
    assert raw.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=shop.example;")
    assert dkim.verify(raw, dnsfunc=dkim_pair.dnsfunc) is True
    signature = email.message_from_bytes(raw)["DKIM-Signature"]
    assert "h=from:to:subject:date:message-id:mime-version:content-type:" in signature
    assert "list-unsubscribe:list-unsubscribe-post;" in signature


def test_dkim_fails_once_the_body_or_a_signed_header_changes(dkim_pair: DkimPair) -> None:
    key = load_key(DKIM_DOMAIN, DKIM_SELECTOR, dkim_pair.private_pem)
    raw = render_bytes(_email(), dkim=key)
    body_changed = raw.replace(b"Content-Type: text/html", b"Content-Type: text/xml")
    subject_changed = raw.replace(b"Subject: =?utf-8?b?", b"Subject: =?utf-8?B?")
    assert dkim.verify(body_changed, dnsfunc=dkim_pair.dnsfunc) is False
    assert dkim.verify(subject_changed, dnsfunc=dkim_pair.dnsfunc) is False


def test_dkim_survives_relaxed_changes_relays_make(dkim_pair: DkimPair) -> None:
    # given a relay that adds trailing spaces and re-folds nothing else
    key = load_key(DKIM_DOMAIN, DKIM_SELECTOR, dkim_pair.private_pem)
    raw = render_bytes(_email(), dkim=key)
    relayed = raw.replace(b"MIME-Version: 1.0\r\n", b"MIME-Version:   1.0  \r\n")
    assert dkim.verify(relayed, dnsfunc=dkim_pair.dnsfunc) is True


def test_a_key_that_is_not_pem_is_refused() -> None:
    with pytest.raises(InvalidDkimKey):
        load_key(DKIM_DOMAIN, DKIM_SELECTOR, "not a key")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\r\n\r\n",
        b"a  b\t\tc \t\r\n\r\n\r\n",
        b"line\r\n \r\n\tx\r\nno end  ",
        b"=D0=A2 text=20\r\n.dot\r\n",
    ],
)
def test_relaxed_body_hash_matches_dkimpy(body: bytes) -> None:
    expected = base64.b64encode(hashlib.sha256(Relaxed.canonicalize_body(body)).digest())
    assert relaxed_body_hash(body) == expected
