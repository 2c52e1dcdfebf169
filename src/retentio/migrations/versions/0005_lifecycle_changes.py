"""lifecycle changes: each move of a contact between lifecycle stages, appended; profile
models: the shop-wide model of the last full recompute, which refreshes reuse

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 17:43:19.707708
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import retentio.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "profile_models",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fitted_at", retentio.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("bgnbd_r", sa.Double(), nullable=True),
        sa.Column("bgnbd_alpha", sa.Double(), nullable=True),
        sa.Column("bgnbd_a", sa.Double(), nullable=True),
        sa.Column("bgnbd_b", sa.Double(), nullable=True),
        sa.Column("gg_p", sa.Double(), nullable=True),
        sa.Column("gg_q", sa.Double(), nullable=True),
        sa.Column("gg_gamma", sa.Double(), nullable=True),
        sa.Column("rhythm_days", sa.Double(), nullable=False),
        sa.Column("rfm_breakpoints", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile_models")),
    )
    op.create_table(
        "lifecycle_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(length=16), nullable=True),
        sa.Column("to_stage", sa.String(length=16), nullable=False),
        sa.Column("changed_at", retentio.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_lifecycle_changes_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lifecycle_changes")),
    )
    with op.batch_alter_table("lifecycle_changes", schema=None) as batch_op:
        batch_op.create_index("ix_lifecycle_changes_changed_at", ["changed_at"], unique=False)
        batch_op.create_index(
            "ix_lifecycle_changes_contact_changed", ["contact_id", "changed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("lifecycle_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_lifecycle_changes_contact_changed")
        batch_op.drop_index("ix_lifecycle_changes_changed_at")

    op.drop_table("lifecycle_changes")
    op.drop_table("profile_models")
