"""The consoles: deactivated agents, the away grace period and canned responses

Revision ID: 0009
Revises: 0012
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.text("true")))
        batch.add_column(sa.Column("unavailable_since", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "canned_responses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("team", sa.String(32), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_canned_responses_name", "canned_responses", ["name"])


def downgrade() -> None:
    op.drop_index("ix_canned_responses_name", table_name="canned_responses")
    op.drop_table("canned_responses")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("unavailable_since")
        batch.drop_column("active")
