"""lifecycle changes: each move of a contact between lifecycle stages, appended

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
