"""Benchmark: the warm pre-commit gate for a commit touching one model, side by side with its parts.

In a temporary git copy of this repository (offline: dbt-checkpoint from the local mirror by git URL
rewriting, a warm PRE_COMMIT_HOME under .quality/), it times, each the median of --repeat runs:

  gate, SQL edit      `pre-commit run` on a staged edit of one model's SQL body (graph unchanged)
  gate, graph edit    the same with a `config()` added to the model (the manifest must be re-parsed)
  slowest hook        the slowest single hook of the SQL-edit run (`--verbose` durations)
  dbt-parse hook      dbt-checkpoint's own `dbt-parse` hook on the same change
  dbt-manifest hook   ours: fresh (no-op) and forced parse
  checks batched      the dbt-checkpoint checks in one process (our `dbt-checkpoint` hook)
  checks one by one   the same checks as separate hooks, as dbt-checkpoint ships them

and prints the ratios. Target: the SQL-edit gate in <= 3 s wall on 2 cores.

    uv run python bench/bench_precommit.py
    uv run python bench/bench_precommit.py --model dbt/models/marts/facts/fct_orders.sql --repeat 5

Python writes bytecode to .quality/pre-commit-cache/pycache (as it writes __pycache__ on a normal
machine); `--no-bytecode-cache` measures with PYTHONDONTWRITEBYTECODE=1 instead.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.hooks.conftest import copy_repository

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = ROOT / ".quality" / "pre-commit-cache"
MIRROR = (ROOT / ".." / "shared" / "mirrors" / "dbt-checkpoint.git").resolve()
CHECKPOINT_URL = "https://github.com/dbt-checkpoint/dbt-checkpoint"
TARGET_SECONDS = 3.0
DURATION = re.compile(r"^- duration: ([0-9.]+)s", re.MULTILINE)
HOOK_LINE = re.compile(r"^(?P<name>\S.*?)\.{3,}.*(Passed|Failed)$", re.MULTILINE)
BENCH_CONFIG = ".pre-commit-bench.yaml"


@dataclass(frozen=True)
class Timing:
    label: str
    seconds: float
    detail: str = ""


def environment(bytecode_cache: bool) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GIT_CONFIG", "PRE_COMMIT"))}
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PRE_COMMIT_HOME": str(CACHE_DIR / "home"),
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.{MIRROR}.insteadOf",
            "GIT_CONFIG_VALUE_0": CHECKPOINT_URL,
            "GIT_AUTHOR_NAME": "bench",
            "GIT_AUTHOR_EMAIL": "bench@example.invalid",
            "GIT_COMMITTER_NAME": "bench",
            "GIT_COMMITTER_EMAIL": "bench@example.invalid",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
        }
    )
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(CACHE_DIR / "pycache")
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run(repo: Path, env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=repo, env=dict(env), capture_output=True, text=True, check=False)


def timed(repo: Path, env: Mapping[str, str], *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = run(repo, env, *args)
    return time.perf_counter() - started, result


def write_bench_config(repo: Path) -> None:
    """A config holding dbt-checkpoint's own dbt-parse hook (manual stage) and our checks as one hook each."""
    config = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    checkpoint = next(entry for entry in config["repos"] if "dbt-checkpoint" in str(entry["repo"]))
    single = []
    for hook in checkpoint["hooks"]:
        if hook.get("stages") == ["manual"]:
            single.append({**hook, "stages": ["pre-commit"]})
    parse = {"id": "dbt-parse", "args": ["--cmd-flags", "++profiles-dir", "dbt"], "stages": ["manual"]}
    bench = {"repos": [{"repo": CHECKPOINT_URL, "rev": checkpoint["rev"], "hooks": [parse, *single]}]}
    (repo / BENCH_CONFIG).write_text(yaml.safe_dump(bench, sort_keys=False), encoding="utf-8")


def median_run(repo: Path, env: Mapping[str, str], repeat: int, *args: str) -> tuple[float, str]:
    seconds: list[float] = []
    output = ""
    for _ in range(repeat):
        elapsed, result = timed(repo, env, *args)
        seconds.append(elapsed)
        output = result.stdout + result.stderr
    return statistics.median(seconds), output


def hook_durations(verbose_output: str) -> list[tuple[str, float]]:
    """(hook name, seconds) of every hook that ran, slowest first, from `pre-commit run --verbose`."""
    names = [match.group("name").strip() for match in HOOK_LINE.finditer(verbose_output)]
    durations = [float(value) for value in DURATION.findall(verbose_output)]
    return sorted(zip(names, durations, strict=False), key=lambda pair: -pair[1])


def touch_sql(repo: Path, model: str, counter: int) -> None:
    path = repo / model
    text = path.read_text(encoding="utf-8").rstrip("\n")
    path.write_text(f"{text}\n-- bench edit {counter}\n", encoding="utf-8")


def touch_graph(repo: Path, model: str, counter: int) -> None:
    """A graph change: a new `config()` in the model's Jinja (the manifest must be re-parsed)."""
    path = repo / model
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"\A\{\{ config\(meta=\{'bench_edit': \d+\}\) \}\}\n", "", text)
    path.write_text(f"{{{{ config(meta={{'bench_edit': {counter}}}) }}}}\n{text}", encoding="utf-8")


def measure(repo: Path, env: Mapping[str, str], model: str, repeat: int) -> list[Timing]:
    py = sys.executable
    timings: list[Timing] = []
    touch_sql(repo, model, 0)
    run(repo, env, "git", "add", "--all")
    runs: list[float] = []
    output = ""
    for _ in range(repeat):
        elapsed, result = timed(repo, env, py, "-m", "pre_commit", "run", "--verbose")
        runs.append(elapsed)
        output = result.stdout + result.stderr
    status = "ok" if "Failed" not in output else "FAILED"
    runs_text = ", ".join(f"{value:.2f}" for value in runs)
    timings.append(Timing("gate, SQL edit (warm)", statistics.median(runs), f"{status}; runs {runs_text}"))
    durations = hook_durations(output)
    name, hook_seconds = durations[0] if durations else ("(none)", 0.0)
    timings.append(Timing("slowest single hook", hook_seconds, name))
    others = ", ".join(f"{hook} {seconds:.2f}" for hook, seconds in durations[1:6])
    timings.append(Timing("sum of all hooks", sum(seconds for _, seconds in durations), f"next: {others}"))

    graph_runs: list[float] = []
    graph_failed = False
    for counter in range(1, repeat + 1):
        touch_graph(repo, model, counter)
        run(repo, env, "git", "add", "--all")
        elapsed, result = timed(repo, env, py, "-m", "pre_commit", "run")
        graph_runs.append(elapsed)
        graph_failed = graph_failed or result.returncode != 0
    detail = f"config() added to the model: one dbt parse; {'FAILED' if graph_failed else 'ok'}"
    timings.append(Timing("gate, graph edit (warm)", statistics.median(graph_runs), detail))

    parse_args = (py, "-m", "pre_commit", "run", "-c", BENCH_CONFIG, "--hook-stage", "manual", "dbt-parse")
    seconds, _ = median_run(repo, env, repeat, *parse_args, "--files", model)
    timings.append(Timing("dbt-checkpoint dbt-parse hook", seconds, "its subprocess `dbt parse`"))
    manifest = (py, "-m", "hooks.manifest", "--project-dir", "dbt")
    timings.append(Timing("dbt-manifest hook, fresh", median_run(repo, env, repeat, *manifest)[0], "no dbt import"))
    forced = median_run(repo, env, repeat, *manifest, "--force")[0]
    timings.append(Timing("dbt-manifest hook, forced parse", forced, "in-process dbtRunner, partial parse"))

    properties = next(path for path in sorted((repo / model).parent.glob("*.yml")) if "unit" not in path.name)
    batch = (py, "-m", "pre_commit", "run", "dbt-checkpoint", "--files", model, str(properties.relative_to(repo)))
    timings.append(Timing("dbt-checkpoint checks, batched", median_run(repo, env, repeat, *batch)[0], "one process"))
    single = (py, "-m", "pre_commit", "run", "-c", BENCH_CONFIG, "--files", model)
    single_seconds, single_output = median_run(repo, env, repeat, *single, str(properties.relative_to(repo)))
    processes = len(HOOK_LINE.findall(single_output))
    timings.append(Timing("dbt-checkpoint checks, one by one", single_seconds, f"{processes} hook processes"))
    return timings


def report(timings: Sequence[Timing]) -> None:
    by_label = {timing.label: timing.seconds for timing in timings}
    for timing in timings:
        print(f"{timing.label:36} {timing.seconds:6.2f} s   {timing.detail}")
    gate = by_label["gate, SQL edit (warm)"]
    parse = by_label["dbt-checkpoint dbt-parse hook"]
    print()
    print(f"gate (SQL edit) / target {TARGET_SECONDS:.0f} s            {gate / TARGET_SECONDS:6.2f}")
    print(f"gate (SQL edit) / slowest hook             {gate / max(by_label['slowest single hook'], 1e-9):6.2f}")
    print(f"gate (SQL edit) / dbt-parse hook alone     {gate / parse:6.2f}")
    print(f"gate (graph edit) / dbt-parse hook alone   {by_label['gate, graph edit (warm)'] / parse:6.2f}")
    print(f"dbt-manifest fresh / dbt-parse hook        {by_label['dbt-manifest hook, fresh'] / parse:6.2f}")
    print(f"dbt-manifest forced / dbt-parse hook       {by_label['dbt-manifest hook, forced parse'] / parse:6.2f}")
    batched, single = by_label["dbt-checkpoint checks, batched"], by_label["dbt-checkpoint checks, one by one"]
    print(f"checks batched / one by one                {batched / single:6.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dbt/models/marts/facts/fct_orders.sql", help="the model to touch")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--no-bytecode-cache", action="store_true", help="run with PYTHONDONTWRITEBYTECODE=1")
    args = parser.parse_args(argv)
    if not MIRROR.is_dir():
        print(f"the dbt-checkpoint mirror is missing at {MIRROR}", file=sys.stderr)
        return 2
    env = environment(bytecode_cache=not args.no_bytecode_cache)
    with tempfile.TemporaryDirectory(prefix="bench_precommit_") as scratch:
        repo = Path(scratch)
        copy_repository(repo)
        write_bench_config(repo)
        run(repo, env, "git", "init", "--quiet", "--initial-branch", "main")
        run(repo, env, "git", "add", "--all")
        run(repo, env, "git", "commit", "--quiet", "--no-verify", "-m", "chore: bench snapshot")
        warm_seconds, warm = timed(repo, env, sys.executable, "-m", "pre_commit", "run", "--all-files")
        run(
            repo,
            env,
            sys.executable,
            "-m",
            "pre_commit",
            "run",
            "-c",
            BENCH_CONFIG,
            "--hook-stage",
            "manual",
            "dbt-parse",
            "--files",
            args.model,
        )
        print(
            f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; bytecode cache "
            f"{'off' if args.no_bytecode_cache else 'on'}; warm-up `pre-commit run --all-files` "
            f"{warm_seconds:.1f} s ({'passed' if warm.returncode == 0 else 'FAILED'})"
        )
        report(measure(repo, env, args.model, args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
