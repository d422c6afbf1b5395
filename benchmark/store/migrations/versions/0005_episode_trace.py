"""episode trace: a fingerprint of each rollout, so identical episodes count as one trial

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN (no table rebuild on SQLite); rows stored before traces existed are each
    # their own trial: their trace is their folder's hash
    op.add_column("episodes", sa.Column("trace", sa.String(length=64), nullable=False, server_default=""))
    op.execute("UPDATE episodes SET trace = sha256")


def downgrade() -> None:
    with op.batch_alter_table("episodes") as batch:
        batch.drop_column("trace")
