"""Annotator log-in tokens: ``<name in base64url>.<HMAC-SHA256 of the name>``, signed with the
dashboard's secret, so a token names one annotator and cannot be forged without the secret.

The secret is ``$TWINARENA_DASHBOARD_SECRET``, else a random one kept in the data folder
(``dashboard-secret``, created on first use, readable by its owner only). Every dashboard server
of one store must share it (set the variable) for a token to work on all of them.
``$TWINARENA_ANNOTATOR_LOGIN=token`` turns log-in by name off: only people given a token
(``twinarena dashboard --issue-token NAME``) can vote.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_ENV = "TWINARENA_DASHBOARD_SECRET"
LOGIN_ENV = "TWINARENA_ANNOTATOR_LOGIN"
LOGIN_MODES = ("name", "token")
SECRET_FILE = "dashboard-secret"
SIGNATURE_CHARS = 32


def login_mode() -> str:
    """``name`` (log in by name or token; the default) or ``token`` (by token only)."""
    mode = os.environ.get(LOGIN_ENV, "name").strip().lower() or "name"
    if mode not in LOGIN_MODES:
        raise ValueError(f"${LOGIN_ENV} = {mode!r}: expected one of {', '.join(LOGIN_MODES)}")
    return mode


def secret() -> bytes:
    """The signing secret (see the module docstring)."""
    value = os.environ.get(SECRET_ENV, "").strip()
    if value:
        return value.encode()
    from benchmark.store.engine import data_home

    path = data_home() / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as stream:
            stream.write(secrets.token_urlsafe(32))
    return Path(path).read_text().strip().encode()


def _signature(name: str, key: bytes) -> str:
    return hmac.new(key, name.encode(), hashlib.sha256).hexdigest()[:SIGNATURE_CHARS]


def issue_token(name: str, key: bytes | None = None) -> str:
    """The log-in token of annotator ``name``."""
    from benchmark.judges.human import normalise_name

    name = normalise_name(name)
    encoded = base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")
    return f"{encoded}.{_signature(name, key if key is not None else secret())}"


def name_from_token(token: str, key: bytes | None = None) -> str:
    """The annotator a token names; ValueError for a malformed or forged one."""
    encoded, dot, signature = str(token).strip().partition(".")
    if not dot or not encoded or not signature:
        raise ValueError("not a log-in token: expected NAME.SIGNATURE, as the dashboard issued it")
    try:
        name = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("not a log-in token: its name part does not decode") from None
    expected = _signature(name, key if key is not None else secret())
    if not hmac.compare_digest(expected, signature):
        raise ValueError("this log-in token was not issued by this dashboard (its signature does not match)")
    return name
