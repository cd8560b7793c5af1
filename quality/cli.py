"""The `quality` command: parses arguments and dispatches to `quality.commands.<name>`.

Each command module exposes `register(app)`, adding one typed command function that returns an exit code.
One error boundary turns a `QualityError` into a readable paragraph and exit 1, Ctrl-C into 130 and
anything unexpected into 3.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.exceptions import TyperException

from quality import interrupts
from quality.errors import QualityError, UsageError

# Command modules, imported lazily so `quality --help` stays fast (no dbt or GX import at start-up).
COMMAND_MODULES: tuple[str, ...] = (
    "init",
    "gate",
    "reap",
    "docs",
    "generate",
    "deploy",
    "metrics",
    "rollback",
    "diff",
    "pr",
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
    from quality.python_support import unsupported_python

    if (refusal := unsupported_python()) is not None:
        err_console.print(f"[bold red]error:[/] {escape(refusal)}", highlight=False, soft_wrap=True)
        return 1
    app = build_app()
    with interrupts.handled():
        return _dispatch(app, argv)


def _dispatch(app: typer.Typer, argv: Sequence[str] | None) -> int:
    try:
        result = app(args=list(argv) if argv is not None else None, standalone_mode=False)
    except UsageError as error:
        return _refused("usage error", error, 2)
    except QualityError as error:
        return _refused("error", error, 1)
    except KeyboardInterrupt as interrupt:
        return _interrupted(str(interrupt))
    except SystemExit as exit_:  # typer.Exit inside a command
        return int(exit_.code or 0)
    except TyperException as error:  # usage errors: click's own message and exit code (2)
        return _click_error(error)
    except Exception as error:  # the last boundary: never a bare traceback without a word for the user
        return _unexpected(error)
    return _exit_code(result)


def _refused(label: str, error: QualityError, code: int) -> int:
    """A `QualityError`: its paragraph, no traceback."""
    err_console.print(f"[bold red]{label}:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    return code


def _click_error(error: TyperException) -> int:
    show = getattr(error, "show", None)
    if callable(show):
        show()
    return int(getattr(error, "exit_code", 2))


def _unexpected(error: Exception) -> int:
    """Called while `error` is handled: the traceback and a request to report it, or an interrupt's 130."""
    signal_name = interrupts.received()
    if signal_name is not None:  # a library turned the interrupt into its own error: still an interrupt
        return _interrupted(interrupts.told() or f"{signal_name} ({type(error).__name__}: {error})")
    err_console.print_exception()
    err_console.print("[bold red]unexpected error[/]: please report it with the traceback above.")
    return 3


def _exit_code(result: Any) -> int:
    if result == 130 and interrupts.received() is not None:  # typer returns a KeyboardInterrupt as 130
        return _interrupted(interrupts.told() or interrupts.received() or "")
    return int(result or 0)


def _interrupted(detail: str) -> int:
    """Ctrl-C or SIGTERM: exit 130 with what the command said about it (never 'please report it')."""
    err_console.print(f"[bold yellow]interrupted[/]{': ' + detail if detail else ''}", highlight=False, soft_wrap=True)
    return 130


if __name__ == "__main__":
    sys.exit(main())
