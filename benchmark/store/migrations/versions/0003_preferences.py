"""preferences: annotators and the pair tokens of the blind pairwise human-preference service

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a model judge's comparisons carry their prompt version, cost and latency, as judgments do
    op.add_column(
        "comparisons", sa.Column("prompt_version", sa.String(length=32), nullable=False, server_default="")
    )
    op.add_column("comparisons", sa.Column("cost_usd", sa.Double(), nullable=True))
    op.add_column("comparisons", sa.Column("latency_s", sa.Double(), nullable=True))
    op.create_table(
        "annotators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("qualification_answered", sa.Integer(), nullable=False),
        sa.Column("qualification_correct", sa.Integer(), nullable=False),
        sa.Column("sanity_answered", sa.Integer(), nullable=False),
        sa.Column("sanity_failed", sa.Integer(), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('qualifying', 'qualified', 'failed', 'disqualified')",
            name=op.f("ck_annotators_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotators")),
        sa.UniqueConstraint("name", name=op.f("uq_annotators_name")),
    )
    op.create_table(
        "pair_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("annotator_id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("episode_left_id", sa.Integer(), nullable=False),
        sa.Column("episode_right_id", sa.Integer(), nullable=False),
        sa.Column("episode_low_id", sa.Integer(), nullable=False),
        sa.Column("episode_high_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("expected", sa.String(length=8), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.String(length=8), nullable=True),
        sa.Column("seconds_spent", sa.Double(), nullable=True),
        sa.Column("comparison_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('regular', 'qualification', 'sanity')", name=op.f("ck_pair_tokens_kind")
        ),
        sa.CheckConstraint("expected IN ('left', 'right')", name=op.f("ck_pair_tokens_expected")),
        sa.CheckConstraint("answer IN ('left', 'right', 'tie')", name=op.f("ck_pair_tokens_answer")),
        sa.CheckConstraint(
            "episode_low_id < episode_high_id"
            " AND episode_low_id IN (episode_left_id, episode_right_id)"
            " AND episode_high_id IN (episode_left_id, episode_right_id)",
            name=op.f("ck_pair_tokens_pair"),
        ),
        sa.ForeignKeyConstraint(
            ["annotator_id"], ["annotators.id"], name=op.f("fk_pair_tokens_annotator_id_annotators")
        ),
        sa.ForeignKeyConstraint(
            ["comparison_id"],
            ["comparisons.id"],
            name=op.f("fk_pair_tokens_comparison_id_comparisons"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["episode_left_id"], ["episodes.id"], name=op.f("fk_pair_tokens_episode_left_id_episodes")
        ),
        sa.ForeignKeyConstraint(
            ["episode_right_id"], ["episodes.id"], name=op.f("fk_pair_tokens_episode_right_id_episodes")
        ),
        sa.ForeignKeyConstraint(
            ["scenario_id"], ["scenarios.id"], name=op.f("fk_pair_tokens_scenario_id_scenarios")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pair_tokens")),
        sa.UniqueConstraint("token", name=op.f("uq_pair_tokens_token")),
        sa.UniqueConstraint("annotator_id", "episode_low_id", "episode_high_id", name="uq_pair_tokens_pair"),
    )
    op.create_index(op.f("ix_pair_tokens_comparison_id"), "pair_tokens", ["comparison_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_pair_tokens_comparison_id"), table_name="pair_tokens")
    op.drop_table("pair_tokens")
    op.drop_table("annotators")
    with op.batch_alter_table("comparisons") as batch:  # SQLite drops columns by copying the table
        batch.drop_column("latency_s")
        batch.drop_column("cost_usd")
        batch.drop_column("prompt_version")
