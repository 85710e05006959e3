"""Per-conversation message sequence numbers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(sa.Column("last_seq", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
    # Number existing messages 1, 2, 3... in id order within each conversation.
    op.execute("UPDATE messages SET seq = (SELECT COUNT(*) FROM messages AS earlier "
               "WHERE earlier.conversation_id = messages.conversation_id AND earlier.id <= messages.id)")
    op.execute("UPDATE conversations SET last_seq = COALESCE((SELECT MAX(seq) FROM messages "
               "WHERE messages.conversation_id = conversations.id), 0)")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint("uq_messages_conversation_seq", ["conversation_id", "seq"])


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_constraint("uq_messages_conversation_seq", type_="unique")
        batch_op.drop_column("seq")
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_column("last_seq")
