"""Read-only checks of a deployed target, used by `pytest -m prod_smoke` (ours and any project's).

Every function takes a read-only engine; none writes. The plugin's `prod_engine` fixture opens one with
`open_engine(target, read_only=True)`: a `ReadOnlyEngine` that refuses anything but reads in the client, on
every engine (`quality.engines.read_only`); the deploy workflow also runs it as a principal that can only read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quality.engines.base import Engine
from quality.wap.rollback import publish_records, rolled_back_at

CONTRACT_TYPES = {"string": {"varchar", "string", "text"}, "int": {"integer", "int"}, "integer": {"integer", "int"}}


@dataclass(frozen=True)
class Mart:
    name: str
    schema: str
    alias: str
    contract_columns: dict[str, str]  # column -> declared data_type


def contracted_models(manifest: dict[str, Any]) -> list[Mart]:
    """Models with an enforced contract, where the prod manifest says they live."""
    marts = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model" or not node.get("config", {}).get("contract", {}).get("enforced"):
            continue
        columns = {name: str(col.get("data_type") or "") for name, col in node.get("columns", {}).items()}
        alias = node.get("alias") or node["name"]
        marts.append(Mart(node["name"], node["schema"], alias, columns))
    return sorted(marts, key=lambda mart: mart.name)


def actual_columns(engine: Engine, schema: str, name: str) -> dict[str, str]:
    rows = engine.query(
        "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, name],
    )
    return {row[0]: str(row[1]).lower() for row in rows}


def contract_problems(mart: Mart, actual: dict[str, str]) -> list[str]:
    """Differences between the declared contract and the deployed table (missing columns, other types)."""
    if not actual:
        return [f"{mart.schema}.{mart.name} does not exist in prod"]
    problems = []
    for column, declared in mart.contract_columns.items():
        if column not in actual:
            problems.append(f"{mart.name}.{column} is declared in the contract but missing in prod")
            continue
        wanted = declared.lower().replace(" ", "")
        got = actual[column].replace(" ", "")
        if got != wanted and got not in CONTRACT_TYPES.get(wanted, set()) and not got.startswith(wanted):
            problems.append(f"{mart.name}.{column} is {actual[column]} in prod, the contract says {declared}")
    extra = sorted(set(actual) - set(mart.contract_columns))
    if extra:
        problems.append(f"{mart.name} has columns not in its contract: {', '.join(extra)}")
    return problems


def published_row_counts(target: str, root: Path, *, back: int = 0, engine: Engine | None = None) -> dict[str, int]:
    """Rows per prod table as recorded by the `back`-th latest publish to the target (0 = the latest) that
    was not rolled back (nor left `publishing` by a crash); with `engine`, the warehouse's publish record
    comes first, on DuckDB and Databricks (publish.json for the runs it lacks)."""
    records = [
        record
        for record in publish_records(target, root, engine)
        if rolled_back_at(record, root / str(record["run_id"])) is None
        and record.get("status", "published") == "published"  # not a publish a crash stopped part-way
    ]
    if len(records) <= back:
        return {}
    steps = records[-1 - back]["steps"]
    return {f"{s['prod_schema']}.{s['prod_name']}": s["rows"] for s in steps if s.get("rows") is not None}


def row_count_problems(current: dict[str, int], previous: dict[str, int], tolerance: float) -> list[str]:
    """Tables whose row count left [previous * (1 - tolerance), previous * (1 + tolerance)], or are empty."""
    problems = []
    for table, before in sorted(previous.items()):
        now = current.get(table)
        if now is None:
            problems.append(f"{table} is missing (it had {before} rows at the last publish)")
        elif now == 0 and before > 0:
            problems.append(f"{table} is empty (it had {before} rows at the last publish)")
        elif not before * (1 - tolerance) <= now <= before * (1 + tolerance):
            problems.append(f"{table} has {now} rows, outside ±{tolerance:.0%} of {before} at the last publish")
    return problems


def count_rows(engine: Engine, tables: list[str]) -> dict[str, int]:
    counts = {}
    for table in tables:
        schema, name = table.split(".", 1)
        if actual_columns(engine, schema, name):
            counts[table] = int(engine.query(f"select count(*) from {engine.relation_ref(schema, name)}")[0][0])
    return counts
