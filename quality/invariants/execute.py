"""Run planned invariants through an Engine (plain SQL that DuckDB and Databricks both run)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quality.engines.base import Engine
from quality.invariants.model import Finding
from quality.invariants.planner import Plan, engine_columns, plan_invariants, project_vars


@dataclass
class InvariantReport:
    checked: list[str] = field(default_factory=list)  # "<invariant> on <model> (<columns>)"
    findings: list[Finding] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def describe(self) -> str:
        return "\n".join(finding.describe() for finding in self.findings)

    def as_dicts(self) -> list[dict[str, Any]]:
        """One entry per check: what was checked, and for a failure how many rows and which examples."""
        failed = {f"{f.invariant} on {f.model} ({', '.join(f.columns)})" for f in self.findings}
        passed = [{"check": check, "success": True} for check in self.checked if check not in failed]
        return passed + [
            {
                "check": f"{f.invariant} on {f.model} ({', '.join(f.columns)})",
                "success": False,
                "invariant": f.invariant,
                "model": f.model,
                "columns": list(f.columns),
                "count": f.count,
                "examples": f.examples,
                "error": f.error,
            }
            for f in self.findings
        ]


def run_invariants(engine: Engine, plan: Plan) -> InvariantReport:
    """Evaluate every check; one that cannot be evaluated is reported as an error finding, never skipped."""
    report = InvariantReport(skipped=list(plan.skipped))
    for check in plan.checks:
        report.checked.append(f"{check.invariant} on {check.model} ({', '.join(check.columns)})")
        try:
            finding = check.evaluate(engine)
        except Exception as error:  # a harness error (SQL the engine refused): reported, blocks the publish
            message = (str(error).strip().splitlines() or [type(error).__name__])[0]
            finding = Finding(check.invariant, check.model, check.columns, 0, [], check.rule, error=message)
        if finding is not None:
            report.findings.append(finding)
    return report


def check_invariants(
    engine: Engine, manifest: dict[str, Any], project_vars: dict[str, Any] | None = None
) -> InvariantReport:
    """Plan the project's invariants from a manifest with compiled SQL and run them on its built relations."""
    return run_invariants(engine, plan_invariants(manifest, engine_columns(engine), project_vars))


def check_build(
    engine: Engine, target_path: Path, project_root: Path, project_name: str, dbt_vars: dict[str, Any] | None = None
) -> InvariantReport:
    """The invariants of a finished build: its manifest (target_path/manifest.json, compiled SQL included)
    planned against the relations it built. A build that wrote no manifest has nothing to check."""
    manifest_path = target_path / "manifest.json"
    if not manifest_path.is_file():
        return InvariantReport()
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return check_invariants(engine, manifest, project_vars(project_root, project_name, dbt_vars))
