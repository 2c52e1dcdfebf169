"""messaging preferences: topics, topic opt-outs, soft bounce counts

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import retentio.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Topics themselves came with campaigns (0008); this adds the contacts' opt-outs of them.
    op.create_table(
        "topic_opt_outs",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", retentio.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_topic_opt_outs_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topics.id"],
            name=op.f("fk_topic_opt_outs_topic_id_topics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "topic_id", name=op.f("pk_topic_opt_outs")),
    )


def downgrade() -> None:
    op.drop_table("topic_opt_outs")
