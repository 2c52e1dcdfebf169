"""Canonical forms of what people type: e-mails lower-cased and checked, phones in E.164.

Used by every way data comes in (API, forms, events, imports), so the same person is always
found by the same key.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from retentio.errors import InvalidInput


class InvalidEmail(InvalidInput):
    code = "invalid_email"


class InvalidPhone(InvalidInput):
    code = "invalid_phone"


# Plain ASCII addresses, which are nearly all of them, skip the full RFC check: imports of a
# million rows cannot afford email_validator's ~40 µs per address. Anything else takes the
# full path. A property test keeps the two in agreement.
# The local part is dot-separated runs (no "..", no dot at either end), written without a
# look-ahead per character: the same language at half the cost.
_SIMPLE_EMAIL = re.compile(
    r"[a-z0-9][a-z0-9_+\-]*(?:\.[a-z0-9_+\-]+)*@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}"
)
# Russian numbers written the usual ways: +7 / 8 / nothing before ten digits starting with 3,4,8,9.
_RU_DIGITS = re.compile(r"^(?:\+?7|8)?([3489]\d{9})$")
_PHONE_NOISE = re.compile(r"[\s()\-.]")


def _russian_number_pattern() -> re.Pattern[str]:
    """libphonenumber's own RU number-type patterns, joined: the same answer as
    is_valid_number() for +7 numbers starting with 3, 4, 8 or 9, at a fraction of the cost."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("RU")
    assert metadata is not None, "phonenumbers ships metadata for RU"
    descriptions = (
        metadata.fixed_line,
        metadata.mobile,
        metadata.toll_free,
        metadata.premium_rate,
        metadata.shared_cost,
        metadata.personal_number,
        metadata.voip,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
    )
    patterns = [d.national_number_pattern for d in descriptions if d and d.national_number_pattern]
    return re.compile("|".join(f"(?:{p})" for p in patterns))


_RU_VALID = _russian_number_pattern()


def normalize_email(raw: str, *, field: str = "email") -> str:
    candidate = raw.strip()
    lowered = candidate.lower()
    if len(lowered) <= 254 and _SIMPLE_EMAIL.fullmatch(lowered):
        return lowered
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
    if default_region == "RU" or candidate.startswith("+7"):
        digits = _russian_digits(candidate)
        if digits is not None and _RU_VALID.fullmatch(digits):
            return "+7" + digits
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


def _russian_digits(candidate: str) -> str | None:
    """The ten national digits of a number written the usual Russian ways, or None."""
    # Spaces, brackets, dashes and dots are nearly all the noise people type, and str.replace
    # drops them several times faster than the regex; the regex still handles the rest (tabs,
    # no-break spaces). When the quick form matches it holds no noise at all, so both agree.
    quick = (
        candidate.replace(" ", "")
        .replace("-", "")
        .replace("(", "")
        .replace(")", "")
        .replace(".", "")
    )
    found = _RU_DIGITS.match(quick) or _RU_DIGITS.match(_PHONE_NOISE.sub("", candidate))
    return found.group(1) if found else None


def normalize_telegram(raw: str) -> str:
    return raw.strip().removeprefix("https://t.me/").removeprefix("@").lower()
