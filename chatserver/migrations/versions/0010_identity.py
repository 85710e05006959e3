"""Verified identity: devices, codes, duplicate flags, email changes and the mail outbox

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch_op:
        batch_op.add_column(sa.Column("suspension_reason", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("company", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("phone", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("normalized_name", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("normalized_company", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("normalized_phone", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("verified_at", _TS, nullable=True))
        batch_op.add_column(sa.Column("email_changed_at", _TS, nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_clients_merged_into_id", "clients", ["merged_into_id"], ["id"])
        batch_op.create_index("ix_clients_normalized_name", ["normalized_name"])
    op.create_table(
        "client_devices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("clients.id"), nullable=False),
        sa.Column("device_hash", sa.String(64), nullable=False),
        sa.Column("first_seen_at", _TS, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.UniqueConstraint("client_id", "device_hash", name="uq_client_devices_client_device"),
    )
    op.create_index("ix_client_devices_device_hash", "client_devices", ["device_hash"])
    op.create_table(
        "identity_challenges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("clients.id"), nullable=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("consumed_at", _TS, nullable=True),
        sa.Column("device_hash", sa.String(64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_identity_challenges_email", "identity_challenges", ["email", "purpose"])
    op.create_table(
        "identity_flags",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("clients.id"), nullable=False),
        sa.Column("existing_client_id", sa.Integer(), sa.ForeignKey("clients.id"), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_identity_flags_status", "identity_flags", ["status"])
    op.create_table(
        "email_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("clients.id"), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("old_email", sa.String(320), nullable=False),
        sa.Column("new_email", sa.String(320), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("new_code_hash", sa.String(64), nullable=False),
        sa.Column("new_code_attempts", sa.Integer(), nullable=False),
        sa.Column("new_confirmed_at", _TS, nullable=True),
        sa.Column("old_token_hash", sa.String(64), nullable=True),
        sa.Column("old_confirmed_at", _TS, nullable=True),
        sa.Column("approved_by", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("completed_at", _TS, nullable=True),
    )
    op.create_index("ix_email_changes_client_status", "email_changes", ["client_id", "status"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("to_address", sa.String(320), nullable=False),
        sa.Column("reply_to", sa.String(320), nullable=True),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(300), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("sent_at", _TS, nullable=True),
    )
    op.create_index("ix_outbox_status", "outbox", ["status"])


def downgrade() -> None:
    op.drop_index("ix_outbox_status", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_email_changes_client_status", table_name="email_changes")
    op.drop_table("email_changes")
    op.drop_index("ix_identity_flags_status", table_name="identity_flags")
    op.drop_table("identity_flags")
    op.drop_index("ix_identity_challenges_email", table_name="identity_challenges")
    op.drop_table("identity_challenges")
    op.drop_index("ix_client_devices_device_hash", table_name="client_devices")
    op.drop_table("client_devices")
    with op.batch_alter_table("clients") as batch_op:
        batch_op.drop_index("ix_clients_normalized_name")
        batch_op.drop_constraint("fk_clients_merged_into_id", type_="foreignkey")
        for name in ("merged_into_id", "email_changed_at", "verified_at", "normalized_phone", "normalized_company",
                     "normalized_name", "phone", "company", "suspension_reason"):
            batch_op.drop_column(name)
