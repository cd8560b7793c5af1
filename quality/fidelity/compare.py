"""Cross-engine result equality: the same project, from the same raw data, on DuckDB and on Databricks.

Both engines get an ephemeral workspace and two batches: the raw fixtures, then the generator's second
batch (late order updates and customer changes, derived from the first batch's raw tables), so the
incremental merge and the snapshot run too. Every relation (model, seed, snapshot) is then compared by
key: row count, every value, and column types mapped across engines. A node that fails on one engine
only is a difference too.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from quality.dbt.project import DbtProject
from quality.dbt.schemas import new_run_id
from quality.dbt.targets import Target
from quality.engines.raw_csv import discover
from quality.harness.generate import apply_anomalies
from quality.harness.workspace import Workspace, open_workspace

RELATION_TYPES = frozenset({"model", "seed", "snapshot"})
SAMPLE_LIMIT = 5  # differences shown per relation and column
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Difference:
    relation: str
    kind: str  # "build" | "rows" | "columns" | "type" | "value" | "keys"
    detail: str
    column: str | None = None
    key: str | None = None

    def describe(self) -> str:
        where = self.relation + (f".{self.column}" if self.column else "")
        at = f" at {self.key}" if self.key else ""
        return f"{where}{at}: {self.detail}"


@dataclass
class FidelityReport:
    engines: tuple[str, str]
    relations: int = 0
    rows: int = 0
    differences: list[Difference] = field(default_factory=list)  # a sample: SAMPLE_LIMIT rows per relation/column
    seconds: dict[str, float] = field(default_factory=dict)
    differing_rows: int = 0  # all rows that differ (on one engine only, or with a differing value), not a sample

    @property
    def equal(self) -> bool:
        return not self.differences


@dataclass(frozen=True)
class Batches:
    first: Path  # raw fixtures folder
    late_updates: float = 0.05
    customer_changes: float = 0.05
    seed: int = 42


def run_fidelity(
    project: DbtProject,
    reference: Target,
    candidate: Target,
    batches: Batches,
    *,
    artifacts_root: Path,
    progress: Progress = lambda _: None,
) -> FidelityReport:
    """Build both targets from the same batches and compare every relation; DuckDB is `reference`."""
    report = FidelityReport((reference.name, candidate.name))
    run_id = new_run_id()
    discover(batches.first)  # a broken fixture folder fails here, before anything is built
    with ExitStack() as cleanup:
        workspaces = []
        for target in (reference, candidate):
            workspace = open_workspace(
                project, target, prefix="fidelity", artifacts_root=artifacts_root, run_id=run_id, quiet=True
            )
            cleanup.callback(workspace.close)
            workspaces.append(workspace)
        manifests = [_timed(report, f"parse {w.target.name}", w.parse) for w in workspaces]
        second_batch: dict[str, Any] = {}
        for number in (1, 2):
            for workspace in workspaces:
                progress(f"batch {number}: loading and building on {workspace.target.name}")
                started = time.perf_counter()
                if number == 1:
                    workspace.load_fixtures(batches.first)
                else:
                    second_batch = second_batch or _second_batch(workspaces[0], batches)
                    for table, frame in second_batch.items():
                        workspace.engine.load_frame(workspace.raw_schema, table, frame, replace=True)
                run = workspace.dbt.run(["build"], expect_pass=False)
                report.seconds[f"batch {number} {workspace.target.name}"] = time.perf_counter() - started
                for node in run.failed:
                    report.differences.append(
                        Difference(
                            node.name, "build", f"failed on {workspace.target.name}: {_first_line(node.message)}"
                        )
                    )
        progress("comparing every relation")
        started = time.perf_counter()
        _compare_all(report, workspaces, manifests)
        report.seconds["compare"] = time.perf_counter() - started
    return report


def _timed(report: FidelityReport, label: str, step: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    try:
        return step()
    finally:
        report.seconds[label] = time.perf_counter() - started


def _second_batch(reference: Workspace, batches: Batches) -> dict[str, Any]:
    """The generator's second batch, made from the first batch's raw tables as the reference loaded them."""
    engine = reference.engine
    tables = {
        name: engine.fetch_arrow(f"select * from {engine.relation_ref(reference.raw_schema, name)}").to_pandas()
        for name, kind in engine.list_relations(reference.raw_schema)
        if kind == "table"
    }
    return apply_anomalies(
        tables, late_updates=batches.late_updates, customer_changes=batches.customer_changes, seed=batches.seed
    )


# --- comparison -------------------------------------------------------------------------------------
def _compare_all(report: FidelityReport, workspaces: list[Workspace], manifests: list[dict[str, Any]]) -> None:
    failed = {d.relation for d in report.differences if d.kind == "build"}
    reference_nodes, candidate_nodes = (_relations(m) for m in manifests)
    for unique_id, node in sorted(reference_nodes.items()):
        if node["name"] in failed or unique_id not in candidate_nodes:
            continue
        tables = [
            w.engine.fetch_arrow(f"select * from {w.engine.relation_ref(n['schema'], n['alias'])}")
            for w, n in zip(workspaces, (node, candidate_nodes[unique_id]), strict=True)
        ]
        report.relations += 1
        report.rows += tables[0].num_rows
        comparison = compare_tables(node["name"], tables[0], tables[1], relation_key(node, manifests[0]))
        report.differences.extend(comparison.differences)
        report.differing_rows += comparison.differing_rows


def _relations(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        unique_id: node
        for unique_id, node in manifest.get("nodes", {}).items()
        if node.get("resource_type") in RELATION_TYPES and node.get("config", {}).get("materialized") != "ephemeral"
    }


def relation_key(node: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    """The columns that identify a row: unique_key (with dbt_valid_from for a snapshot), else a column with a
    `unique` test, else the primary key constraint; [] compares whole rows."""
    unique_key = node.get("config", {}).get("unique_key")
    keys = [unique_key] if isinstance(unique_key, str) else list(unique_key or [])
    if keys and node.get("resource_type") == "snapshot":
        return [*keys, "dbt_valid_from"]
    if keys:
        return keys
    for test in manifest.get("nodes", {}).values():
        metadata = test.get("test_metadata") or {}
        if metadata.get("name") == "unique" and test.get("attached_node") == node.get("unique_id"):
            column = metadata.get("kwargs", {}).get("column_name")
            if column:
                return [str(column)]
    for constraint in node.get("constraints", []):
        if constraint.get("type") == "primary_key" and constraint.get("columns"):
            return list(constraint["columns"])
    return []


@dataclass
class TableComparison:
    differences: list[Difference]  # the relation's schema differences, then a sample of its differing rows
    differing_rows: int = 0  # every row on one engine only or with a differing value


def compare_tables(name: str, reference: pa.Table, candidate: pa.Table, key: list[str]) -> TableComparison:
    ref_columns = {c.lower(): c for c in reference.column_names}
    cand_columns = {c.lower(): c for c in candidate.column_names}
    comparison = TableComparison(_schema_differences(name, reference, candidate, ref_columns, cand_columns))
    if reference.num_rows != candidate.num_rows:
        comparison.differences.append(
            Difference(name, "rows", f"{reference.num_rows} rows on DuckDB, {candidate.num_rows} on Databricks")
        )
    columns = [c for c in ref_columns if c in cand_columns]
    key = [k.lower() for k in key if k.lower() in cand_columns]
    ref_rows = _keyed(reference, ref_columns, columns, key)
    cand_rows = _keyed(candidate, cand_columns, columns, key)
    _compare_keys(comparison, name, key, ref_rows, cand_rows)
    _compare_values(comparison, name, key, columns, ref_rows, cand_rows)
    return comparison


Rows = dict[Any, tuple[Any, ...]]  # rows by key (see `_keyed`)


def _compare_keys(comparison: TableComparison, name: str, key: list[str], ref_rows: Rows, cand_rows: Rows) -> None:
    """Rows on one engine only: all counted, a sample shown."""
    missing = sorted(set(ref_rows) ^ set(cand_rows), key=repr)
    comparison.differing_rows = len(missing)
    for row_key in missing[:SAMPLE_LIMIT]:
        side = "DuckDB only" if row_key in ref_rows else "Databricks only"
        comparison.differences.append(Difference(name, "keys", f"row on {side}", key=_show_key(key, row_key)))


def _compare_values(
    comparison: TableComparison, name: str, key: list[str], columns: list[str], ref_rows: Rows, cand_rows: Rows
) -> None:
    """Rows on both engines with a differing value: all counted, a sample of SAMPLE_LIMIT per column shown."""
    shown: dict[str, int] = {}
    for row_key in sorted(set(ref_rows) & set(cand_rows), key=repr):
        pairs = zip(columns, ref_rows[row_key], cand_rows[row_key], strict=True)
        differing = [(column, a, b) for column, a, b in pairs if not same_value(a, b)]
        comparison.differing_rows += bool(differing)
        for column, a, b in differing:
            if shown.get(column, 0) < SAMPLE_LIMIT:
                shown[column] = shown.get(column, 0) + 1
                detail = f"{a!r} on DuckDB, {b!r} on Databricks"
                comparison.differences.append(Difference(name, "value", detail, column, _show_key(key, row_key)))


def _schema_differences(
    name: str, reference: pa.Table, candidate: pa.Table, ref_columns: dict[str, str], cand_columns: dict[str, str]
) -> list[Difference]:
    differences: list[Difference] = []
    if set(ref_columns) != set(cand_columns):
        only = sorted(set(ref_columns) ^ set(cand_columns))
        differences.append(Difference(name, "columns", f"columns differ: {', '.join(only)}"))
    for column in (c for c in ref_columns if c in cand_columns):
        ref_type = type_class(reference.schema.field(ref_columns[column]).type)
        cand_type = type_class(candidate.schema.field(cand_columns[column]).type)
        if ref_type != cand_type:
            differences.append(
                Difference(name, "type", f"type {ref_type} on DuckDB, {cand_type} on Databricks", column)
            )
    return differences


def _keyed(table: pa.Table, names: dict[str, str], columns: list[str], key: list[str]) -> dict[Any, tuple[Any, ...]]:
    """Rows by key; without a key, by the row itself numbered among its equal rows (a multiset)."""
    keyed: dict[Any, tuple[Any, ...]] = {}
    seen: Counter[tuple[Any, ...]] = Counter()
    for row in table.select([names[c] for c in columns]).to_pylist():
        values = tuple(normalized(value) for value in row.values())
        if key:
            keyed[tuple(values[columns.index(k)] for k in key)] = values
        else:
            keyed[(values, seen[values])] = values
            seen[values] += 1
    return keyed


def normalized(value: Any) -> Any:
    """One representation per value across engines: UTC-naive timestamps, floats rounded, decimals exact."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, float) and math.isfinite(value):
        return round(value, 9)
    return value


def same_value(a: Any, b: Any) -> bool:
    """Equal values; numbers of different types (reported as a type difference) compare by value."""
    if isinstance(a, decimal.Decimal | float) and isinstance(b, decimal.Decimal | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def type_class(arrow_type: pa.DataType) -> str:
    """A column type as both engines can agree on it (naive and UTC timestamps are one class)."""
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"array<{type_class(arrow_type.value_type)}>"
    return str(arrow_type)


def _show_key(key: list[str], row_key: Any) -> str:
    if not key:
        return "a whole-row match"
    return ", ".join(f"{k}={v!r}" for k, v in zip(key, row_key, strict=True))


def _first_line(message: str | None) -> str:
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    return lines[0] if lines else "no message"
