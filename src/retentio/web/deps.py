"""Dependencies shared by every router: settings and the request-owned database session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from retentio.db import get_sessionmaker
from retentio.settings import Settings
from retentio.web.security import client_address
from retentio.web.write_gate import is_writing, write_slot


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


# On SQLite the slot is taken before the session opens and given back after it closes (the
# dependency's exit runs after this one's): one writing transaction at a time, queued in the loop.
WriteSlot = Annotated[None, Depends(write_slot, scope="function")]


def _request_session(
    request: Request, settings: SettingsDep, _slot: WriteSlot
) -> Iterator[Session]:
    """The request owns the transaction: commit when the handler returns, roll back if it raises."""
    session = get_sessionmaker(settings.database_url, write=is_writing(request.scope))()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function" commits before the response is sent, so a failed commit is an error the
# client sees rather than a success that was never stored.
SessionDep = Annotated[Session, Depends(_request_session, scope="function")]


def client_ip(request: Request) -> str:
    return client_address(request.scope, get_app_settings(request).trusted_proxies)
