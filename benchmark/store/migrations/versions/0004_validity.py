"""validity: results of validity studies (does a twin rank policies as its reference world does?)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "validity_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("twin_id", sa.Integer(), nullable=False),
        sa.Column("reference_twin_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("task", sa.String(), nullable=False),
        sa.Column("n_policies", sa.Integer(), nullable=False),
        sa.Column("n_scenarios", sa.Integer(), nullable=False),
        sa.Column("pearson", sa.Double(), nullable=False),
        sa.Column("pearson_low", sa.Double(), nullable=False),
        sa.Column("pearson_high", sa.Double(), nullable=False),
        sa.Column("mmrv", sa.Double(), nullable=False),
        sa.Column("mmrv_low", sa.Double(), nullable=False),
        sa.Column("mmrv_high", sa.Double(), nullable=False),
        sa.Column("kendall", sa.Double(), nullable=False),
        sa.Column("kendall_low", sa.Double(), nullable=False),
        sa.Column("kendall_high", sa.Double(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("blame", sa.String(length=16), nullable=True),
        sa.Column("per_policy", JSON_TYPE, nullable=False),
        sa.Column("detail", JSON_TYPE, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "blame IN ('appearance', 'geometry', 'physics')", name=op.f("ck_validity_results_blame")
        ),
        sa.ForeignKeyConstraint(["twin_id"], ["twins.id"], name=op.f("fk_validity_results_twin_id_twins")),
        sa.ForeignKeyConstraint(
            ["reference_twin_id"], ["twins.id"], name=op.f("fk_validity_results_reference_twin_id_twins")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validity_results")),
    )
    op.create_index(op.f("ix_validity_results_twin_id"), "validity_results", ["twin_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_validity_results_twin_id"), table_name="validity_results")
    op.drop_table("validity_results")
