"""The catalogue's tables as SQLAlchemy declarative models (the migrations in ``migrations/`` create them).

Every constraint gets its name from :data:`NAMING_CONVENTION`, so later migrations can drop or
alter it by name on every backend (SQLite through Alembic's batch mode).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, Double, MetaData, String, Text, TypeDecorator
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# JSON everywhere, JSONB on PostgreSQL (indexable, compact)
JSON_TYPE = JSON().with_variant(postgresql.JSONB(), "postgresql")

REGISTERED, FAILED = "registered", "failed"
POLICY_STATUSES = (REGISTERED, FAILED)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, read back in UTC on every backend (SQLite stores it as naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give it a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Base of every table; its metadata carries the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Policy(Base):
    """A policy submission: :class:`benchmark.protocol.PolicyInfo` plus its artefact and status.

    ``sha256`` and ``artefact`` (a path relative to the artefact folder) are empty for submissions
    without files (built-in and remote policies); ``reason`` says why a ``failed`` policy failed.
    """

    __tablename__ = "policies"
    __table_args__ = (CheckConstraint(f"status IN {POLICY_STATUSES!r}", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str | None] = mapped_column(String(64))
    artefact: Mapped[str | None] = mapped_column(String)
    action_space: Mapped[str] = mapped_column(String(32))
    cameras: Mapped[list[str]] = mapped_column(JSON_TYPE)
    image_width: Mapped[int]
    image_height: Mapped[int]
    control_hz: Mapped[float | None] = mapped_column(Double)
    licence: Mapped[str] = mapped_column(String)
    owner: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String(16), default=REGISTERED)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON_TYPE)
