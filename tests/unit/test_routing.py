"""The fix named for a snapshot configured with `target_schema` keeps it where the user's own runs put it."""

from __future__ import annotations

from pathlib import Path

from quality.dbt.routing import routing_refusal

SNAPSHOT = """{% snapshot orders_snapshot %}
{{ config(target_schema='main', unique_key='id', strategy='check', check_cols='all') }}
select 1 as id
{% endsnapshot %}
"""


def _refusal(tmp_path: Path, configured: str, target_schema: str | None) -> str:
    (tmp_path / "snapshots").mkdir(exist_ok=True)
    (tmp_path / "snapshots" / "orders_snapshot.sql").write_text(SNAPSHOT, encoding="utf-8")
    node = {
        "resource_type": "snapshot",
        "name": "orders_snapshot",
        "schema": configured,
        "original_file_path": "snapshots/orders_snapshot.sql",
        "config": {"target_schema": configured},
    }
    return routing_refusal({"macros": {}}, node, "ci_base", tmp_path, target_schema)


def test_a_target_schema_that_is_the_targets_own_schema_is_removed(tmp_path: Path) -> None:
    message = _refusal(tmp_path, "MAIN", "main")
    assert f"configured with target_schema ('MAIN', {tmp_path / 'snapshots' / 'orders_snapshot.sql'}:2)" in message
    assert message.endswith(
        "Remove target_schema from its config (dbt >= 1.9): the snapshot then lands in the target's own schema "
        "('main'), where it lands now, through generate_schema_name."
    )


def test_another_target_schema_becomes_a_custom_schema_named_with_where_it_then_lands(tmp_path: Path) -> None:
    message = _refusal(tmp_path, "snapshots", "analytics")
    assert message.endswith(
        "Configure the snapshot with `schema: snapshots` instead of target_schema (dbt >= 1.9; your own runs then "
        "name its schema as they name models', through generate_schema_name: with dbt's default naming, "
        "<target schema>_snapshots ('analytics_snapshots'), not 'snapshots')."
    )
    assert "('analytics_snapshots')" not in _refusal(tmp_path, "snapshots", None)
