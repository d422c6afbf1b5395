"""Text from outside (policy names, failure reasons, vote reasons) made safe to store and show.

A name is refused when it is not plain printable text; a free text (a reason) is cleaned instead,
because it is a record of what happened: control characters (NUL included, which PostgreSQL's
text columns refuse) and bidirectional overrides are dropped, and it is cut to a length. Both
are then shown as plain text everywhere (no Markdown, no rich markup).
"""

from __future__ import annotations

import unicodedata

MAX_NAME = 300  # characters of a policy name (an unregistered policy is named by its path)
MAX_REASON = 2000  # characters of a stored failure or vote reason
KEPT_CONTROLS = "\n\t"
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def _unsafe(char: str) -> bool:
    """A character that is not shown as itself: C0/C1 controls, format characters such as
    bidirectional overrides, unassigned and private-use code points, lone surrogates."""
    if char in KEPT_CONTROLS:
        return False
    return char in BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn")


def clean_text(text: object, limit: int = MAX_REASON) -> str:
    """``text`` without unsafe characters, cut to ``limit`` characters (saying how much was cut)."""
    clean = "".join(c for c in str(text) if not _unsafe(c))
    if len(clean) <= limit:
        return clean
    cut = len(clean) - limit
    return clean[:limit] + f" … ({cut} more characters cut)"


def name_problem(name: object, what: str = "name", limit: int = MAX_NAME) -> str | None:
    """Why ``name`` cannot be a name (None when it can): not a string, empty, too long, or holding
    characters that are not plain printable text (line breaks, controls, overrides)."""
    if not isinstance(name, str) or not name.strip():
        return f"the {what} must be non-empty text"
    if len(name) > limit:
        return f"the {what} is {len(name)} characters long; at most {limit}"
    bad = sorted({c for c in name if _unsafe(c) or c in KEPT_CONTROLS})
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in bad[:5])
        escaped = name.encode("unicode_escape").decode()
        return f"the {what} {escaped!r} holds characters that are not plain text ({shown})"
    if name != name.strip():
        return f"the {what} {name!r} starts or ends with spaces"
    return None
