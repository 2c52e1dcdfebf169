"""Imports every domain's models so `Base.metadata` is complete (for Alembic and tests)."""

from __future__ import annotations

from retentio.auth import models as auth_models
from retentio.db import Base

__all__ = ["Base", "auth_models"]
