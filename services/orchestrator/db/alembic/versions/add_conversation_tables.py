"""Add conversation tables.

Revision ID: 3f2a9c1d7b10
Revises: 1b7e0c4d9a22
Create Date: 2026-10-02 14:11:05
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = "3f2a9c1d7b10"
down_revision = "1b7e0c4d9a22"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "conversations",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    # The inbox lists recently active conversations: index only the last 30 days.
    op.create_index(
        "idx_conversations_updated_at",
        "conversations",
        ["updated_at"],
        postgresql_where=text("updated_at > now() - interval '30 days'"),
    )


def downgrade():
    op.drop_index("idx_conversations_updated_at", table_name="conversations")
    op.drop_table("conversations")
