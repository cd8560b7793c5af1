"""What the integration tests compare a DuckDB warehouse by: every relation's DDL and a hash of its rows."""

from __future__ import annotations

from pathlib import Path

from quality.engines.duckdb import DuckDBEngine


def fingerprint(path: Path) -> dict[str, str]:
    """Every relation of every schema: its DDL and an order-independent hash of its rows."""
    engine = DuckDBEngine(path)
    try:
        prints = {}
        for schema in engine.list_schemas():
            for name, _kind in engine.list_relations(schema):
                relation = engine.relation_ref(schema, name)
                rows = engine.query(
                    f"select md5(coalesce(string_agg(cast(t as varchar), '|' order by cast(t as varchar)), '')) from {relation} t"
                )
                prints[f"{schema}.{name}"] = f"{engine.table_sql(schema, name)}|{rows[0][0]}"
        return prints
    finally:
        engine.close()
