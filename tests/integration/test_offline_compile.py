"""`quality compile --target prod`: the real project rendered as dbt-databricks would send it, with no
Databricks variables, no network and no connection; incremental SQL from a prod manifest; a node that
queries the warehouse at compile time is one clear error naming it."""

from __future__ import annotations

import io
import json
import os
import socket
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from quality.cli import main

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("offline_compile")]

ROOT = Path(__file__).resolve().parents[2]
UNIT_TESTS = 8
RENDERED_UNIT_TESTS = {"fct_daily_sales_aggregates_per_day_and_store"}  # the one whose inputs are all typed
INCREMENTAL_FILTER = (
    "where updated_at > (\n        select\n            timestampadd(hour, -3, max(merged_orders.updated_at))"
)


@dataclass(frozen=True)
class Compiled:
    exit_code: int
    output: str
    target_path: Path
    connections: tuple[str, ...]  # every network attempt made during the run

    @property
    def compiled(self) -> Path:
        return self.target_path / "compiled" / "retail"

    def manifest(self) -> dict[str, Any]:
        return dict(json.loads((self.target_path / "manifest.json").read_text(encoding="utf-8")))

    def results(self) -> dict[str, dict[str, Any]]:
        data = json.loads((self.target_path / "run_results.json").read_text(encoding="utf-8"))
        return {result["unique_id"]: result for result in data["results"]}

    def files(self) -> set[Path]:
        return {path for path in self.compiled.rglob("*.sql")}

    def sql(self, relative: str) -> str:
        return (self.compiled / relative).read_text(encoding="utf-8")


def offline(patch: pytest.MonkeyPatch) -> list[str]:
    """No Databricks or dbt variables, and every DNS lookup or connect refused; returns the attempts made."""
    attempts: list[str] = []

    def refuse(*call: Any, **kwargs: Any) -> Any:
        attempts.append(repr(call)[:200])
        raise OSError("network disabled in this test")

    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "DBT_")):
            patch.delenv(name)
    patch.setattr(socket, "getaddrinfo", refuse)
    patch.setattr(socket, "create_connection", refuse)
    patch.setattr(socket.socket, "connect", refuse)
    patch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def compile_offline(target_path: Path, *args: str) -> Compiled:
    """`quality compile --target prod` of the project, offline."""
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(out):
        attempts = offline(patch)
        command = ["compile", "--project-dir", str(ROOT / "dbt"), "--target", "prod"]
        code = main([*command, "--target-path", str(target_path), *args])
    return Compiled(code, " ".join(out.getvalue().split()), target_path, tuple(attempts))


@pytest.fixture(scope="module")
def absent(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    """The whole project, every relation absent."""
    return compile_offline(tmp_path_factory.mktemp("absent") / "target")


@pytest.fixture(scope="module")
def prod_state(absent: Compiled, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A prod manifest (the one `deploy` uploads is this parse) and a catalog.json typing every column string."""
    state = tmp_path_factory.mktemp("state")
    manifest = absent.manifest()
    (state / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    entries = [*manifest["nodes"].values(), *manifest["sources"].values()]
    catalog = {
        "nodes": {
            node["unique_id"]: {
                "metadata": {
                    "database": node["database"],
                    "schema": node["schema"],
                    "name": node.get("alias") or node.get("identifier"),
                },
                "columns": {
                    name: {"name": name, "type": "string", "index": index}
                    for index, name in enumerate(node["columns"], start=1)
                },
            }
            for node in entries
            if node["resource_type"] in {"model", "seed", "snapshot", "source"}
        }
    }
    (state / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
    return state


@pytest.fixture(scope="module")
def existing(prod_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    """The whole project against the prod state: relations exist, every column type known."""
    return compile_offline(tmp_path_factory.mktemp("existing") / "target", "--state", str(prod_state))


def test_no_network_connection_is_ever_attempted(absent: Compiled, existing: Compiled) -> None:
    assert absent.exit_code == 0, absent.output
    assert existing.exit_code == 0, existing.output
    assert absent.connections == ()
    assert existing.connections == ()


def test_every_model_test_and_snapshot_is_rendered_with_no_databricks_variables(absent: Compiled) -> None:
    nodes = [node for node in absent.manifest()["nodes"].values() if node["resource_type"] != "seed"]
    kinds = [node["resource_type"] for node in nodes]
    assert (len(nodes), kinds.count("model"), kinds.count("test"), kinds.count("snapshot")) == (78, 15, 62, 1)
    rendered = {Path(node["compiled_path"]) for node in nodes}
    assert len(rendered) == 78, "one file per model, data test and snapshot"
    unit_test_files = absent.files() - rendered
    assert {path.relative_to(absent.compiled / "models/marts/facts").as_posix() for path in unit_test_files} == {
        "_unit_tests.yml/models/marts/facts/fct_daily_sales_aggregates_per_day_and_store.sql",
        "_unit_tests.yml/fct_orders.sql",  # its input fixture, written beside it as `dbt test` does
    }
    assert "rendered 79 files (15 model, 1 snapshot, 62 test, 1 unit_test)" in absent.output
    assert "catalog main (DBT_CATALOG unset), no relations" in absent.output


def test_unit_tests_render_where_their_inputs_column_types_are_known(absent: Compiled, existing: Compiled) -> None:
    def statuses(run: Compiled) -> dict[str, str]:
        return {uid.split(".")[-1]: r["status"] for uid, r in run.results().items() if uid.startswith("unit_test.")}

    absent_statuses = statuses(absent)
    assert len(absent_statuses) == UNIT_TESTS
    assert {name for name, status in absent_statuses.items() if status == "success"} == RENDERED_UNIT_TESTS
    assert "7 unit tests not rendered: their inputs' column types are unknown offline" in absent.output
    assert set(statuses(existing).values()) == {"success"}, "a prod catalog.json types every input"
    assert "rendered 86 files (15 model, 1 snapshot, 62 test, 8 unit_test)" in existing.output

    unit_sql = existing.sql(
        "models/marts/dims/_unit_tests.yml/models/marts/dims/dim_customers_scd2_validity_intervals.sql"
    )
    assert "-- Fixture for snap_customers" in unit_sql
    assert "cast(null as string) as `dbt_scd_id`" in unit_sql, "fixture columns typed from the catalog"


def test_databricks_dispatch_renders_timestampadd_and_the_conv_surrogate_key(absent: Compiled) -> None:
    dim_date = absent.sql("models/marts/dims/dim_date.sql")
    assert "timestampadd(day, day_offset, cast('2020-01-01' as date)) as date" in dim_date
    dim_customers = absent.sql("models/marts/dims/dim_customers.sql")
    assert "cast(conv(substr(md5(cast(concat(coalesce(cast(customer_id as string), '_null_')" in dim_customers
    assert ", 1, 15), 16, 10) as bigint)" in dim_customers
    assert "'0x' ||" not in dim_customers, "the default (DuckDB) branch"
    assert "`main`.`snapshots`.`snap_customers`" in dim_customers


def test_an_incremental_model_renders_its_incremental_filter_only_when_prod_has_it(
    absent: Compiled, existing: Compiled
) -> None:
    assert "merged_orders" not in absent.sql("models/marts/facts/fct_orders.sql"), "full-refresh branch"
    incremental = existing.sql("models/marts/facts/fct_orders.sql")
    assert INCREMENTAL_FILTER in incremental
    assert "from `main`.`marts`.`fct_orders` as merged_orders" in incremental
    assert "23 prod relations" in existing.output, "15 models, 1 seed, 1 snapshot and 6 sources"


def test_a_select_renders_only_that_node_and_its_tests(tmp_path: Path) -> None:
    run = compile_offline(tmp_path / "target", "--select", "dim_stores")
    assert run.exit_code == 0, run.output
    assert {path.relative_to(run.compiled).parts[-1] for path in run.files()} == {
        "dim_stores.sql",
        *{name for name in _test_files_of(run, "model.retail.dim_stores")},
    }


def _test_files_of(run: Compiled, model: str) -> Iterator[str]:
    for node in run.manifest()["nodes"].values():
        if node["resource_type"] == "test" and node["depends_on"]["nodes"] == [model]:
            yield Path(node["compiled_path"]).name


QUERYING_MODEL = """
{% set rows = run_query("select max(id) from " ~ ref('plain')) %}
select {{ rows.columns[0].values()[0] if execute else 0 }} as id
"""


def test_a_model_that_queries_at_compile_time_is_one_clear_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "probe"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: probe\nprofile: probe\nversion: '1.0'\nconfig-version: 2\n")
    (project / "profiles.yml").write_text(
        "probe:\n  target: prod\n  outputs:\n    prod:\n      type: databricks\n"
        "      host: \"{{ env_var('DATABRICKS_HOST') }}\"\n      http_path: \"{{ env_var('DATABRICKS_HTTP_PATH') }}\"\n"
        "      token: \"{{ env_var('DATABRICKS_TOKEN') }}\"\n      catalog: \"{{ env_var('DBT_CATALOG') }}\"\n"
        "      schema: analytics\n      threads: 2\n"
    )
    (project / "models" / "plain.sql").write_text("select 1 as id\n")
    (project / "models" / "asks_the_warehouse.sql").write_text(QUERYING_MODEL)

    with pytest.MonkeyPatch.context() as patch:
        attempts = offline(patch)
        code = main(["compile", "--project-dir", str(project), "--target-path", str(tmp_path / "target")])

    err = " ".join(capsys.readouterr().err.split())
    assert code == 1
    assert attempts == []
    assert "the offline Databricks compile failed on 1 node(s): - model asks_the_warehouse:" in err
    assert "model.probe.asks_the_warehouse needs the warehouse at compile time" in err
    assert "(select max(id) from `main`.`analytics`.`plain`)" in err
    assert "Traceback" not in err
