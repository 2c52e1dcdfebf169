"""campaigns: campaigns, variants, audience and holdout assignments

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import retentio.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str, length: int = 20) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=length)


def upgrade() -> None:
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", retentio.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("archived_at", retentio.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topics")),
        sa.UniqueConstraint("key", name=op.f("uq_topics_key")),
    )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("topic_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_messages_topic_id_topics"), "topics", ["topic_id"], ["id"]
        )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            _enum("campaignstatus", "draft", "scheduled", "sending", "paused", "done", "cancelled"),
            nullable=False,
        ),
        sa.Column(
            "channel", _enum("channel", "email", "sms", "messenger", "phone"), nullable=False
        ),
        sa.Column("purpose", _enum("purpose", "marketing", "transactional"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("exclude_segment_ids", sa.JSON(), nullable=False),
        sa.Column("holdout_share", sa.Double(), nullable=False),
        sa.Column("ab_test_share", sa.Double(), nullable=True),
        sa.Column("ab_wait_hours", sa.Double(), nullable=False),
        sa.Column("ab_metric", _enum("abmetric", "opens", "clicks"), nullable=False),
        sa.Column("winner_variant_id", sa.Integer(), nullable=True),
        sa.Column("local_time", sa.String(length=5), nullable=True),
        sa.Column("per_hour", sa.Integer(), nullable=True),
        sa.Column("attribution_days", sa.Integer(), nullable=False),
        sa.Column("utm", sa.JSON(), nullable=False),
        sa.Column("scheduled_at", retentio.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", retentio.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("test_ends_at", retentio.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paused_at", retentio.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", retentio.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", retentio.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", retentio.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["sending_accounts.id"],
            name=op.f("fk_campaigns_account_id_sending_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_campaigns_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["segments.id"], name=op.f("fk_campaigns_segment_id_segments")
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name=op.f("fk_campaigns_topic_id_topics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index(
        "ix_campaigns_status_scheduled", "campaigns", ["status", "scheduled_at"], unique=False
    )
    op.create_table(
        "campaign_variants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("weight", sa.Double(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("locale_content_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_variants_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["message_contents.id"],
            name=op.f("fk_campaign_variants_content_id_message_contents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_variants")),
    )
    op.create_index(
        "ix_campaign_variants_campaign", "campaign_variants", ["campaign_id"], unique=False
    )
    op.create_table(
        "campaign_recipients",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column(
            "group", _enum("recipientgroup", "holdout", "test", "main", length=10), nullable=False
        ),
        sa.Column("variant_id", sa.Integer(), nullable=True),
        sa.Column("queued", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_recipients_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_campaign_recipients_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["campaign_variants.id"],
            name=op.f("fk_campaign_recipients_variant_id_campaign_variants"),
        ),
        sa.PrimaryKeyConstraint("campaign_id", "contact_id", name=op.f("pk_campaign_recipients")),
    )
    op.create_index(
        "ix_campaign_recipients_contact", "campaign_recipients", ["contact_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("campaign_recipients")
    op.drop_table("campaign_variants")
    op.drop_table("campaigns")
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint(op.f("fk_messages_topic_id_topics"), type_="foreignkey")
        batch.drop_column("topic_id")
    op.drop_table("topics")
