"""What the benchmarks share: one command's wall time, the run stopped with the command's output if it failed."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


def timed_command(command: list[str], cwd: Path, env: Mapping[str, str]) -> float:
    """Seconds `command` took in `cwd` with `env`; exits with the tails of its output when it fails."""
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=dict(env), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed


def alternating_rounds(
    modes: Sequence[str], rounds: int, run: Callable[[str], tuple[float, str]], width: int = 8
) -> dict[str, list[float]]:
    """Each round runs every mode once, in order, so that the modes share the machine's state side by side;
    prints a line a run (`run` returns its seconds and a note to print after them) and returns the seconds."""
    seconds: dict[str, list[float]] = {mode: [] for mode in modes}
    for round_number in range(1, rounds + 1):
        for mode in modes:
            elapsed, note = run(mode)
            seconds[mode].append(elapsed)
            print(f"round {round_number}  {mode:{width}} {elapsed:6.1f} s{note}", flush=True)
    return seconds


def print_medians(
    seconds: Mapping[str, list[float]], width: int = 8, note: Callable[[str], str] = lambda mode: ""
) -> dict[str, float]:
    """Print each mode's median (and a note after it) below a blank line; return the medians."""
    medians = {mode: statistics.median(values) for mode, values in seconds.items()}
    print()
    for mode, median in medians.items():
        print(f"{mode:{width}} median {median:6.1f} s{note(mode)}")
    return medians
