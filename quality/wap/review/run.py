"""`quality pr`: the data change review, end to end.

    base commit ─► its project written out of git ─► built on the raw data, batch after batch (twice: what
    differs between two builds of the same code is volatile) ─► cached ─► the working tree built the same way
    ─► every relation compared by key ─► each change declared, or the review fails

Nothing is published: every build lands in ephemeral workspaces (on DuckDB a database file of the review's
own, deleted at the end; on Databricks schemas under ephemeral bases, dropped at the end).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quality.dbt.project import DbtProject, load_project
from quality.dbt.schemas import drop_ephemeral, new_run_id
from quality.dbt.targets import Target
from quality.engines.kinds import engine_kind
from quality.errors import QualityError
from quality.harness.workspace import Workspace
from quality.wap.review import cache
from quality.wap.review.against_prod import DEFAULT_SAMPLE, ProdReport, compare_with_prod, holds_prod
from quality.wap.review.build import BuiltRevision, Relation, build_revision, open_revision_workspace
from quality.wap.review.compare import Comparison, Volatility, compare_revisions, find_volatile
from quality.wap.review.declarations import DeclarationSet, check_columns, read_declarations
from quality.wap.review.findings import Finding, findings_of
from quality.wap.review.revision import BaseRevision, resolve_base, write_project
from quality.wap.review.unseen import unseen_changes

REVIEW_DIR = Path(".quality/pr")
DEFAULT_EXAMPLES = 3


@dataclass
class ReviewOptions:
    base: str | None = None
    batches: list[Path] = field(default_factory=list)
    dbt_vars: dict[str, Any] = field(default_factory=dict)
    artifacts_root: Path = Path("artifacts/pr")
    examples: int = DEFAULT_EXAMPLES
    use_cache: bool = True
    against_prod: bool = True  # where the target holds prod: the change's models against it, as a report
    prod_sample: int = DEFAULT_SAMPLE


@dataclass
class Review:
    base: BaseRevision
    batches: list[Path]
    comparisons: list[Comparison]
    findings: list[Finding]
    declarations: DeclarationSet
    volatile: dict[str, Volatility]
    base_cached: bool
    artifacts_dir: Path
    timings: dict[str, float] = field(default_factory=dict)
    prod: ProdReport | None = None  # the change's models against prod, on a sample of keys
    prod_note: str = ""  # why there is no prod report

    @property
    def undeclared(self) -> list[Finding]:
        return [finding for finding in self.findings if not finding.declared]

    @property
    def ok(self) -> bool:
        return not self.undeclared


@dataclass
class _Session:
    """The review's workspaces and database file, released whatever happens."""

    target: Target
    database: Path | None
    workspaces: list[Workspace] = field(default_factory=list)

    def release(self, workspace: Workspace) -> None:
        from quality.harness.shared_build import release_dbt_connections

        workspace.engine.close()
        release_dbt_connections()

    def close(self) -> None:
        from quality.harness.shared_build import release_dbt_connections

        for workspace in self.workspaces:
            with contextlib.suppress(Exception):
                if self.database is None:  # schemas in the target's catalog: drop them
                    drop_ephemeral(workspace.engine, workspace.base)
            with contextlib.suppress(Exception):
                workspace.engine.close()
        release_dbt_connections()
        if self.database is not None:
            for leftover in self.database.parent.glob(f"{self.database.name}*"):
                leftover.unlink(missing_ok=True)


def review(
    project: DbtProject, target: Target, options: ReviewOptions, announce: Callable[[str], None] = lambda _: None
) -> Review:
    """Build the base and the working tree on the same raw data and compare them; see the module docstring."""
    base = resolve_base(project.root, options.base)
    run_id = new_run_id()
    artifacts_dir = (options.artifacts_root / f"{datetime.now(UTC):%Y%m%dt%H%M%S}_{run_id}").resolve()
    database = engine_kind(target).database_file_named(REVIEW_DIR, f"pr_{run_id}")
    session = _Session(target, database)
    timings: dict[str, float] = {}
    announce(f"base: {base.ref} ({base.sha[:12]}); raw data: {_batches_text(options.batches)}")
    try:
        base_build, volatile, cached = _base_build(
            project, base, options, session, run_id, artifacts_dir, timings, announce
        )
        announce("building the working tree")
        with _timed(timings, "head_build"):
            head_ws = _workspace(project, session, "prhead", run_id, artifacts_dir, options)
            head = build_revision(head_ws, "working tree", options.batches)
        with _timed(timings, "compare"):
            comparisons = compare_revisions(head_ws.engine, base_build, head, volatile, examples=options.examples)
        declarations = read_declarations(head.manifest, base_build.manifest)
        check_columns(declarations, _known_columns(base_build, head))
        unseen = unseen_changes(base_build.manifest, head.manifest, target.engine)
        findings = findings_of(comparisons, declarations, unseen)
    finally:
        session.close()
    result = Review(
        base, options.batches, comparisons, findings, declarations, volatile, cached, artifacts_dir, timings
    )
    if options.against_prod:
        with _timed(timings, "against_prod"):
            _against_prod(result, project, target, base_build.manifest, options, run_id, announce)
    return result


def _against_prod(
    result: Review,
    project: DbtProject,
    target: Target,
    base_manifest: dict[str, Any],
    options: ReviewOptions,
    run_id: str,
    announce: Callable[[str], None],
) -> None:
    """The report against prod, where the target holds one; a failure there is reported, never fatal."""
    if not holds_prod(target):
        result.prod_note = f"{target.describe()} holds no prod here"
        return
    announce(f"comparing the changed models with prod on {target.describe()} (a sample of {options.prod_sample} keys)")
    try:
        result.prod = compare_with_prod(
            project,
            target,
            base_manifest,
            dbt_vars=options.dbt_vars,
            artifacts_dir=result.artifacts_dir,
            run_id=run_id,
            sample=options.prod_sample,
        )
    except QualityError as error:
        result.prod_note = f"not compared: {error}"
        return
    if result.prod is None:
        result.prod_note = f"nothing of this project is published on {target.describe()}"


def _base_build(
    project: DbtProject,
    base: BaseRevision,
    options: ReviewOptions,
    session: _Session,
    run_id: str,
    artifacts_dir: Path,
    timings: dict[str, float],
    announce: Callable[[str], None],
) -> tuple[BuiltRevision, dict[str, Volatility], bool]:
    """The base's build and its volatile columns: from the cache, or built twice (and then cached)."""
    key = cache.cache_key(base.project_tree, options.batches, session.target.name, options.dbt_vars)
    found = cache.lookup(key) if options.use_cache and session.database is not None else None
    if found is not None and session.database is not None:
        announce("base build reused from the cache (same base project and raw data)")
        cache.restore(found, session.database)
        return _from_record(found.record), _volatile_from(found.record), True
    base_project = _base_project(project, base)
    announce(f"building the base {base.sha[:12]} (twice: what differs between two builds is volatile)")
    with _timed(timings, "base_build"):
        first_ws = _workspace(base_project, session, "prbase", run_id, artifacts_dir, options)
        first = build_revision(first_ws, f"base revision {base.sha[:12]}", options.batches)
    with _timed(timings, "base_rebuild"):
        second_ws = _workspace(base_project, session, "prrerun", run_id, artifacts_dir, options)
        second = build_revision(second_ws, f"base revision {base.sha[:12]}", options.batches)
        volatile = find_volatile(second_ws.engine, first, second)
        drop_ephemeral(second_ws.engine, second_ws.base)
        session.workspaces.remove(second_ws)
    if session.database is not None and options.use_cache:
        for workspace in (first_ws, second_ws):
            session.release(workspace)
        session.workspaces.remove(first_ws)
        cache.store(key, session.database, _record(first, volatile))
    return first, volatile, False


def _workspace(
    project: DbtProject, session: _Session, prefix: str, run_id: str, artifacts_dir: Path, options: ReviewOptions
) -> Workspace:
    workspace = open_revision_workspace(
        project,
        session.target,
        prefix=prefix,
        artifacts_root=artifacts_dir,
        duckdb_file=session.database,
        dbt_vars=options.dbt_vars,
        run_id=run_id,
    )
    session.workspaces.append(workspace)
    return workspace


def _base_project(project: DbtProject, base: BaseRevision) -> DbtProject:
    """The base's project folder, written out of git; with the working tree's installed packages and profiles."""
    # One folder per project tree, so dbt's partial parse of the base is reused from one review to the next.
    folder = REVIEW_DIR.resolve() / "base_projects" / base.project_tree[:16]
    shutil.rmtree(folder, ignore_errors=True)
    _prune(folder.parent, keep=cache.KEEP_ENTRIES - 1)
    root = write_project(base, folder)
    installed = project.root / "dbt_packages"
    if installed.is_dir() and not (root / "dbt_packages").exists():
        os.symlink(installed, root / "dbt_packages", target_is_directory=True)
    return load_project(root, project.profiles_dir)


def _prune(folder: Path, *, keep: int) -> None:
    """Keep the newest `keep` base projects (the one being written makes it one more)."""
    if not folder.is_dir():
        return
    older = sorted(folder.iterdir(), key=lambda path: path.stat().st_mtime, reverse=True)[keep:]
    for path in older:
        shutil.rmtree(path, ignore_errors=True)


def _record(build: BuiltRevision, volatile: dict[str, Volatility]) -> dict[str, Any]:
    return {
        "label": build.label,
        "base": build.base,
        "manifest": build.manifest,
        "relations": {
            uid: {"schema": r.schema, "alias": r.alias, "columns": r.columns, "approximate": sorted(r.approximate)}
            for uid, r in build.relations.items()
        },
        "volatile": {uid: v.as_dict() for uid, v in volatile.items()},
    }


def _from_record(record: dict[str, Any]) -> BuiltRevision:
    manifest = record["manifest"]
    relations = {
        uid: Relation(
            uid,
            manifest["nodes"][uid]["name"],
            manifest["nodes"][uid]["resource_type"],
            entry["schema"],
            entry["alias"],
            tuple(entry["columns"]),
            manifest["nodes"][uid],
            frozenset(entry.get("approximate", [])),
        )
        for uid, entry in record["relations"].items()
    }
    return BuiltRevision(record["label"], record["base"], manifest, relations)


def _volatile_from(record: dict[str, Any]) -> dict[str, Volatility]:
    return {uid: Volatility.from_dict(entry) for uid, entry in record.get("volatile", {}).items()}


def _known_columns(base: BuiltRevision, head: BuiltRevision) -> dict[str, set[str]]:
    known: dict[str, set[str]] = {}
    for build in (base, head):
        for relation in build.relations.values():
            known.setdefault(relation.name, set()).update(relation.columns)
    return known


def _batches_text(batches: list[Path]) -> str:
    return ", ".join(str(batch) for batch in batches) if batches else "the project's seeds (no raw fixtures)"


@contextlib.contextmanager
def _timed(timings: dict[str, float], step: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[step] = round(time.perf_counter() - started, 3)
