"""What the benchmarks share: one command's wall time, the run stopped with the command's output if it failed."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from pathlib import Path


def timed_command(command: list[str], cwd: Path, env: Mapping[str, str]) -> float:
    """Seconds `command` took in `cwd` with `env`; exits with the tails of its output when it fails."""
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=dict(env), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed
