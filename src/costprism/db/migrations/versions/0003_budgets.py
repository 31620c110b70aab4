"""Budgets: scope, period, amount, currency, basis, thresholds, owners, holdback and the
holdback released per period.

Revision ID: 0003_budgets
Revises: 0002_anomalies
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_budgets"
down_revision = "0002_anomalies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budgets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("amount", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(10), nullable=False),
        sa.Column("basis", sa.String(20), nullable=False),
        sa.Column("actual_thresholds", sa.JSON, nullable=False),
        sa.Column("forecast_thresholds", sa.JSON, nullable=False),
        sa.Column("owners", sa.JSON, nullable=False),
        sa.Column("holdback", sa.String(40), nullable=False),
        sa.Column("released", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("updated_by", sa.String(150)),
    )


def downgrade() -> None:
    op.drop_table("budgets")
