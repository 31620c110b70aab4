"""Anomalies: detected anomalies, their triage history and comments, and the feedback
that suppresses similar future anomalies.

Revision ID: 0002_anomalies
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_anomalies"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "anomalies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("rule", sa.String(50), nullable=False),
        sa.Column("dimensions", sa.String(500), nullable=False),
        sa.Column("scope", sa.JSON, nullable=False),
        sa.Column("scope_key", sa.String(1000), nullable=False),
        sa.Column("start", sa.Date, nullable=False),
        sa.Column("end", sa.Date, nullable=False),
        sa.Column("currency", sa.String(10), nullable=False),
        sa.Column("actual", sa.Float, nullable=False),
        sa.Column("expected", sa.Float, nullable=False),
        sa.Column("impact", sa.Float, nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("state", sa.String(30), nullable=False),
        sa.Column("owner", sa.String(300)),
        sa.Column("route", sa.String(300), nullable=False),
        sa.Column("drivers", sa.JSON, nullable=False),
        sa.Column("series", sa.JSON, nullable=False),
        sa.Column("detected_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("acknowledged_at", sa.DateTime),
        sa.Column("resolved_at", sa.DateTime),
    )
    op.create_index("ix_anomalies_start", "anomalies", ["start"])
    op.create_index("ix_anomalies_scope_key", "anomalies", ["scope_key"])
    op.create_table(
        "anomaly_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "anomaly_id",
            sa.Integer,
            sa.ForeignKey("anomalies.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(150)),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("from_state", sa.String(30)),
        sa.Column("to_state", sa.String(30)),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_anomaly_events_anomaly_id", "anomaly_events", ["anomaly_id"])
    op.create_table(
        "anomaly_suppressions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("anomaly_id", sa.Integer, sa.ForeignKey("anomalies.id", ondelete="SET NULL")),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("rule", sa.String(50), nullable=False),
        sa.Column("dimensions", sa.String(500), nullable=False),
        sa.Column("scope_key", sa.String(1000), nullable=False),
        sa.Column("max_impact", sa.Float, nullable=False),
        sa.Column("currency", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(150)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime),
    )
    op.create_index("ix_anomaly_suppressions_scope_key", "anomaly_suppressions", ["scope_key"])


def downgrade() -> None:
    for table in ("anomaly_suppressions", "anomaly_events", "anomalies"):
        op.drop_table(table)
