"""messaging channels: SMS, Telegram and webhook accounts, provider delivery status

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 04:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Delivery reports and bounces find their message by the provider's id.
    op.create_index("ix_messages_provider_message_id", "messages", ["provider_message_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_provider_message_id", table_name="messages")
