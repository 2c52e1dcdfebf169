"""Liveness of the process and reachability of its database."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from retentio import __version__
from retentio.db import ping
from retentio.web.deps import SettingsDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(settings: SettingsDep) -> JSONResponse:
    try:
        ping(settings.database_url)
    except SQLAlchemyError as error:
        body = {"status": "error", "database": "unreachable", "detail": type(error).__name__}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "version": __version__})
