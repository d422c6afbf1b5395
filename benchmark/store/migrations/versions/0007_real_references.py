"""real references: a validity study may compare a twin with success rates measured on a real
robot (a CSV), which is no registered world, so its reference twin may be empty

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("validity_results") as batch:
        batch.alter_column("reference_twin_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM validity_results WHERE reference_twin_id IS NULL")
    with op.batch_alter_table("validity_results") as batch:
        batch.alter_column("reference_twin_id", existing_type=sa.Integer(), nullable=False)
