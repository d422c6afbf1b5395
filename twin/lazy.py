"""Public names of a package that load on first use, so importing the package stays light."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_exports(
    package: str, public: dict[str, tuple[str, ...]]
) -> tuple[Callable[[str], object], Callable[[], list], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``, whose public names are
    ``public`` (submodule → names): each is imported from ``package.<submodule>`` the first time
    it is asked for, then kept."""
    where = {name: module for module, names in public.items() for name in names}

    def __getattr__(name: str) -> object:  # noqa: N807
        if name in where:
            value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list:  # noqa: N807
        return sorted(where)

    return __getattr__, __dir__, sorted(where)
