"""Store the language decision's confidence and evidence on the conversation

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(sa.Column("language_confidence", sa.Double(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("language_decision", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_column("language_decision")
        batch_op.drop_column("language_confidence")
