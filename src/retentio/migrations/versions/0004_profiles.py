"""profiles: one derived row per contact (aggregates, RFM, predictions, stage)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 16:37:05.835390
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import retentio.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("contact_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("first_order_at", retentio.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_order_at", retentio.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("average_check", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("mean_days_between", sa.Double(), nullable=True),
        sa.Column("recency_days", sa.Integer(), nullable=True),
        sa.Column("frequency", sa.Integer(), nullable=True),
        sa.Column("r_score", sa.Integer(), nullable=True),
        sa.Column("f_score", sa.Integer(), nullable=True),
        sa.Column("m_score", sa.Integer(), nullable=True),
        sa.Column("rfm_segment", sa.String(length=32), nullable=True),
        sa.Column("p_alive", sa.Double(), nullable=True),
        sa.Column("expected_purchases_90d", sa.Double(), nullable=True),
        sa.Column("clv_12m", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("churn_band", sa.String(length=16), nullable=True),
        sa.Column("lifecycle_stage", sa.String(length=16), nullable=False),
        sa.Column("computed_at", retentio.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_profiles_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_profiles")),
    )
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.create_index("ix_profiles_churn_band", ["churn_band"], unique=False)
        batch_op.create_index("ix_profiles_lifecycle_stage", ["lifecycle_stage"], unique=False)
        batch_op.create_index("ix_profiles_rfm_segment", ["rfm_segment"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_index("ix_profiles_rfm_segment")
        batch_op.drop_index("ix_profiles_lifecycle_stage")
        batch_op.drop_index("ix_profiles_churn_band")

    op.drop_table("profiles")
