"""Profile refresh requests: contacts waiting for the coalesced refresh after events.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 18:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import retentio.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "profile_refresh_requests",
        sa.Column("contact_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("requested_at", retentio.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_profile_refresh_requests")),
    )


def downgrade() -> None:
    op.drop_table("profile_refresh_requests")
