"""campaigns: twins, campaigns and their jobs, scenarios, episodes, judgments, pairwise comparisons, ratings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("spec", JSON_TYPE, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("key", name=op.f("uq_campaigns_key")),
        sa.UniqueConstraint("name", name=op.f("uq_campaigns_name")),
    )
    op.create_table(
        "twins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("task", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("artefact", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("manifest", JSON_TYPE, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_twins")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_twins_content_hash")),
    )
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("judge", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("rating", sa.Double(), nullable=False),
        sa.Column("ci_low", sa.Double(), nullable=False),
        sa.Column("ci_high", sa.Double(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("rank_low", sa.Integer(), nullable=False),
        sa.Column("rank_high", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_ratings_policy_id_policies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ratings")),
        sa.UniqueConstraint("judge", "scope", "policy_id", name="uq_ratings_key"),
    )
    op.create_table(
        "scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("twin_id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(), nullable=False),
        sa.Column("axis", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Double(), nullable=False),
        sa.Column("perturbations", JSON_TYPE, nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("config", JSON_TYPE, nullable=False),
        sa.ForeignKeyConstraint(["twin_id"], ["twins.id"], name=op.f("fk_scenarios_twin_id_twins")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenarios")),
        sa.UniqueConstraint("key", name=op.f("uq_scenarios_key")),
    )
    op.create_index("ix_scenarios_twin_axis_level", "scenarios", ["twin_id", "axis", "level"])

    op.create_table(
        "campaign_jobs",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_jobs_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_campaign_jobs_policy_id_policies")
        ),
        sa.ForeignKeyConstraint(
            ["scenario_id"], ["scenarios.id"], name=op.f("fk_campaign_jobs_scenario_id_scenarios")
        ),
        sa.PrimaryKeyConstraint("campaign_id", "policy_id", "scenario_id", name=op.f("pk_campaign_jobs")),
    )
    op.create_index("ix_campaign_jobs_policy_scenario", "campaign_jobs", ["policy_id", "scenario_id"])

    op.create_table(
        "episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("termination", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("artefact", sa.String(), nullable=False),
        sa.Column("files", JSON_TYPE, nullable=False),
        sa.Column("worker", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_episodes_policy_id_policies")),
        sa.ForeignKeyConstraint(
            ["scenario_id"], ["scenarios.id"], name=op.f("fk_episodes_scenario_id_scenarios")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_episodes")),
        sa.UniqueConstraint("policy_id", "scenario_id", name="uq_episodes_job"),
    )
    op.create_index(op.f("ix_episodes_scenario_id"), "episodes", ["scenario_id"])

    op.create_table(
        "comparisons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("judge", sa.String(length=32), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("policy_a_id", sa.Integer(), nullable=False),
        sa.Column("policy_b_id", sa.Integer(), nullable=False),
        sa.Column("episode_a_id", sa.Integer(), nullable=False),
        sa.Column("episode_b_id", sa.Integer(), nullable=False),
        sa.Column("winner", sa.String(length=8), nullable=False),
        sa.Column("annotator", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("seconds_spent", sa.Double(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("winner IN ('a', 'b', 'tie')", name=op.f("ck_comparisons_winner")),
        sa.CheckConstraint("policy_a_id <> policy_b_id", name=op.f("ck_comparisons_two_policies")),
        sa.ForeignKeyConstraint(
            ["episode_a_id"], ["episodes.id"], name=op.f("fk_comparisons_episode_a_id_episodes")
        ),
        sa.ForeignKeyConstraint(
            ["episode_b_id"], ["episodes.id"], name=op.f("fk_comparisons_episode_b_id_episodes")
        ),
        sa.ForeignKeyConstraint(
            ["policy_a_id"], ["policies.id"], name=op.f("fk_comparisons_policy_a_id_policies")
        ),
        sa.ForeignKeyConstraint(
            ["policy_b_id"], ["policies.id"], name=op.f("fk_comparisons_policy_b_id_policies")
        ),
        sa.ForeignKeyConstraint(
            ["scenario_id"], ["scenarios.id"], name=op.f("fk_comparisons_scenario_id_scenarios")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comparisons")),
    )
    op.create_index("ix_comparisons_judge", "comparisons", ["judge"])

    op.create_table(
        "judgments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("judge", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("prompt_version", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=True),
        sa.Column("cost_usd", sa.Double(), nullable=True),
        sa.Column("latency_s", sa.Double(), nullable=True),
        sa.Column("detail", JSON_TYPE, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["episode_id"], ["episodes.id"], name=op.f("fk_judgments_episode_id_episodes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judgments")),
        sa.UniqueConstraint("episode_id", "judge", "model", "prompt_version", name="uq_judgments_key"),
    )
    op.create_index(
        "ix_judgments_judge_episode", "judgments", ["judge", "episode_id", "model", "score", "success"]
    )


def downgrade() -> None:
    op.drop_index("ix_judgments_judge_episode", table_name="judgments")
    op.drop_table("judgments")
    op.drop_index("ix_comparisons_judge", table_name="comparisons")
    op.drop_table("comparisons")
    op.drop_index(op.f("ix_episodes_scenario_id"), table_name="episodes")
    op.drop_table("episodes")
    op.drop_index("ix_campaign_jobs_policy_scenario", table_name="campaign_jobs")
    op.drop_table("campaign_jobs")
    op.drop_index("ix_scenarios_twin_axis_level", table_name="scenarios")
    op.drop_table("scenarios")
    op.drop_table("ratings")
    op.drop_table("twins")
    op.drop_table("campaigns")
