"""Callbacks from providers: `POST /hooks/sms/{token}` takes an SMS provider's delivery
reports.

Public and cookie-less like the tracking links: the token is the only credential. It is the
account's id signed with a key of its own purpose, so no tracking token (or anything else the
app signs) can pass for one; the account page shows the URL for the user to paste into the
provider's settings. A bad token gets 404. A report of a message we do not know gets 200 with
nothing recorded, because providers resend whatever is not answered with success.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from retentio.db import utcnow
from retentio.messaging import bounces
from retentio.messaging.channels import read_reports
from retentio.messaging.models import AccountKind, SendingAccount
from retentio.web.csrf import csrf_exempt
from retentio.web.deps import SessionDep, SettingsDep

router = APIRouter(include_in_schema=False)
# 128 bits of MAC, as for the tracking tokens.
_MAC_BYTES = 16


class HookSigner:
    def __init__(self, secret_key: str) -> None:
        self._key = hmac.new(secret_key.encode(), b"retentio.messaging.hooks", "sha256").digest()

    def _mac(self, account_id: int) -> str:
        digest = hmac.new(self._key, str(account_id).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:_MAC_BYTES]).rstrip(b"=").decode()

    def sign(self, account_id: int) -> str:
        return f"{account_id}.{self._mac(account_id)}"

    def verify(self, token: str) -> int | None:
        """The account id, or None when the token was not made by `sign`."""
        number, _, mac = token.partition(".")
        if not (number.isascii() and number.isdigit()):
            return None
        if not hmac.compare_digest(mac.encode(), self._mac(int(number)).encode()):
            return None
        return int(number)


@lru_cache(maxsize=4)
def _signer(secret_key: str) -> HookSigner:
    return HookSigner(secret_key)


def sms_report_url(base_url: str, secret_key: str, account_id: int) -> str:
    """Where the account's provider should post its delivery reports."""
    return f"{base_url.rstrip('/')}/hooks/sms/{_signer(secret_key).sign(account_id)}"


async def report_payload(request: Request) -> Any:
    """The callback's JSON, or its form fields (some providers post forms); None when the body
    is neither."""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        return {name: value for name, value in form.items() if isinstance(value, str)}
    try:
        return json.loads(await request.body())
    except ValueError:
        return None


@router.post("/hooks/sms/{token}")
@csrf_exempt
def sms_delivery_report(
    token: str,
    payload: Annotated[Any, Depends(report_payload)],
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    account_id = _signer(settings.resolved_secret_key()).verify(token)
    account = session.get(SendingAccount, account_id) if account_id is not None else None
    if account is None or account.kind != AccountKind.SMS_HTTP:
        return JSONResponse({"error": "not_found"}, status_code=404)
    if payload is None:
        return JSONResponse({"error": "not_json"}, status_code=400)
    reports = read_reports(account.settings or {}, payload)
    recorded = bounces.record_delivery_reports(session, account.id, reports, now=utcnow())
    return JSONResponse({"recorded": recorded})
