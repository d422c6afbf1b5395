"""The policy catalogue: the record callers get back, and the queries behind :class:`Store`'s policy methods.

The functions take an open :class:`~sqlalchemy.orm.Session` so several can share one transaction;
they return :class:`PolicyRecord` values, never rows attached to the session.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from benchmark.errors import StoreError
from benchmark.policies.protocol import PolicyInfo
from benchmark.store.models import FAILED, POLICY_STATUSES, Policy
from benchmark.text import clean_text

SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class PolicyRecord:
    """A registered policy: its metadata (``name`` … ``extra``, as in :class:`PolicyInfo`), the
    SHA-256 and artefact path of its files (None for built-in and remote policies), its status
    (``registered`` or ``failed``, with the ``reason``) and when it was registered (UTC)."""

    id: int
    name: str
    kind: str
    action_space: str
    cameras: tuple[str, ...]
    image_size: tuple[int, int]
    control_hz: float | None
    licence: str
    owner: str
    adapter: str
    open_loop_horizon: int | None
    extra: dict[str, Any]
    sha256: str | None
    artefact: str | None
    status: str
    reason: str | None
    created_at: datetime

    def info(self) -> PolicyInfo:
        """The metadata as the :class:`PolicyInfo` it was registered with."""
        return PolicyInfo(**{f.name: getattr(self, f.name) for f in fields(PolicyInfo)})

    @classmethod
    def from_row(cls, row: Policy) -> PolicyRecord:
        return cls(
            id=row.id,
            name=row.name,
            kind=row.kind,
            action_space=row.action_space,
            cameras=tuple(row.cameras),
            image_size=(row.image_width, row.image_height),
            control_hz=row.control_hz,
            licence=row.licence,
            owner=row.owner,
            adapter=row.adapter,
            open_loop_horizon=row.open_loop_horizon,
            extra=dict(row.extra),
            sha256=row.sha256,
            artefact=row.artefact,
            status=row.status,
            reason=row.reason,
            created_at=row.created_at,
        )


def add_policy(
    session: Session, info: PolicyInfo, sha256: str | None = None, artefact: str | None = None
) -> PolicyRecord:
    """Register a policy. Registering the same name again with the same SHA-256 and metadata returns
    the existing record (whatever its status): re-running a registration is harmless. Any other
    policy under a registered name raises :class:`StoreError`."""
    if sha256 is not None and not SHA256.fullmatch(sha256):
        raise ValueError(f"sha256 {sha256!r} is not 64 lowercase hexadecimal digits")
    if artefact is not None and sha256 is None:
        raise ValueError(f"artefact {artefact!r} given without its sha256")
    columns = _columns(info)
    row = session.scalars(select(Policy).where(Policy.name == info.name)).one_or_none()
    if row is not None:
        held = f"policy {info.name!r} is already registered (sha256 {_short(row.sha256)})"
        if row.sha256 != sha256:
            raise StoreError(held)
        changed = [key for key, value in columns.items() if getattr(row, key) != value]
        if changed:
            raise StoreError(f"{held} with other metadata: {', '.join(changed)}")
        return PolicyRecord.from_row(row)
    row = Policy(**columns, sha256=sha256, artefact=artefact)
    session.add(row)
    session.flush()
    return PolicyRecord.from_row(row)


def get_policy(session: Session, name: str) -> PolicyRecord | None:
    """The policy registered as ``name``, or None."""
    row = session.scalars(select(Policy).where(Policy.name == name)).one_or_none()
    return None if row is None else PolicyRecord.from_row(row)


def list_policies(session: Session, status: str | None = None) -> list[PolicyRecord]:
    """Every policy by name, or those with ``status`` (``registered`` or ``failed``)."""
    query = select(Policy).order_by(Policy.name)
    if status is not None:
        if status not in POLICY_STATUSES:
            raise ValueError(f"status {status!r} is not one of {', '.join(POLICY_STATUSES)}")
        query = query.where(Policy.status == status)
    return [PolicyRecord.from_row(row) for row in session.scalars(query)]


def mark_policy_failed(session: Session, name: str, reason: str) -> PolicyRecord:
    """Mark a policy ``failed`` (it could not be loaded or run) and say why."""
    reason = clean_text(reason)  # stored as plain text: no NUL, no controls, capped
    if not reason.strip():
        raise ValueError("a failed policy needs a reason")
    row = session.scalars(select(Policy).where(Policy.name == name)).one_or_none()
    if row is None:
        raise StoreError(f"no policy is registered as {name!r}")
    row.status, row.reason = FAILED, reason
    session.flush()
    return PolicyRecord.from_row(row)


def _columns(info: PolicyInfo) -> dict[str, Any]:
    """The ``policies`` columns that hold ``info``, as they read back (JSON made plain)."""
    try:
        extra = json.loads(json.dumps(info.extra))
    except (TypeError, ValueError) as err:
        raise ValueError(f"policy {info.name!r}: extra is not JSON ({err})") from None
    return {
        "name": info.name,
        "kind": info.kind,
        "action_space": info.action_space,
        "cameras": list(info.cameras),
        "image_width": info.image_size[0],
        "image_height": info.image_size[1],
        "control_hz": None if info.control_hz is None else float(info.control_hz),
        "licence": info.licence,
        "owner": info.owner,
        "adapter": info.adapter,
        "open_loop_horizon": info.open_loop_horizon,
        "extra": extra,
    }


def _short(sha256: str | None) -> str:
    return "none" if sha256 is None else f"{sha256[:12]}…"
