"""Node timings of earlier runs, read from `artifacts/runs/*/run_results.json`, for regression checks."""

from __future__ import annotations

from pathlib import Path

from quality.observability.artifacts import list_runs
from quality.observability.errors import RunArtifactsError
from quality.observability.run_record import RUN_RESULTS, node_timings, read_json_file


def previous_timings(runs_root: Path, current_run_dir: Path, limit: int) -> list[dict[str, float]]:
    """Timings of up to `limit` runs before the current one (run folders sort by their timestamped ids).

    A folder without run_results.json, or whose file is unreadable, is skipped: history is best effort.
    """
    current = current_run_dir.resolve()
    earlier: list[dict[str, float]] = []
    for run_dir in list_runs(runs_root):
        if run_dir.resolve() == current:
            break
        try:
            payload = read_json_file(run_dir / RUN_RESULTS)
        except RunArtifactsError:
            continue
        if payload is not None:
            earlier.append(node_timings(payload))
    return earlier[-limit:] if limit > 0 else []
