"""Where each run keeps its artifacts: `artifacts/runs/<run id>/` with dbt's manifest and run_results,
the gate's JSON report, the publish record and GX Data Docs.

Run folders (these, and the plugin's `artifacts/pytest/<schema base>/`) are pruned at the end of each gate
and pytest session to the newest QUALITY_KEEP_RUNS runs (default 20): see `prune_runs`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quality.errors import UsageError

DEFAULT_ROOT = Path("artifacts/runs")
DEFAULT_KEEP_RUNS = 20
KEEP_RUNS_ENV = "QUALITY_KEEP_RUNS"
# `<yyyymmdd>t<hhmmss>_<run id>` in a folder name: a gate run folder, or an ephemeral base (`dev_..._gw0`).
_RUN_KEY = re.compile(r"(?:^|_)(\d{8}t\d{6}_[0-9a-f]{6})(?:_gw\d+)?$")
# What a pruned run keeps when it published: `quality rollback` and prod_smoke read these records.
RECORDS = ("publish.json", "report.json")


@dataclass(frozen=True)
class RunArtifacts:
    root: Path

    @classmethod
    def create(cls, run_id: str, root: Path = DEFAULT_ROOT) -> RunArtifacts:
        folder = (root / run_id).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return cls(folder)

    @property
    def report_path(self) -> Path:
        return self.root / "report.json"

    @property
    def publish_path(self) -> Path:
        return self.root / "publish.json"

    @property
    def data_docs_dir(self) -> Path:
        return self.root / "data_docs"

    def keep_dbt_artifacts(self, target_path: Path) -> None:
        """Copy manifest.json and run_results.json of a dbt target folder into the run folder."""
        for name in ("manifest.json", "run_results.json"):
            source = target_path / name
            if source.is_file():
                shutil.copyfile(source, self.root / name)

    def write_json(self, path: Path, payload: Any) -> Path:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
        temporary.replace(path)
        return path


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def list_runs(root: Path = DEFAULT_ROOT) -> list[Path]:
    """Run folders, oldest first (run ids start with a UTC timestamp)."""
    return sorted(path for path in root.glob("*") if path.is_dir()) if root.is_dir() else []


def keep_runs_setting(value: str | None = None) -> int:
    """How many runs to keep: the given text, else QUALITY_KEEP_RUNS, else 20; refuses what is no count."""
    text = (value if value is not None else os.environ.get(KEEP_RUNS_ENV, "")).strip()
    if not text:
        return DEFAULT_KEEP_RUNS
    if not text.isdigit():
        raise UsageError(
            f"{KEEP_RUNS_ENV}={text!r}: give the number of run folders to keep, e.g. 20 (0 keeps only the current run)."
        )
    return int(text)


def prune_runs(root: Path, keep: int, *, current: str) -> list[Path]:
    """Remove the run folders of all but the newest `keep` runs under root; returns the folders removed.

    A run is named by the `<yyyymmdd>t<hhmmss>_<run id>` in its folder names, so the folders of one run's
    xdist workers count as one run; the run whose id is `current` is always kept, folders of another shape
    (`prod_manifest_<target>`) are never touched, and a run that published keeps its records (RECORDS).
    """
    runs: dict[str, list[Path]] = {}
    for path in root.iterdir() if root.is_dir() else []:
        match = _RUN_KEY.search(path.name)
        if match and path.is_dir():
            runs.setdefault(match.group(1), []).append(path)
    older = [key for key in sorted(runs) if not key.endswith(f"_{current}")]
    room = max(keep - (len(runs) - len(older)), 0)  # the current run takes one of the `keep` places
    removed: list[Path] = []
    for key in older[: max(len(older) - room, 0)]:
        for folder in runs[key]:
            removed.append(folder)
            _remove_run(folder)
    return removed


def _remove_run(folder: Path) -> None:
    if not (folder / "publish.json").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        return
    for path in folder.iterdir():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.name not in RECORDS:
            path.unlink(missing_ok=True)
