"""The `quality` command: parses arguments and dispatches to `quality.commands.<name>`.

Each command module exposes `register(app)`, adding one typed command function that returns an exit code.
One error boundary turns a `QualityError` into a readable paragraph and exit 1, Ctrl-C into 130 and
anything unexpected into 3.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer
from rich.console import Console
from typer.exceptions import TyperException

from quality.errors import QualityError, UsageError

# Command modules, imported lazily so `quality --help` stays fast (no dbt or GX import at start-up).
COMMAND_MODULES: tuple[str, ...] = (
    "gate",
    "reap",
    "docs",
    "generate",
    "deploy",
    "metrics",
    "rollback",
    "diff",
    "doctor",
    "compile",
    "emulator",
    "fidelity",
)

err_console = Console(stderr=True)


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="quality",
        help="Quality harness for dbt on Databricks: ephemeral builds, Great Expectations gates, safe publish.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for module_name in COMMAND_MODULES:
        importlib.import_module(f"quality.commands.{module_name}").register(app)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    app = build_app()
    try:
        result = app(args=list(argv) if argv is not None else None, standalone_mode=False)
    except UsageError as error:
        err_console.print(f"[bold red]usage error:[/] {error}", highlight=False, soft_wrap=True)
        return 2
    except QualityError as error:
        err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except SystemExit as exit_:  # typer.Exit inside a command
        return int(exit_.code or 0)
    except TyperException as error:  # usage errors: click's own message and exit code (2)
        show = getattr(error, "show", None)
        if callable(show):
            show()
        return int(getattr(error, "exit_code", 2))
    except Exception:  # the last boundary: never a bare traceback without a word for the user
        err_console.print_exception()
        err_console.print("[bold red]unexpected error[/]: please report it with the traceback above.")
        return 3
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
