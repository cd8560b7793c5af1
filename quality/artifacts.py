"""Where each run keeps its artifacts: `artifacts/runs/<run id>/` with dbt's manifest and run_results,
the gate's JSON report, the publish record and GX Data Docs."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_ROOT = Path("artifacts/runs")


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
