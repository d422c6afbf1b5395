"""The dashboard's one number format: rates as whole percents with a space (``57 %``), intervals
as ``18–53 %``, empty cells as an em dash. Pure functions, no Streamlit.

Tables hold rates in percent points (0–100) and show them with :data:`PERCENT` (printf), so a
table cell, a metric and a caption all read ``57 %``; never ``57.14%`` or ``0.57``.
"""

from __future__ import annotations

import math
import re

EMPTY = "—"  # a missing value, in tables (the dataframes' placeholder) and in text
PERCENT = "%.0f %%"  # printf format of a table column holding percent points


MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$:~=^&])")


def plain(text: object) -> str:
    """``text`` (a name, a failure reason: anything a submitter or annotator wrote) escaped so that
    Streamlit's Markdown shows it as written: no links, images, emphasis, colours or icons."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def points(rate: float | None) -> float | None:
    """A 0–1 rate as percent points (what rate columns hold); None stays None."""
    return 100 * rate if finite(rate) else None


def percent(rate: float | None) -> str:
    """``0.5714`` → ``"57 %"``; :data:`EMPTY` when unknown."""
    return f"{100 * rate:.0f} %" if finite(rate) else EMPTY


def interval(low: float | None, high: float | None, digits: int = 0, as_percent: bool = False) -> str:
    """``"0.30–0.95"`` (or ``"30–95 %"`` for rates), :data:`EMPTY` when unknown."""
    if not (finite(low) and finite(high)):
        return EMPTY
    if as_percent:
        return f"{100 * low:.0f}–{100 * high:.0f} %"
    return f"{low:.{digits}f}–{high:.{digits}f}"


def signed_percent(difference: float | None) -> str:
    """A difference of rates in percent points with its sign: ``0.1`` → ``"+10 %"``; :data:`EMPTY`
    when unknown."""
    return f"{round(100 * difference):+d} %" if finite(difference) else EMPTY


def signed_interval(low: float | None, high: float | None) -> str:
    """The interval of a difference of rates: ``"-25 to +41 %"``; :data:`EMPTY` when unknown."""
    if not (finite(low) and finite(high)):
        return EMPTY
    return f"{round(100 * low):+d} to {round(100 * high):+d} %"


def p_value(p: float | None) -> str:
    """A p-value to three decimals, ``"< 0.001"`` below that; :data:`EMPTY` when unknown."""
    if not finite(p):
        return EMPTY
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def plural(n: int, one: str, many: str | None = None) -> str:
    """``"1 twin"``, ``"2 twins"``."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def or_empty(value) -> str:
    """A value as text, :data:`EMPTY` for None or an empty string."""
    return EMPTY if value is None or value == "" else str(value)
