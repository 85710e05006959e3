"""AI agent: token use, handoff reason, system message events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(sa.Column("ai_tokens_used", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("handoff_reason", sa.String(length=32), nullable=True))
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(sa.Column("event", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("event")
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_column("handoff_reason")
        batch_op.drop_column("ai_tokens_used")
