"""Warnings are not a way through: a warning the last publish did not have fails the gate.

A dbt data test that warns (severity warn, or its `warn_if` tripped) and a GX expectation of severity warn
that fails are warnings. Each has an identity: a dbt test its `unique_id`, an expectation its model, column,
expectation name and description. The gate compares this run's warnings with those of the last published
run of the target: a warning whose identity that run did not have is new and fails the gate, unless the
gate was run with `--accept-new-warnings` (recorded in report.json and the publish record).

Where the last publish's warnings come from, first found wins:

1. the warehouse, table `quality.publish_warnings` (one row per published run, written right after the
   publish). It is chosen because it lives next to prod and next to `quality.publish_log`, which says which
   run is the last published one: it works wherever the gate runs, a Databricks job included, whose run
   folders are gone with its cluster. It is a table of its own, not a column of `publish_log`, so the
   publish record that rollback, prod smoke and the atomic publish rely on keeps its shape.
2. report.json of that run in the artifacts folder (a run published before the table existed, or one
   whose warnings row was not written because the process died between the publish and that row).
3. neither: the last publish's warnings are unknown, so every warning counts as new (fail closed).

With no published run at all (the first publish of the target, or every publish rolled back) there is no
baseline: warnings are reported and recorded, and do not fail the gate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from quality.engines import run_log
from quality.engines.base import Engine

TABLE = "publish_warnings"
FLAG = "--accept-new-warnings"


@dataclass(frozen=True)
class GateWarning:
    """One warning of a run: a dbt test that warned or a GX expectation of severity warn that failed."""

    key: str  # identity across runs: a test's unique_id; `expectation:model:column:name:description`
    kind: str  # "test" or "expectation"
    name: str
    model: str | None
    column: str | None
    count: Any  # failing rows of a test; unexpected count (else observed value) of an expectation
    counted: str = "failing row(s)"  # what `count` counts: "failing row(s)", "unexpected" or "observed"
    detail: str | None = None  # dbt's "configured to warn if != 0", or the expectation's description
    new: bool = False

    def describe(self) -> str:
        """`test <name> on model m, column c: 3 failing row(s) (configured to warn if != 0)`."""
        where = f" on model {self.model}" if self.model else ""
        where += f", column {self.column}" if self.column else ""
        if self.count is None:
            count = ""
        elif self.counted == "observed":
            count = f": observed {self.count!r}"
        else:
            count = f": {self.count} {self.counted}"
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.kind} {self.name}{where}{count}{detail}{' [new]' if self.new else ''}"


@dataclass(frozen=True)
class Baseline:
    """The last published run of the target and its warnings' identities (None: unknown)."""

    run_id: str
    keys: frozenset[str] | None


def collect(tests: Sequence[Mapping[str, Any]], expectations: Sequence[Mapping[str, Any]]) -> list[GateWarning]:
    """The warnings among a report's tests and expectations (as report.json holds them)."""
    found = [_test_warning(test) for test in tests if test.get("status") == "warn"]
    found += [_expectation_warning(e) for e in expectations if not e.get("success") and e.get("severity") == "warn"]
    return found


def _test_warning(test: Mapping[str, Any]) -> GateWarning:
    message = str(test.get("message") or "")
    return GateWarning(
        key=str(test.get("unique_id") or test["name"]),
        kind="test",
        name=str(test["name"]),
        model=test.get("model"),
        column=test.get("column"),
        count=test.get("failures"),
        detail=message[message.index("configured") :] if "configured to warn" in message else None,
    )


def _expectation_warning(expectation: Mapping[str, Any]) -> GateWarning:
    model, column, name = str(expectation["model"]), expectation.get("column"), str(expectation["expectation"])
    description = expectation.get("description")
    count = expectation.get("unexpected_count")
    return GateWarning(
        key=f"expectation:{model}:{column or ''}:{name}:{description or ''}",
        kind="expectation",
        name=name,
        model=model,
        column=column,
        count=count if count is not None else expectation.get("observed_value"),
        counted="unexpected" if count is not None else "observed",
        detail=description,
    )


def mark_new(warnings: Sequence[GateWarning], baseline: Baseline | None) -> list[GateWarning]:
    """Each warning marked new when the last publish did not have it (never, with no publish yet)."""
    if baseline is None:
        return list(warnings)
    known = baseline.keys or frozenset()
    return [replace(warning, new=warning.key not in known) for warning in warnings]


def failure(warnings: Sequence[GateWarning], baseline: Baseline | None) -> str | None:
    """The gate's message for the new warnings, or None when there is none."""
    new = [warning for warning in warnings if warning.new]
    if not new or baseline is None:
        return None
    since = (
        f"the last publish (run {baseline.run_id})"
        if baseline.keys is not None
        else f"the last publish (run {baseline.run_id}, whose warnings are not recorded: every warning counts as new)"
    )
    lines = [f"{len(new)} new warning(s), which {since} did not have:"]
    lines += [f"  - {warning.describe()}" for warning in new]
    lines.append(
        f"Warnings are not a way through: fix them, or pass {FLAG} to publish with them (it is recorded in "
        "report.json and in the publish record)."
    )
    return "\n".join(lines)


def baseline(engine: Engine, target: str, artifacts_root: Path) -> Baseline | None:
    """The last published run of the target and its warnings; None when the target has none."""
    published = [r for r in run_log.records(engine, target) if r["status"] == run_log.PUBLISHED]
    if published:  # the newest by publish time: two runs started in one second sort by their random part
        run_id = str(max(published, key=lambda r: (str(r["published_at"] or ""), str(r["run_id"])))["run_id"])
        keys = _warehouse_keys(engine, run_id)
        return Baseline(run_id, keys if keys is not None else _report_keys(artifacts_root / run_id))
    if run_log.kept_in(engine):
        return None
    return _last_published_run_folder(artifacts_root, target)


def _warehouse_keys(engine: Engine, run_id: str) -> frozenset[str] | None:
    if not run_log.kept_in(engine) or not engine.relation_exists(run_log.LOG_SCHEMA, TABLE):
        return None
    rows = engine.query(f"select warnings from {_ref(engine)} where run_id = ?", [run_id])
    if not rows:
        return None
    return frozenset(str(item["key"]) for item in json.loads(rows[0][0]))


def _report_keys(folder: Path) -> frozenset[str] | None:
    """The warnings of a published run by its report.json (its own record, or computed from its results)."""
    try:
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if report.get("status") != "published":
        return None
    if isinstance(report.get("warnings"), list):
        return frozenset(str(item["key"]) for item in report["warnings"])
    return frozenset(w.key for w in collect(report.get("tests", []), report.get("expectations", [])))


def _last_published_run_folder(root: Path, target: str) -> Baseline | None:
    """For an engine with no warehouse record: the newest run folder that published to the target."""
    published = [folder for folder in root.glob("*") if (folder / "publish.json").is_file()]
    for folder in sorted(published, key=lambda folder: (folder / "publish.json").stat().st_mtime, reverse=True):
        try:
            record = json.loads((folder / "publish.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if record.get("target") == target:
            return Baseline(folder.name, _report_keys(folder))
    return None


def record(engine: Engine, run_id: str, target: str, warnings: Sequence[GateWarning]) -> None:
    """Keep the published run's warnings in the warehouse for the next gate (DuckDB and Databricks)."""
    if not run_log.kept_in(engine):
        return
    engine.create_schema(run_log.LOG_SCHEMA)
    kept = json.dumps([asdict(warning) for warning in warnings], default=str)
    run_log.keep_run_value(engine, TABLE, "warnings", run_id, target, kept)


def _ref(engine: Engine) -> str:
    return engine.relation_ref(run_log.LOG_SCHEMA, TABLE)
