"""manifest: one in-process dbt parse per graph change; a no-op (no dbt import) when nothing changed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hooks import graph_key, manifest_prefetch
from hooks import manifest as shared_manifest
from tests.hooks.conftest import PROJECT_ROOT

PROJECT = Path("dbt")
MANIFEST = PROJECT / "target" / "pre-commit" / "manifest.json"
FCT = "dbt/models/marts/facts/fct_orders.sql"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = shared_manifest.main(["--project-dir", "dbt", *args])
    return code, capsys.readouterr().out


def _depends_on(model: str) -> list[str]:
    nodes = json.loads(MANIFEST.read_text(encoding="utf-8"))["nodes"]
    return sorted(nodes[f"model.shop_test.{model}"]["depends_on"]["nodes"])


def test_parses_once_then_skips_until_the_graph_changes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(capsys)
    assert (code, out.startswith("parsed dbt in ")) == (0, True)
    stamp = MANIFEST.stat().st_mtime_ns
    assert _run(capsys) == (0, "")
    Path(FCT).write_text(Path(FCT).read_text(encoding="utf-8").replace("    amount\n", "    amount  -- euros\n"))
    assert _run(capsys) == (0, ""), "a SQL edit outside Jinja does not change the graph"
    assert MANIFEST.stat().st_mtime_ns == stamp
    Path(FCT).write_text(
        "select e.order_id, e.customer_id, e.amount\nfrom {{ ref('int_orders_enriched') }} as e\n"
        "join {{ ref('dim_customers') }} as d on e.customer_id = d.customer_id\n"
    )
    code, out = _run(capsys)
    assert (code, out.startswith("parsed dbt in ")) == (0, True)
    assert _depends_on("fct_orders") == ["model.shop_test.dim_customers", "model.shop_test.int_orders_enriched"]


def test_a_hand_run_dbt_command_leaves_the_shared_manifest_fresh(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys)[0] == 0
    (PROJECT / "target" / "manifest.json").write_text("{}", encoding="utf-8")  # as `dbt build` rewrites it
    assert _run(capsys) == (0, ""), "the hook's manifest lives in its own folder; no re-parse"
    assert _depends_on("fct_orders")


def test_a_fresh_manifest_costs_no_dbt_import(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys)[0] == 0
    probe = (
        "import sys\nfrom hooks import manifest\n"
        "code = manifest.main(['--project-dir', 'dbt'])\n"
        "print(code, any(name == 'dbt' or name.startswith('dbt.') for name in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=repo,
        env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout == "0 False\n", result.stderr


def test_content_key_reparses_on_any_edit(repo: Path) -> None:
    settings = shared_manifest.ParseSettings(project_dir=PROJECT, key_kind="content")
    before = shared_manifest.current_key(settings)
    graph_before = graph_key.compute(PROJECT)
    Path(FCT).write_text(Path(FCT).read_text(encoding="utf-8") + "-- reviewed\n")
    assert shared_manifest.current_key(settings) != before
    assert graph_key.compute(PROJECT) == graph_before


def test_env_vars_the_project_reads_are_part_of_the_key(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUALITY_DUCKDB_PATH", "/tmp/a.duckdb")
    first = graph_key.compute(PROJECT)
    monkeypatch.setenv("QUALITY_DUCKDB_PATH", "/tmp/b.duckdb")
    assert graph_key.compute(PROJECT) != first


def test_a_model_that_does_not_compile_is_reported_with_file_and_line(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Path(FCT).write_text("select order_id\nfrom {{ ref('int_orders_enriched') }\n")
    code, out = _run(capsys)
    assert code == 1
    assert out.splitlines()[0] == f"{FCT}:2: dbt parse failed: unexpected '}}'"


def test_a_missing_ref_points_at_its_line(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path(FCT).write_text("select order_id\n\nfrom {{ ref('int_orders_enrichd') }}\n")
    code, out = _run(capsys)
    assert code == 1
    assert out.splitlines()[0] == (
        f"{FCT}:3: dbt parse failed: Model 'model.shop_test.fct_orders' (models/marts/facts/fct_orders.sql) "
        "depends on a node named 'int_orders_enrichd' which was not found"
    )


def test_invalid_yaml_is_reported_with_the_project_path_and_line(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    facts = Path("dbt/models/marts/facts/_facts.yml")
    facts.write_text(facts.read_text(encoding="utf-8").replace("    description: One row per order.\n", "   bad: [\n"))
    code, out = _run(capsys)
    assert code == 1
    assert (
        out.splitlines()[0]
        == f"{facts}:4: dbt parse failed: Error reading shop_test: marts/facts/_facts.yml - Runtime Error"
    )


GRAPH_CHANGE = (
    "select e.order_id, e.customer_id, e.amount\nfrom {{ ref('int_orders_enriched') }} as e\n"
    "join {{ ref('dim_customers') }} as d on e.customer_id = d.customer_id\n"
)


def test_prefetch_parses_in_the_background_and_the_hook_waits_for_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys)[0] == 0
    Path(FCT).write_text(GRAPH_CHANGE, encoding="utf-8")

    assert manifest_prefetch.main(["--project-dir", "dbt"]) == 0
    assert capsys.readouterr().out == "", "the prefetch hook returns at once, silently"
    code, out = _run(capsys)

    assert (code, out.startswith("parsed dbt in the background; waited ")) == (0, True), out
    assert _depends_on("fct_orders") == ["model.shop_test.dim_customers", "model.shop_test.int_orders_enriched"]
    assert (MANIFEST.parent / "prefetch.log").read_text(encoding="utf-8").startswith("parsed dbt in ")
    assert manifest_prefetch.main(["--project-dir", "dbt"]) == 0
    assert _run(capsys) == (0, ""), "fresh: no second background parse, nothing to wait for"


def test_a_failed_background_parse_is_reported_by_the_hook_with_file_and_line(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Path(FCT).write_text("select order_id\nfrom {{ ref('int_orders_enriched') }\n", encoding="utf-8")

    assert manifest_prefetch.main(["--project-dir", "dbt"]) == 0
    code, out = _run(capsys)

    assert code == 1
    assert out.splitlines()[0] == f"{FCT}:2: dbt parse failed: unexpected '}}'"
