"""Canonical forms of what people type: e-mails lower-cased and checked, phones in E.164.

Used by every way data comes in (API, forms, events, imports), so the same person is always
found by the same key.
"""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from retentio.errors import InvalidInput


class InvalidEmail(InvalidInput):
    code = "invalid_email"


class InvalidPhone(InvalidInput):
    code = "invalid_phone"


def normalize_email(raw: str, *, field: str = "email") -> str:
    candidate = raw.strip()
    try:
        checked = validate_email(candidate, check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        raise InvalidEmail(
            f"{field}: {candidate!r} is not a valid e-mail address ({error}).",
            details={"field": field, "value": candidate},
        ) from error
    return checked.normalized.lower()


def normalize_phone(raw: str, *, default_region: str, field: str = "phone") -> str:
    candidate = raw.strip()
    try:
        number = phonenumbers.parse(candidate, default_region)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhone(
            f"{field}: {candidate!r} is not a phone number.",
            details={"field": field, "value": candidate},
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(
            f"{field}: {candidate!r} is not a valid phone number for region {default_region}.",
            details={"field": field, "value": candidate},
        )
    formatted: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return formatted


def normalize_telegram(raw: str) -> str:
    return raw.strip().removeprefix("https://t.me/").removeprefix("@").lower()
