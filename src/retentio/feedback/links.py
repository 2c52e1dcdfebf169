"""Signed survey answer links `/s/{token}`: who answers which survey, for which send.

The token is the messaging signer's (`messaging.tracking`), of its own kind "s", with the
payload `s:survey_id:contact_id:occurrence`; the MAC covers all three, so a link cannot be
turned into another contact's or another survey's, and no token of another kind passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from retentio.messaging.tracking import BadToken, Links, Signer, Token

# The `occurrence` column's length; letters, digits and a few separators (message ids, dates).
MAX_OCCURRENCE = 60
_OCCURRENCE = re.compile(r"[A-Za-z0-9_.:-]{1,60}")


@dataclass(frozen=True)
class SurveyToken:
    survey_id: int
    contact_id: int
    occurrence: str


def _payload(contact_id: int, occurrence: str) -> str:
    if not _OCCURRENCE.fullmatch(occurrence):
        raise ValueError(f"occurrence {occurrence!r} is not 1-60 letters, digits or _.:-")
    return f"{contact_id}:{occurrence}"


def survey_link(links: Links, survey_id: int, contact_id: int, occurrence: str) -> str:
    """The public answer URL of one survey send; `occurrence` names the send (e.g. "m123",
    the message id), so each message may be answered once."""
    _payload(contact_id, occurrence)  # refuses an occurrence the token could not carry
    return links.survey(survey_id, contact_id, occurrence)


def survey_token(signer: Signer, survey_id: int, contact_id: int, occurrence: str) -> str:
    """The token alone, for the embeddable widget's answers."""
    return signer.sign(Token(kind="s", message_id=survey_id, url=_payload(contact_id, occurrence)))


def read_token(signer: Signer, text: str) -> SurveyToken:
    """Raises BadToken when the token is forged, altered or of another kind."""
    found = signer.verify(text, "s")
    contact, _, occurrence = found.url.partition(":")
    if not contact.isdigit() or not _OCCURRENCE.fullmatch(occurrence):
        raise BadToken("not a survey token")
    return SurveyToken(survey_id=found.message_id, contact_id=int(contact), occurrence=occurrence)
