"""``python -m dashboard``: serve the dashboard on a store (what ``twinarena dashboard`` runs), with
the options of :func:`dashboard.command.dashboard_command`. A bad store is one error line and exit
code 2."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.text import Text

from benchmark.errors import StoreError
from dashboard.command import dashboard_command

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command()(dashboard_command)


def main() -> None:
    """Run :data:`app`: store errors print one line and exit 2, never a traceback."""
    console = Console(stderr=True)
    try:
        app(standalone_mode=False)
    except StoreError as err:
        console.print(Text.assemble(("error:", "red"), f" {err}"), soft_wrap=True)
        raise SystemExit(2) from None
    except (typer.Abort, KeyboardInterrupt):
        console.print("[yellow]aborted[/]")
        raise SystemExit(130) from None
    except Exception as err:
        # usage errors: click's exceptions, or typer's vendored copies of them, show themselves
        if hasattr(err, "show") and isinstance(getattr(err, "exit_code", None), int):
            err.show()
            raise SystemExit(err.exit_code) from None
        raise


if __name__ == "__main__":
    main()
