from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from quality.dbt.schemas import (
    assert_ephemeral,
    backup_schemas,
    drop_ephemeral,
    new_base,
    parse_base,
    prune_backups,
    reap,
    stale_schemas,
)
from quality.engines.duckdb import DuckDBEngine
from quality.errors import SchemaGuardError

NOW = datetime(2026, 11, 25, 13, 10, 0, tzinfo=UTC)


def test_new_base_has_prefix_timestamp_run_id_and_worker() -> None:
    assert new_base("ci", run_id="ab12cd", worker="gw0", now=NOW) == "ci_20261125t131000_ab12cd_gw0"
    assert new_base("pr123", run_id="ab12cd", worker="master", now=NOW) == "pr123_20261125t131000_ab12cd"


def test_parse_base_reads_back_every_part_from_a_derived_schema() -> None:
    parsed = parse_base("ci_20261125t131000_ab12cd_gw1_marts")
    assert parsed is not None
    assert (parsed.base, parsed.prefix, parsed.run_id, parsed.worker) == (
        "ci_20261125t131000_ab12cd_gw1",
        "ci",
        "ab12cd",
        "gw1",
    )
    assert parsed.created_at == NOW
    no_worker = parse_base("audit_20261125t131000_ab12cd_snapshots")
    assert no_worker is not None
    assert no_worker.base == "audit_20261125t131000_ab12cd"


@pytest.mark.parametrize("name", ["marts", "staging", "analytics", "dev_jane_marts", "ci_2026_ab12cd", "raw"])
def test_parse_base_rejects_names_that_are_not_ephemeral(name: str) -> None:
    assert parse_base(name) is None


@pytest.mark.parametrize("name", ["marts", "prod", "analytics", "MARTS", "main"])
def test_guard_refuses_a_prod_schema_as_ephemeral(name: str) -> None:
    with pytest.raises(SchemaGuardError, match="production schema"):
        assert_ephemeral(name)


def test_guard_refuses_the_targets_own_schema_and_non_ephemeral_names() -> None:
    with pytest.raises(SchemaGuardError, match="production schema"):
        assert_ephemeral("team_reporting", prod_schemas={"team_reporting"})
    with pytest.raises(SchemaGuardError, match="not an ephemeral schema name"):
        assert_ephemeral("scratch")


@pytest.mark.parametrize("prefix", ["prod", "marts", "Dev", "dev_jane", "", "x" * 25])
def test_prefixes_that_could_collide_or_break_parsing_are_refused(prefix: str) -> None:
    with pytest.raises(SchemaGuardError):
        new_base(prefix)


def test_stale_schemas_lists_only_ephemeral_schemas_older_than_the_ttl() -> None:
    schemas = [
        "ci_20261125t050000_aaaaaa_marts",  # 8h10 old
        "ci_20261125t120000_bbbbbb_marts",  # 1h10 old
        "marts",
        "raw",
    ]
    assert stale_schemas(schemas, older_than=timedelta(hours=6), now=NOW) == ["ci_20261125t050000_aaaaaa_marts"]


def test_drop_and_reap_on_a_real_duckdb_file(tmp_path: Path) -> None:
    engine = DuckDBEngine(tmp_path / "w.duckdb")
    for schema in (
        "ci_20261125t050000_aaaaaa_marts",
        "ci_20261125t050000_aaaaaa_raw",
        "ci_20261125t130000_bbbbbb_marts",
        "marts",
    ):
        engine.create_schema(schema)
        engine.execute(f'create table "{schema}".t as select 1 as x')
    assert reap(engine, older_than=timedelta(hours=6), now=NOW, dry_run=True) == [
        "ci_20261125t050000_aaaaaa_marts",
        "ci_20261125t050000_aaaaaa_raw",
    ]
    assert "ci_20261125t050000_aaaaaa_raw" in engine.list_schemas()
    reap(engine, older_than=timedelta(hours=6), now=NOW)
    assert drop_ephemeral(engine, "ci_20261125t130000_bbbbbb") == ["ci_20261125t130000_bbbbbb_marts"]
    assert [s for s in engine.list_schemas() if s != "main"] == ["marts"]


def _backups_engine(tmp_path: Path, names: list[str]) -> DuckDBEngine:
    engine = DuckDBEngine(tmp_path / "warehouse.duckdb")
    for name in names:
        engine.create_schema(name)
    return engine


BACKUPS = [f"quality_backup_2026112{day}t120000_abcde{day}" for day in range(1, 6)]


def test_prune_backups_keeps_the_newest_and_never_touches_other_schemas(tmp_path: Path) -> None:
    engine = _backups_engine(tmp_path, [*BACKUPS, "marts", "quality_backup_manual"])
    try:
        assert prune_backups(engine, 3, dry_run=True) == BACKUPS[:2]
        assert backup_schemas(engine) == BACKUPS
        assert prune_backups(engine, 3) == BACKUPS[:2]
        assert backup_schemas(engine) == BACKUPS[2:]
        assert {"marts", "quality_backup_manual"} <= set(engine.list_schemas())
    finally:
        engine.close()


def test_prune_backups_never_drops_a_protected_backup_even_with_keep_zero(tmp_path: Path) -> None:
    engine = _backups_engine(tmp_path, BACKUPS)
    try:
        assert prune_backups(engine, 0, protect={BACKUPS[-1]}) == BACKUPS[:-1]
        assert backup_schemas(engine) == BACKUPS[-1:]
    finally:
        engine.close()
