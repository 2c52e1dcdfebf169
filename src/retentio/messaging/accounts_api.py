"""JSON API of sending accounts under `/api/v1/messaging/accounts`: list, create, read, change,
archive or restore an account, check its connection, and give it a new DKIM key.

Admins only (the settings permission). Credentials are write-only: no answer holds the SMTP
password, an SMS provider's headers, a bot token, a webhook secret or a DKIM private key, only
whether each is set; a PATCH that sends one empty keeps the stored value.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, status

from retentio.audit import service as audit
from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.db import utcnow
from retentio.messaging import queries, service
from retentio.messaging.hooks import sms_report_url
from retentio.messaging.models import SendingAccount
from retentio.messaging.schemas import AccountIn, AccountPatch, AccountRead, CheckResult, DkimKeyIn
from retentio.settings import Settings
from retentio.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/messaging/accounts", tags=["messaging"])
Admin = Annotated[User, Depends(require(Permission.MANAGE_SETTINGS))]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No user or API token, or an unknown one"},
    403: {"description": "The user's role may not manage settings"},
    404: {"description": "No such account"},
    409: {"description": "`account_name_taken`: another account has this name"},
    422: {"description": "Invalid input; `details` names the field, e.g. `settings.port`"},
}


def _read(account: SendingAccount, settings: Settings) -> AccountRead:
    url = sms_report_url(settings.base_url, settings.resolved_secret_key(), account.id)
    return AccountRead.of(account, report_url=url)


@router.get("", response_model=list[AccountRead], summary="List sending accounts", responses=ERRORS)
def list_accounts(session: SessionDep, settings: SettingsDep, _admin: Admin) -> list[AccountRead]:
    """Archived accounts last, then by name."""
    return [_read(a, settings) for a in queries.accounts(session)]


@router.post(
    "",
    response_model=AccountRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a sending account",
    responses=ERRORS,
)
def create_account(
    body: AccountIn, session: SessionDep, settings: SettingsDep, _admin: Admin
) -> AccountRead:
    account = service.create_account(session, **body.model_dump())
    audit.record(
        session, entity="account", entity_id=account.id, action="create", actor_id=_admin.id
    )
    return _read(account, settings)


@router.get(
    "/{account_id}", response_model=AccountRead, summary="Read an account", responses=ERRORS
)
def get_account(
    account_id: int, session: SessionDep, settings: SettingsDep, _admin: Admin
) -> AccountRead:
    return _read(service.get_account(session, account_id), settings)


@router.patch(
    "/{account_id}",
    response_model=AccountRead,
    summary="Change an account",
    description="Kind and channel stay. An empty credential keeps the stored one.",
    responses=ERRORS,
)
def update_account(
    account_id: int, body: AccountPatch, session: SessionDep, settings: SettingsDep, _admin: Admin
) -> AccountRead:
    account = service.update_account(session, account_id, **body.model_dump(exclude_unset=True))
    audit.record(
        session, entity="account", entity_id=account_id, action="update", actor_id=_admin.id
    )
    return _read(account, settings)


@router.post(
    "/{account_id}/archive",
    response_model=AccountRead,
    summary="Archive an account",
    description="New campaigns can no longer choose it; messages already queued still go out.",
    responses=ERRORS,
)
def archive_account(
    account_id: int, session: SessionDep, settings: SettingsDep, _admin: Admin
) -> AccountRead:
    account = service.archive_account(session, account_id, now=utcnow())
    audit.record(
        session, entity="account", entity_id=account_id, action="archive", actor_id=_admin.id
    )
    return _read(account, settings)


@router.post(
    "/{account_id}/restore",
    response_model=AccountRead,
    summary="Restore an archived account",
    responses=ERRORS,
)
def restore_account(
    account_id: int, session: SessionDep, settings: SettingsDep, _admin: Admin
) -> AccountRead:
    account = service.restore_account(session, account_id)
    audit.record(
        session, entity="account", entity_id=account_id, action="restore", actor_id=_admin.id
    )
    return _read(account, settings)


@router.post(
    "/{account_id}/check",
    response_model=CheckResult,
    summary="Check the connection",
    description="SMTP: connect, EHLO, STARTTLS or TLS and log in, then QUIT; file sink: the "
    "directory is writable; Telegram: the bot's getMe. SMS providers and webhooks cannot be "
    "checked without sending. A failure is 422 with the reason.",
    responses=ERRORS,
)
def check_account(account_id: int, session: SessionDep, _admin: Admin) -> CheckResult:
    return CheckResult(detail=service.check_account(session, account_id))


@router.post(
    "/{account_id}/dkim-key",
    response_model=AccountRead,
    summary="Give the account a new DKIM key",
    description="A new 2048-bit RSA key is stored (the private key is never returned); publish "
    "`dkim_record` as a TXT record at `dkim_record_name`.",
    responses=ERRORS,
)
def new_dkim_key(
    account_id: int, body: DkimKeyIn, session: SessionDep, settings: SettingsDep, _admin: Admin
) -> AccountRead:
    account = service.get_account(session, account_id)
    domain = body.domain if body.domain is not None else account.dkim_domain
    selector = body.selector if body.selector is not None else account.dkim_selector
    private_key, _record = service.generate_dkim_key(domain, selector)
    account = service.update_account(
        session,
        account_id,
        dkim_domain=domain,
        dkim_selector=selector,
        dkim_private_key=private_key,
    )
    return _read(account, settings)
