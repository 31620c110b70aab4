"""Alerts: configured channels, deliveries (one per alert, recipient and channel; the key
makes ``alerts run`` idempotent) and digest runs.

Revision ID: 0004_alerts
Revises: 0003_budgets
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_alerts"
down_revision = "0003_budgets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_channels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("alert", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("recipient", sa.String(300), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("first_at", sa.DateTime, nullable=False),
        sa.Column("last_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
    )
    op.create_index("ix_alert_deliveries_last_at", "alert_deliveries", ["last_at"])
    op.create_table(
        "alert_digest_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("role", sa.String(50), nullable=False),
        sa.Column("cadence", sa.String(10), nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("recipients", sa.Integer, nullable=False),
        sa.UniqueConstraint("role", "cadence", "period"),
    )


def downgrade() -> None:
    op.drop_table("alert_digest_runs")
    op.drop_index("ix_alert_deliveries_last_at", table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    op.drop_table("alert_channels")
