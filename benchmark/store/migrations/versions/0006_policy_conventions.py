"""policy conventions: the adapter a policy speaks (droid, libero, aloha or our own) and its
open-loop horizon

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMNs: policies registered before conventions existed speak our own layout
    op.add_column(
        "policies", sa.Column("adapter", sa.String(length=16), nullable=False, server_default="twinarena")
    )
    op.add_column("policies", sa.Column("open_loop_horizon", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("open_loop_horizon")
        batch.drop_column("adapter")
