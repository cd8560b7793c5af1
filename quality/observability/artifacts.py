"""Where each run keeps its artifacts: `artifacts/runs/<run id>/` with dbt's manifest and run_results,
the gate's JSON report, the publish record and GX Data Docs.

Run folders (these, and the plugin's `artifacts/pytest/<schema base>/`) are pruned at the end of each gate
and pytest session to the newest QUALITY_KEEP_RUNS runs (default 20) and then, oldest first, until they take
at most QUALITY_KEEP_SIZE (default 500MB): see `prune_runs`. They hold artifacts, never dbt's caches
(`quality.dbt.runner.CACHE_FILES`: the parse state lives in .quality/cache/partial_parse). Files that are the same
in every run (GX Data Docs' static images, fonts and styles: 4 MB a run) are kept once, in SHARED_DIR next to
the folder of runs (`artifacts/.shared`, not among the runs), and hard-linked into each run (`share_identical`);
`prune_runs` drops what no run links.
"""

from __future__ import annotations

import contextlib
import hashlib
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
DEFAULT_KEEP_SIZE = "500MB"
KEEP_SIZE_ENV = "QUALITY_KEEP_SIZE"
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)?", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
# `<yyyymmdd>t<hhmmss>_<run id>` in a folder name: a gate run folder, or an ephemeral base (`dev_..._gw0`).
_RUN_KEY = re.compile(r"(?:^|_)(\d{8}t\d{6}_[0-9a-f]{6})(?:_gw\d+)?$")
# What a pruned run keeps when it published: `quality rollback` and prod_smoke read these records.
RECORDS = ("publish.json", "report.json")
SHARED_DIR = ".shared"  # beside a runs root: one copy of each file runs have in common, hard-linked into them


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

    def share_data_docs_assets(self) -> int:
        """Keep the Data Docs' static assets once for all runs; returns bytes saved."""
        return share_data_docs_assets(self.data_docs_dir, self.root.parent)

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


def share_data_docs_assets(data_docs_dir: Path, runs_root: Path) -> int:
    """`share_identical` for the static assets of a Data Docs site in a run folder under `runs_root` (the
    folder `prune_runs` prunes, which must be the same to drop what no run links any more)."""
    return share_identical(data_docs_dir / "static", runs_root)


def share_identical(folder: Path, runs_root: Path) -> int:
    """Replace each file under `folder` by a hard link to one copy of its content in SHARED_DIR beside the
    runs root (the first run's file becomes that copy); returns the bytes no longer stored twice. A file
    system without hard links keeps the files as they are."""
    store = _store(runs_root)
    saved = 0
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if not path.is_file() or path.is_symlink() or path.stat().st_nlink > 1:
            continue  # not a file, or shared already (a site rebuilt in the same folder keeps its links)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        shared = store / digest[:2] / digest
        try:
            shared.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):  # another run stored it first
                os.link(path, shared)
                continue
            if not path.samefile(shared):
                linked = path.with_name(f"{path.name}.{os.getpid()}.link")
                os.link(shared, linked)
                saved += path.stat().st_size
                linked.replace(path)
        except OSError:
            continue
    return saved


def _store(runs_root: Path) -> Path:
    """Where runs under `runs_root` keep their shared files: beside it, so a listing of runs never sees it."""
    return runs_root.resolve().parent / SHARED_DIR


def _prune_shared(runs_root: Path) -> None:
    """Drop the shared copies no run links any more (only the store holds them)."""
    store = _store(runs_root)
    for path in store.rglob("*") if store.is_dir() else []:
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_nlink == 1:
                path.unlink()


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


def keep_size_setting(value: str | None = None) -> int:
    """The most bytes run folders may take: the given text, else QUALITY_KEEP_SIZE, else 500MB; refuses what is
    no size. Units B, KB, MB, GB, TB (powers of 1000; none is bytes); 0 keeps only the current run."""
    text = (value if value is not None else os.environ.get(KEEP_SIZE_ENV, "")).strip() or DEFAULT_KEEP_SIZE
    match = _SIZE.fullmatch(text)
    if match is None:
        raise UsageError(
            f"{KEEP_SIZE_ENV}={text!r}: give the most disk space run folders may take, e.g. 500MB or 2GB "
            "(units B, KB, MB, GB, TB; 0 keeps only the current run)."
        )
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "B").upper()])


def prune_runs(root: Path, keep: int, *, current: str, max_bytes: int | None = None) -> list[Path]:
    """Remove the run folders of all but the newest `keep` runs under root, then, oldest first, those that
    make the runs take more than `max_bytes` (None: no limit); returns the folders removed.

    A run is named by the `<yyyymmdd>t<hhmmss>_<run id>` in its folder names, so the folders of one run's
    xdist workers count as one run; the run whose id is `current` is always kept, folders of another shape
    (`prod_manifest_<target>`) are never touched, and a run that published keeps its records (RECORDS).
    """
    runs = _runs(root)
    older = [key for key in sorted(runs) if not key.endswith(f"_{current}")]
    room = max(keep - (len(runs) - len(older)), 0)  # the current run takes one of the `keep` places
    removed: list[Path] = []
    cut = max(len(older) - room, 0)
    for key in older[:cut]:
        removed += _remove_folders(runs[key])
    if max_bytes is not None:
        sizes = {key: sum(_size(folder) for folder in folders) for key, folders in runs.items()}
        total = sum(sizes.values())
        for key in older[cut:]:
            if total <= max_bytes:
                break
            removed += _remove_folders(runs[key])
            total -= sizes[key] - sum(_size(folder) for folder in runs[key])
    _prune_shared(root)
    return removed


def _runs(root: Path) -> dict[str, list[Path]]:
    runs: dict[str, list[Path]] = {}
    for path in root.iterdir() if root.is_dir() else []:
        match = _RUN_KEY.search(path.name)
        if match and path.is_dir():
            runs.setdefault(match.group(1), []).append(path)
    return runs


def _remove_folders(folders: list[Path]) -> list[Path]:
    for folder in folders:
        _remove_run(folder)
    return list(folders)


def _size(root: Path) -> int:
    """Bytes of the files under root (0 when it does not exist; a file removed meanwhile counts 0)."""
    total = 0
    for path in root.rglob("*") if root.is_dir() else []:
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
    return total


def _remove_run(folder: Path) -> None:
    if not (folder / "publish.json").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        return
    for path in folder.iterdir():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.name not in RECORDS:
            path.unlink(missing_ok=True)
