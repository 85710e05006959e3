"""Office hours, SLA schedule and Here-and-now payments

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None

_SLA_COLUMNS = ("sla_escalate_at", "sla_warn_at", "sla_escalated_at", "sla_warned_at", "sla_breached_at")


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch_op:
        batch_op.add_column(sa.Column("works_outside_hours", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(sa.Column("visitor_timezone", sa.String(64), nullable=True))
        for name in _SLA_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ai_until_opening", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("clients.id"), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("provider_payment_id", sa.String(255), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("checkout_url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("refund_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("provider", "provider_payment_id", name="uq_payments_provider_payment"),
    )
    op.create_index("ix_payments_conversation", "payments", ["conversation_id"])
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("provider", "event_id", name="uq_webhook_events_provider_event"),
    )


def downgrade() -> None:
    op.drop_table("webhook_events")
    op.drop_index("ix_payments_conversation", table_name="payments")
    op.drop_table("payments")
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_column("ai_until_opening")
        for name in _SLA_COLUMNS:
            batch_op.drop_column(name)
        batch_op.drop_column("visitor_timezone")
    with op.batch_alter_table("agents") as batch_op:
        batch_op.drop_column("works_outside_hours")
