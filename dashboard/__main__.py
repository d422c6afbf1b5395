"""``python -m dashboard OPTIONS``: what ``twinarena dashboard`` starts, so that the command line never
imports the dashboard. ``OPTIONS`` is one JSON object of :func:`dashboard.command.serve`'s keyword
arguments; the command line declares and checks them. A bad store is one error line and exit 2."""

from __future__ import annotations

import json
import sys

from benchmark.errors import StoreError
from dashboard.command import serve


def main(argv: list[str] | None = None) -> None:
    """Serve with the options of ``argv`` (default: the process's own arguments)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        options = json.loads(args[0]) if args else {}
        if not isinstance(options, dict):
            raise ValueError("expected a JSON object")
    except ValueError as err:
        sys.stderr.write(f"error: python -m dashboard takes one JSON object of options ({err})\n")
        raise SystemExit(2) from None
    try:
        serve(**options)
    except StoreError as err:
        sys.stderr.write(f"error: {err}\n")
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
