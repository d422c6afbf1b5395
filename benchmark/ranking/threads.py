"""One BLAS thread for the rating math.

Fitting and bootstrapping solve many small linear systems in a loop. Extra BLAS threads only add
wake-ups, and when another process holds a core they cost seconds: ``bench/ranking_speed.py``
took 12–31 s for a fit and 100 bootstraps of 100k comparisons with the other core busy, and 0.6 s
with one thread.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from threadpoolctl import threadpool_limits

F = TypeVar("F", bound=Callable[..., Any])


def one_blas_thread(fn: F) -> F:
    """``fn`` run with BLAS limited to one thread (the caller's limits come back after)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
