"""The review's report against prod: what the change's models would hold on prod's own data.

Where the target holds a published prod, the models the change touches (changed since the base, and their
children) are built once more, on prod's raw data, reading every unchanged parent from prod (dbt's
`--defer`), and each is compared with its prod relation on a bounded sample of keys. It is a report, never
a verdict: prod's data is not the review's raw data, so a difference may be prod's own. Nothing is
published; the workspace's schemas are dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quality.dbt.project import DbtProject
from quality.dbt.runner import DbtInvoker
from quality.dbt.selection import changed_and_children
from quality.dbt.targets import Target
from quality.engines.base import Engine
from quality.engines.kinds import engine_kind
from quality.harness.workspace import open_workspace
from quality.wap.diff import ModelDiff, comparison_key, diff_model, inferred_key, relation_columns
from quality.wap.gate import PARSE_CACHE
from quality.wap.review.build import BUILT_TYPES

DEFAULT_SAMPLE = 1000


@dataclass
class ProdReport:
    sample: int
    diffs: list[ModelDiff] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # relation -> why it was not compared


def holds_prod(target: Target) -> bool:
    """Whether the target can hold a published prod here: a remote warehouse, or a database file that exists."""
    path = engine_kind(target).database_file(target)
    return path is None or path.is_file()


def compare_with_prod(
    project: DbtProject,
    target: Target,
    base_manifest: dict[str, Any],
    *,
    dbt_vars: dict[str, Any],
    artifacts_dir: Path,
    run_id: str,
    sample: int = DEFAULT_SAMPLE,
) -> ProdReport | None:
    """Build what changed since the base on prod's data, deferred to prod, and compare a sample of keys
    with prod; None when the target holds no prod of this project."""
    prod = DbtInvoker(project, target, artifacts_dir / "prod_target", extra_vars=dict(dbt_vars), quiet=True)
    prod_manifest = prod.parse_cached(PARSE_CACHE)
    workspace = open_workspace(
        project, target, prefix="prprod", artifacts_root=artifacts_dir, run_id=run_id, separate_file=False,
        quiet=True, dbt_vars=dbt_vars,
    )  # fmt: skip
    try:
        if not _published(workspace.engine, prod_manifest):
            return None
        workspace.dbt.raw_schema = None  # prod's raw data
        workspace.parse()
        states = _write_states(artifacts_dir, base_manifest, prod_manifest)
        run = workspace.dbt.run(
            ["build", *BUILT_TYPES, "--select", *changed_and_children(), "--state", str(states[0]), "--defer",
             "--defer-state", str(states[1])],
            expect_pass=False,
        )  # fmt: skip
        built = [n.unique_id for n in run.nodes if n.status == "success" and n.resource_type == "model"]
        manifest = json.loads((workspace.dbt.target_path / "manifest.json").read_text(encoding="utf-8"))
        return _compare(workspace.engine, built, manifest, prod_manifest, sample)
    finally:
        workspace.close()


def _published(engine: Engine, prod_manifest: dict[str, Any]) -> bool:
    models = [n for n in prod_manifest.get("nodes", {}).values() if n.get("resource_type") == "model"]
    return any(engine.relation_exists(str(n["schema"]), str(n.get("alias") or n["name"])) for n in models[:20])


def _write_states(folder: Path, base: dict[str, Any], prod: dict[str, Any]) -> tuple[Path, Path]:
    paths = (folder / "state_base", folder / "state_prod")
    for path, manifest in zip(paths, (base, prod), strict=True):
        path.mkdir(parents=True, exist_ok=True)
        (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return paths


def _compare(
    engine: Engine, built: list[str], manifest: dict[str, Any], prod: dict[str, Any], sample: int
) -> ProdReport:
    report = ProdReport(sample)
    for unique_id in built:
        node, prod_node = manifest["nodes"][unique_id], prod["nodes"].get(unique_id)
        here = (str(node["schema"]), str(node.get("alias") or node["name"]))
        there = (str(prod_node["schema"]), str(prod_node.get("alias") or prod_node["name"])) if prod_node else None
        if there is None or not engine.relation_exists(*there):
            report.skipped[node["name"]] = "not in prod yet"
            continue
        head_ref, prod_ref = engine.relation_ref(*here), engine.relation_ref(*there)
        columns = (relation_columns(engine, *here), relation_columns(engine, *there))
        key = comparison_key(node, manifest) or inferred_key(engine, *columns, (head_ref, prod_ref))
        if not key:
            report.skipped[node["name"]] = "no key known (declare one under meta.quality.key)"
            continue
        keys = f"(select {key[0]} from {head_ref} union select {key[0]} from {prod_ref})"
        sampled = f"(select {key[0]} from {keys} k order by {key[0]} limit {sample})"
        diff = ModelDiff(
            node["name"],
            key,
            f"(select * from {head_ref} where {key[0]} in {sampled})",
            f"(select * from {prod_ref} where {key[0]} in {sampled})",
        )
        report.diffs.append(diff_model(engine, diff, *columns, examples=3))
    return report
