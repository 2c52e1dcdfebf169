"""messaging: sending accounts, message contents, the outbox (messages) and message events

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 18:40:15.831154
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import retentio.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_contents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("preheader", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("utm", sa.JSON(), nullable=False),
        sa.Column("created_at", retentio.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_contents")),
    )
    op.create_table(
        "sending_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "email", "sms", "messenger", "phone", name="channel", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column(
            "kind",
            sa.Enum("smtp", "file", name="accountkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("from_address", sa.String(length=300), nullable=False),
        sa.Column("from_name", sa.String(length=200), nullable=False),
        sa.Column("unsubscribe_mailto", sa.String(length=300), nullable=False),
        sa.Column("dkim_domain", sa.String(length=253), nullable=False),
        sa.Column("dkim_selector", sa.String(length=63), nullable=False),
        sa.Column("dkim_private_key", sa.Text(), nullable=False),
        sa.Column("rate_per_second", sa.Double(), nullable=False),
        sa.Column("created_at", retentio.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("archived_at", retentio.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sending_accounts")),
        sa.UniqueConstraint("name", name=op.f("uq_sending_accounts_name")),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_kind", sa.String(length=30), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=60), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("occurrence", sa.String(length=60), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "email", "sms", "messenger", "phone", name="channel", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column(
            "purpose",
            sa.Enum("marketing", "transactional", name="purpose", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "sending",
                "sent",
                "failed",
                "unknown",
                "skipped",
                name="messagestate",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "skip_reason",
            sa.Enum(
                "no_address",
                "no_consent",
                "suppressed",
                "frequency_cap",
                "contact_gone",
                name="skipreason",
                native_enum=False,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", retentio.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("provider_message_id", sa.String(length=300), nullable=True),
        sa.Column("created_at", retentio.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", retentio.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", retentio.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", retentio.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["sending_accounts.id"],
            name=op.f("fk_messages_account_id_sending_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_messages_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["message_contents.id"],
            name=op.f("fk_messages_content_id_message_contents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint(
            "source_kind",
            "source_id",
            "step",
            "contact_id",
            "occurrence",
            name=op.f("uq_messages_source_kind_source_id_step_contact_id_occurrence"),
        ),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_contact_claimed", ["contact_id", "claimed_at"], unique=False
        )
        batch_op.create_index("ix_messages_state_due", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "message_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "open",
                "click",
                "unsubscribe",
                "bounce_hard",
                "bounce_soft",
                "complaint",
                name="eventkind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("occurred_at", retentio.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_message_events_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_events_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_events")),
    )
    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_events_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index("ix_message_events_message", ["message_id", "kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.drop_index("ix_message_events_message")
        batch_op.drop_index(batch_op.f("ix_message_events_contact_id"))

    op.drop_table("message_events")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_state_due")
        batch_op.drop_index("ix_messages_contact_claimed")

    op.drop_table("messages")
    op.drop_table("sending_accounts")
    op.drop_table("message_contents")
