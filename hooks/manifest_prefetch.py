"""pre-commit hook: start the shared manifest's `dbt parse` in the background, at the start of the commit.

pre-commit runs hooks one after another, so a commit that changes the dbt graph used to pay the parse
(2-3 s, most of it importing dbt) after sqlfluff, detect-secrets and the file checks (1.5-2 s), on
one core of two. This hook runs first: when the graph key changed (`hooks.graph_key`; no dbt import)
it starts `python -m hooks.manifest` as a detached process and returns at once. The `dbt-manifest`
hook, later in the same commit, waits for that process when its key is the current one, and parses
itself otherwise (or when the background parse failed, so the error is reported as `file:line` in
that hook's output). Besides the usual manifest and key it writes, in the same folder, the key it
started for, a lock file (held by the background process for its whole life) and its log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from hooks import manifest_key

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

STATE_FILE_NAME = ".quality-prefetch.json"
LOCK_FILE_NAME = ".quality-prefetch.lock"
CHILD_MARK = "QUALITY_MANIFEST_PREFETCH_CHILD"
POLL_SECONDS = 0.02


def _locked(fd: int) -> bool:
    """True while another open file holds the lock (the background parse is still running)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False


def _state_key(target_dir: Path) -> str | None:
    try:
        state = json.loads((target_dir / STATE_FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    key = state.get("key")
    return key if isinstance(key, str) else None


def wait_for(target_dir: Path, key: str, done: Callable[[], bool], timeout: float = 300.0) -> bool:
    """Wait until a background parse started for `key` is `done()` or has ended; True if one was started.

    The background process holds an exclusive `flock` for its whole life (the kernel drops it when the
    process ends, whoever reaps it), so waiting needs no pid and sees no zombie; `done` (the manifest is
    fresh) usually ends the wait earlier, while the process is still exiting.
    """
    if fcntl is None or os.environ.get(CHILD_MARK) or _state_key(target_dir) != key:
        return False
    fd = os.open(target_dir / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while not done() and _locked(fd) and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
    finally:
        os.close(fd)
    return True


def start(target_dir: Path, key: str, command: Sequence[str]) -> int | None:
    """Start `command` detached, holding the lock for it; None when a background parse already runs."""
    if fcntl is None:  # no flock (Windows): dbt-manifest parses in the foreground, as without this hook
        return None
    target_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(target_dir / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        state = target_dir / STATE_FILE_NAME
        temporary = state.with_name(f"{state.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"key": key}), encoding="utf-8")
        temporary.replace(state)
        with (target_dir / "prefetch.log").open("w", encoding="utf-8") as log:
            process = subprocess.Popen(
                list(command),
                env=_environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(fd,),  # the child inherits the locked file: the lock lives as long as it does
                start_new_session=True,  # not killed with the hook; the dbt-manifest hook waits for it
            )
        return process.pid
    finally:
        os.close(fd)


def _environment() -> dict[str, str]:
    """This environment, with the folder holding the `hooks` package first on PYTHONPATH (any cwd works)."""
    package_root = str(Path(__file__).resolve().parents[1])
    paths = [package_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), CHILD_MARK: "1"}


def main(argv: Sequence[str] | None = None) -> int:
    args = manifest_key.parser("manifest-prefetch", __doc__.splitlines()[0]).parse_args(argv)
    settings = manifest_key.settings_from(args)
    key = manifest_key.current_key(settings)
    if not manifest_key.is_fresh(settings, key):
        command = [sys.executable, "-m", "hooks.manifest", *(argv if argv is not None else sys.argv[1:])]
        start(settings.target_dir, key, command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
