"""Bad raw data and a broken project, through `quality gate`: one readable paragraph naming the input and
the fix, in the console and in report.json, and nothing published."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from quality.cli import main
from tests.integration.mini_project import gate, only_report, plain

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "tests" / "fixtures" / "raw"


def schemas(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as connection:
        rows = connection.execute("select schema_name from information_schema.schemata where catalog_name = 'shop'")
        return {row[0] for row in rows.fetchall()}


class TestFixtureFilesMustBeDeclaredSources:
    @pytest.mark.parametrize("stray", ["zz_extra.csv", "sales copy.csv"], ids=["stray-file", "file-name-as-table"])
    def test_is_refused_naming_the_file_and_the_declared_tables_and_nothing_is_published(
        self, shop: Path, capsys: pytest.CaptureFixture[str], stray: str
    ) -> None:
        (shop / "fixtures" / stray).write_text("sale_id,amount\n9,1.00\n", encoding="utf-8")

        assert gate(shop, "--fixtures", "fixtures") == 1

        message = (
            f"{stray} in fixtures is not a source table of the project, and every fixture file becomes a raw "
            "table that is published to prod; declared source tables: sales. Rename the file to one of them or "
            "move it out of the folder."
        )
        assert f"{stray} in fixtures is not a source table of the project" in plain(capsys.readouterr().out)
        report = only_report(shop / "runs")
        assert (report["status"], report["error"], report["published"]) == ("error", message, [])
        assert schemas(shop / "shop.duckdb") == {"main"}, "no raw schema in prod, audit schemas dropped"


class TestAGateWithoutRawData:
    def test_says_so_in_one_line_naming_the_missing_tables_and_how_to_give_data(
        self, shop: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert gate(shop) == 1

        out = capsys.readouterr().out
        # No `--orders N`: the generator makes the demo project's tables, not this project's `sales`.
        message = (
            f"no raw data on target 'local' (duckdb at {shop / 'shop.duckdb'}): source table(s) raw.sales do not "
            "exist. Give the gate raw data with --fixtures <folder of <table>.csv>, or load those tables into the "
            "target first."
        )
        assert "source table(s) raw.sales do not exist. Give the gate raw data with --fixtures" in plain(out)
        assert "does not exist" not in out.replace("do not exist", ""), "no dbt error per staging model"
        assert only_report(shop / "runs")["error"] == message
        assert only_report(shop / "runs")["models"] == [], "dbt never ran"


class TestMalformedModelYaml:
    def test_names_the_file_and_the_line(self, shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
        schema = shop / "dbt" / "models" / "schema.yml"
        schema.write_text(schema.read_text(encoding="utf-8").replace("      - name: sale_id", "      - name: [sale_id"))

        assert gate(shop, "--fixtures", "fixtures") == 1

        error = only_report(shop / "runs")["error"]
        assert error.startswith(
            f"dbt could not parse project {shop / 'dbt'} for target 'local' (duckdb at {shop / 'shop.duckdb'}): "
            f"Parsing Error in {schema}: Error reading shop: schema.yml - Runtime Error; Syntax error near line "
        )
        assert "Syntax error near line 18; while parsing a flow sequence at line 17, column 15;" in error
        assert error.endswith(
            f"Fix what it names, then run again (`dbt parse` in {shop / 'dbt'} shows the full message)."
        )
        assert ".." not in error
        assert "Parsing Error in" in plain(capsys.readouterr().out)


class TestAnInvalidDateInOrdersCsv:
    """The real project: the cast in fct_order_lines fails, and dim_date's expectation reads the same value."""

    def test_reports_the_failing_model_the_value_and_its_row_not_only_a_harness_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        fixtures = tmp_path / "fixtures"
        shutil.copytree(RAW, fixtures)
        orders = fixtures / "orders.csv"
        lines = orders.read_text(encoding="utf-8").splitlines(keepends=True)
        good = lines[2].split(",")[3]
        lines[2] = lines[2].replace(good, "2025-13-45 13:47:18", 1)
        orders.write_text("".join(lines), encoding="utf-8")
        monkeypatch.setenv("QUALITY_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))

        code = main(
            ["gate", "--project-dir", str(ROOT / "dbt"), "--fixtures", str(fixtures), "--artifacts-dir", str(tmp_path)]
        )

        assert code == 1
        report = only_report(tmp_path)
        error = report["error"]
        assert report["status"] == "failed"
        assert "1 node(s) failed." in error
        assert "_marts.fct_order_lines [error]: Runtime Error in model fct_order_lines" in error
        assert 'Conversion Error: timestamp field value out of range: "2025-13-45 13:47:18"' in error
        assert f"bad value '2025-13-45 13:47:18' at {orders}:3, column ordered_at: fix it in the fixture file" in error
        assert "(after the dbt failures above, which may be the cause)" in error
        assert "- [harness] dim_date unexpected_rows:" in error
        assert error.endswith(
            f"Nothing was published: prod on target 'local' (duckdb at {tmp_path / 'warehouse.duckdb'}) is untouched."
        )
        out = plain(capsys.readouterr().out)
        assert "[error]: Runtime Error in model fct_order_lines" in out, "rich markup does not eat [error]"
        assert "- [harness] dim_date" in out


class TestAPublishPlanThatWritesTwoRelationsOntoOne:
    def test_is_refused_before_anything_is_built_naming_both(
        self, shop: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # A source declared in the marts schema, with a raw table named like the mart model.
        schema_yml = shop / "dbt" / "models" / "schema.yml"
        text = schema_yml.read_text(encoding="utf-8").replace("var('raw_schema', 'raw')", "var('raw_schema', 'marts')")
        schema_yml.write_text(text.replace("      - name: sales\n", "      - name: sales\n      - name: fct_sales\n"))
        (shop / "fixtures" / "fct_sales.csv").write_text("sale_id,amount\n9,1.00\n", encoding="utf-8")

        assert gate(shop, "--fixtures", "fixtures") == 1

        out = plain(capsys.readouterr().out)
        assert "would write 2 relations onto one prod relation marts.fct_sales" in out
        assert "the raw table fct_sales" in out
        assert "model fct_sales" in out
        report = only_report(shop / "runs")
        assert report["published"] == []
        assert "dbt_build" not in report["timings"], "refused before the build"
        assert schemas(shop / "shop.duckdb") == {"main"}, "nothing published, audit schemas dropped"
