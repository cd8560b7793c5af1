"""SIGINT and SIGTERM: a run ends with exit 130 and a truthful report, never with half a publish.

`install()` makes both signals raise `KeyboardInterrupt` and remembers that one arrived, so an interrupt
that a library turned into its own error (dbt returns it as a result, DuckDB may raise InterruptException)
is still recognised as an interrupt (`received()`). `deferred()` holds signals back during a step that must
not stop half-way (a publish and its record, the final report): a signal that arrives then is remembered
and raised as `KeyboardInterrupt` when the step ends.

`pause_point()` is a test hook: with `QUALITY_TEST_PAUSE_AT=<step>:<file>` in the environment, reaching
that step creates the file and waits (at most `PAUSE_LIMIT_S`) until a signal has arrived, so tests can
interrupt a run at a known step without racing it. `crash_point()` is the other test hook: with
`QUALITY_TEST_CRASH_AT=<point>`, reaching that point ends the process at once (`os._exit`, no cleanup,
no finally blocks), as a killed machine would, so tests can check what a crash there leaves behind.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)
PAUSE_ENV = "QUALITY_TEST_PAUSE_AT"
PAUSE_LIMIT_S = 60.0
CRASH_ENV = "QUALITY_TEST_CRASH_AT"
CRASH_EXIT = 86

_received: list[int] = []
_pending: list[int] = []
_deferring = [0]
_accounts: list[str] = []


def install() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt (or wait for the end of a `deferred()` step)."""
    _received.clear()
    _pending.clear()
    _accounts.clear()
    for signum in SIGNALS:
        signal.signal(signum, _handle)


@contextmanager
def handled() -> Iterator[None]:
    """`install()` for the duration of the block (in the main thread; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    install()
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def received() -> str | None:
    """The name of the first signal received since `install()` (e.g. "SIGTERM"), or None."""
    return signal.Signals(_received[0]).name if _received else None


def tell(account: str) -> None:
    """What an interrupted command wants its user to know (typer turns KeyboardInterrupt into exit code 130
    and drops its message, so the CLI prints this instead)."""
    _accounts.append(account)


def told() -> str | None:
    return _accounts[-1] if _accounts else None


def pending() -> bool:
    """A signal arrived during the current `deferred()` step and will be raised when it ends."""
    return bool(_pending)


@contextmanager
def deferred() -> Iterator[None]:
    """Run the block to its end whatever signal arrives; then raise KeyboardInterrupt for it."""
    _deferring[0] += 1
    try:
        yield
    finally:
        _deferring[0] -= 1
        if _deferring[0] == 0 and _pending:
            name = signal.Signals(_pending[0]).name
            _pending.clear()
            raise KeyboardInterrupt(name)


def pause_point(step: str) -> None:
    """Test hook (see the module docstring); does nothing unless QUALITY_TEST_PAUSE_AT names this step."""
    wanted, _, marker = os.environ.get(PAUSE_ENV, "").partition(":")
    if wanted != step or not marker or received():
        return
    Path(marker).write_text(f"{os.getpid()} paused at {step}\n", encoding="utf-8")
    deadline = time.monotonic() + PAUSE_LIMIT_S
    while not received() and time.monotonic() < deadline:
        time.sleep(0.05)


def crash_point(point: str) -> None:
    """Test hook (see the module docstring); does nothing unless QUALITY_TEST_CRASH_AT names this point."""
    if os.environ.get(CRASH_ENV) == point:
        os._exit(CRASH_EXIT)


def _handle(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    if _deferring[0]:
        _pending.append(signum)
        return
    raise KeyboardInterrupt(signal.Signals(signum).name)
