"""Small helpers for the dashboard's AppTests."""

from __future__ import annotations


def button(at, label: str):
    """The button (or form submit button) labelled ``label``."""
    found = [b for b in at.button if b.label == label]
    assert found, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return found[0]


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def no_exception(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
