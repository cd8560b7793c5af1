"""spark-functions: only Spark / Databricks SQL built-ins and Databricks types, named with file and line.

The five DuckDB-only constructs of the fidelity study (DESIGN.md, "Fidelity engine") pass sqlfluff,
`dbt parse` and the DuckDB build; here each is caught in a copy of the project's largest mart.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from hooks import spark_functions
from hooks.dbt_layout import load_project
from hooks.spark_catalog import Catalog, load_catalog, parse_names
from hooks.spark_sql import SPARK_EQUIVALENTS, TYPE_EQUIVALENTS, check_sql
from quality.emulator.conformance.replay import Difference, load_recorded, not_verifiable_locally
from tests.hooks.conftest import PROJECT_ROOT, PreCommit, output_of, run_hook, write
from tests.hooks.project_files import DBT_PROJECT_YML, FILES

MART = "dbt/models/marts/facts/fct_orders.sql"
SMALL_FCT = "dbt/models/marts/facts/fct_orders.sql"
SMALL_INT = "dbt/models/intermediate/int_orders_enriched.sql"
DUCKDB_ONLY = (
    "    strftime(order_date, '%Y-%m') as order_month,\n",
    "    list_value(1, 2) as pair,\n",
    "    epoch_ms(units) as units_at,\n",
    "    regexp_full_match(order_status, 'a.*') as is_a_status,\n",
    "    cast(order_id as hugeint) as order_id_wide,\n",
    "    order_id::hugeint as order_id_wide_too,\n",
)
EXPECTED = (
    ("function 'strftime' is not a Spark / Databricks SQL built-in", "use date_format(ts, 'yyyy-MM')"),
    ("function 'list_value' is not a Spark / Databricks SQL built-in", "use array(1, 2)"),
    ("function 'epoch_ms' is not a Spark / Databricks SQL built-in", "use timestamp_millis(ms)"),
    ("function 'regexp_full_match' is not a Spark / Databricks SQL built-in", "use s rlike '^a.*$'"),
    ("type 'hugeint' does not exist in Databricks SQL", "cast to decimal(38, 0)"),
    ("type 'hugeint' does not exist in Databricks SQL", "cast to decimal(38, 0)"),
)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = spark_functions.main(list(args))
    return code, capsys.readouterr().out.splitlines()


def _problems(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith("    fix:")]


def _run_problems(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    """The hook's exit code and the problems it printed, without their fix lines."""
    code, output = _run(capsys, *args)
    return code, _problems(output)


def _copy_rendering_setup(destination: Path) -> None:
    """What rendering reads besides the dbt project: `.sqlfluff` and the library it names."""
    shutil.copy2(PROJECT_ROOT / ".sqlfluff", destination / ".sqlfluff")
    shutil.copytree(
        PROJECT_ROOT / "hooks" / "sqlfluff_library",
        destination / "hooks" / "sqlfluff_library",
        ignore=shutil.ignore_patterns("__pycache__"),
    )


@pytest.fixture
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of this repository's dbt project with its rendering setup; the working directory."""
    shutil.copytree(
        PROJECT_ROOT / "dbt", tmp_path / "dbt", ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    _copy_rendering_setup(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def small_repo(repo: Path) -> Path:
    """The small two-domain test project (conftest `repo`) with the rendering setup."""
    _copy_rendering_setup(repo)
    return repo


def test_each_duckdb_only_construct_in_a_real_mart_is_named_with_file_and_line(
    project_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mart = project_copy / MART
    original = mart.read_text(encoding="utf-8")
    anchor = "    updated_at\nfrom order_facts\n"
    assert original.count(anchor) == 1
    mart.write_text(original.replace(anchor, "".join(DUCKDB_ONLY) + anchor), encoding="utf-8")
    lines = mart.read_text(encoding="utf-8").splitlines(keepends=True)
    line_numbers = [lines.index(construct) + 1 for construct in DUCKDB_ONLY]

    code, output = _run(capsys, MART)

    assert code == 1
    assert _problems(output) == [
        f"{MART}:{line}: {message}" for line, (message, _) in zip(line_numbers, EXPECTED, strict=True)
    ]
    fixes = [line for line in output if line.startswith("    fix:")]
    assert [fix[: len(f"    fix: {hint}")] for fix, (_, hint) in zip(fixes, EXPECTED, strict=True)] == [
        f"    fix: {hint}" for _, hint in EXPECTED
    ]
    assert fixes[0].endswith(
        "if 'strftime' is your own UDF, add it to vars: quality: spark_function_allowlist in dbt_project.yml"
    )
    assert fixes[4].endswith("or use a cross-database type macro (dbt.type_string(), dbt.type_bigint(), ...)")


def test_sql_written_by_a_macro_points_at_the_line_that_calls_it(
    project_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calendar = project_copy / "dbt" / "macros" / "calendar.sql"
    text = calendar.read_text(encoding="utf-8")
    databricks_body = "date_format({{ date_expression }}, 'MMMM')"
    assert text.count(databricks_body) == 1
    calendar.write_text(text.replace(databricks_body, "strftime({{ date_expression }}, '%B')"), encoding="utf-8")
    dim_date = (project_copy / "dbt" / "models" / "marts" / "dims" / "dim_date.sql").read_text(encoding="utf-8")
    caller = next(number for number, line in enumerate(dim_date.splitlines(), 1) if "month_name(" in line)

    code, output = _run(capsys, "dbt/macros/calendar.sql")

    assert (code, _problems(output)) == (
        1,
        [f"dbt/models/marts/dims/dim_date.sql:{caller}: function 'strftime' is not a Spark / Databricks SQL built-in"],
    )
    assert output[1] == (
        "    fix: use date_format(ts, 'yyyy-MM'), or a cross-database macro (dbt.<macro>(), "
        "adapter.dispatch); if 'strftime' is your own UDF, add it to vars: quality: spark_function_allowlist "
        "in dbt_project.yml"
    )


def test_the_whole_project_has_no_finding(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT_ROOT)
    project = load_project("dbt")
    every_sql = [path.as_posix() for path in spark_functions.sql_files(spark_functions.node_folders(project))]
    macros = sorted(path.as_posix() for path in (PROJECT_ROOT / "dbt" / "macros").glob("*.sql"))
    assert len(every_sql) >= 19
    assert _run(capsys, "--all") == (0, [])
    assert _run(capsys, *every_sql, *(str(Path(path).relative_to(PROJECT_ROOT)) for path in macros)) == (0, [])


def test_a_changed_macro_is_checked_in_its_callers_through_dispatch_and_other_macros(
    project_copy: Path,
) -> None:
    project = load_project("dbt")
    callers = {
        macro: [path.as_posix() for path in spark_functions.files_to_check(project, [f"dbt/macros/{macro}"])]
        for macro in ("surrogate_key.sql", "calendar.sql", "date_spine.sql", "generate_schema_name.sql")
    }
    assert callers == {
        "surrogate_key.sql": ["dbt/models/marts/dims/dim_customers.sql"],
        "calendar.sql": ["dbt/models/marts/dims/dim_date.sql"],
        "date_spine.sql": ["dbt/models/marts/dims/dim_date.sql"],
        "generate_schema_name.sql": [],
    }


def test_an_allowlisted_udf_passes_and_an_unknown_function_fails(
    small_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        small_repo,
        SMALL_FCT,
        "select\n    order_id,\n    mask_email(customer_id) as customer_id,\n"
        "    main.udfs.fiscal_year(amount) as amount,\n    to_fiscal_week(amount) as week\n"
        "from {{ ref('int_orders_enriched') }}\n",
    )
    assert _run_problems(capsys, SMALL_FCT) == (
        1,
        [
            f"{SMALL_FCT}:3: function 'mask_email' is not a Spark / Databricks SQL built-in",
            f"{SMALL_FCT}:4: function 'main.udfs.fiscal_year' is not a Spark / Databricks SQL built-in",
            f"{SMALL_FCT}:5: function 'to_fiscal_week' is not a Spark / Databricks SQL built-in",
        ],
    )
    allowlist = "vars:\n  quality:\n    spark_function_allowlist: [mask_email, Main.UDFs.fiscal_year]\n"
    write(small_repo, "dbt/dbt_project.yml", DBT_PROJECT_YML + allowlist)
    assert _run_problems(capsys, SMALL_FCT) == (
        1,
        [f"{SMALL_FCT}:5: function 'to_fiscal_week' is not a Spark / Databricks SQL built-in"],
    )
    assert _run(capsys, SMALL_FCT, "--allow", "to_fiscal_week") == (0, [])


def test_a_jinja_branch_the_plain_rendering_skips_is_checked_too(
    small_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        small_repo,
        SMALL_FCT,
        "select\n    order_id\nfrom {{ ref('int_orders_enriched') }}\n{% if is_incremental() %}\n"
        "where order_id > 0\n{% else %}\nwhere list_contains(list_value(1), order_id)\n{% endif %}\n",
    )
    assert _run_problems(capsys, SMALL_FCT) == (
        1,
        [
            f"{SMALL_FCT}:7: function 'list_contains' is not a Spark / Databricks SQL built-in",
            f"{SMALL_FCT}:7: function 'list_value' is not a Spark / Databricks SQL built-in",
        ],
    )


def test_a_changed_macro_file_is_checked_where_it_is_called(
    small_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        small_repo,
        "dbt/macros/cents_to_dollars.sql",
        "{% macro cents_to_dollars(column) -%}\n    cast({{ column }} as hugeint) / 100.0\n{%- endmacro %}\n",
    )
    assert _run_problems(capsys, "dbt/macros/cents_to_dollars.sql") == (
        1,
        [f"{SMALL_INT}:5: type 'hugeint' does not exist in Databricks SQL"],
    )


def test_jinja_that_does_not_render_and_sql_that_does_not_parse_are_one_finding_each(
    small_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(small_repo, SMALL_FCT, "select\n    order_id\nfrom {{ ref('int_orders_enriched' }}\n")
    write(small_repo, SMALL_INT, "select\n    order_id,\n    (amount\nfrom {{ ref('stg_shop__orders') }}\n")
    code, output = _run(capsys, SMALL_FCT, SMALL_INT)
    assert code == 1
    assert _problems(output) == [
        f"{SMALL_INT}:4: the SQL does not parse as Databricks SQL: Expecting )",
        f"{SMALL_FCT}:3: the Jinja does not render, so its SQL cannot be checked: Failed to parse Jinja syntax. "
        "Correct the syntax or select an alternative templater. Error: unexpected '}', expected ')'",
    ]


def test_compiled_sql_is_checked_line_for_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "target/compiled/retail/models/a.sql", "select\n    date_format(d, 'yyyy') as m\nfrom t\n")
    write(
        tmp_path,
        "target/run/retail/models/b.sql",
        "create or replace table t as\nselect\n    strftime(d, '%Y') as m,\n    x::uhugeint as y\nfrom s;\n"
        "insert into t (m, y) values ('a', 1);\nselect epoch_ms(1)\n",
    )
    assert _run_problems(capsys, "--project-dir", "missing", "--compiled-dir", "target") == (
        1,
        [
            "target/run/retail/models/b.sql:3: function 'strftime' is not a Spark / Databricks SQL built-in",
            "target/run/retail/models/b.sql:4: type 'uhugeint' does not exist in Databricks SQL",
            "target/run/retail/models/b.sql:7: function 'epoch_ms' is not a Spark / Databricks SQL built-in",
        ],
    )


def test_names_are_read_as_written_not_as_sqlglot_maps_them() -> None:
    sql = (
        "select date_format(d, 'y'), nvl(a, b), ifnull(a, b), dateadd(day, 1, d), datediff(day, a, b),\n"
        "  timestampadd(hour, 1, t), try_cast(x as int), cast(x as varchar(3)), x::timestamp_ntz,\n"
        "  builtin.abs(x), `lower`(s), extract(dayofweek_iso from d), position('a' in s), max_by(a, b),\n"
        "  cast(x as timestamp with time zone), cast(x as array<text>), cast(x as map<string, int4>)\n"
        "from t lateral view explode(xs) as e where s like all ('a%') and exists (select 1)"
    )
    findings = check_sql(sql, "q.sql", catalog=_catalog_with())
    assert [(finding.line, finding.message) for finding in findings] == [
        (4, "type 'timestamp with time zone' does not exist in Databricks SQL"),
        (4, "type 'text' does not exist in Databricks SQL"),
        (4, "type 'int4' does not exist in Databricks SQL"),
    ]


def test_the_function_lists_hold_the_spark_names_and_the_databricks_ones_apart() -> None:
    data = PROJECT_ROOT / "hooks" / "data"
    spark = parse_names((data / "spark_functions.txt").read_text(encoding="utf-8"))
    databricks = parse_names((data / "databricks_functions.txt").read_text(encoding="utf-8"))
    header = (data / "spark_functions.txt").read_text(encoding="utf-8").splitlines()[:2]
    assert header == [
        "# Spark SQL built-in functions: SHOW SYSTEM FUNCTIONS (Apache Spark 4.2.0). GENERATED, do not edit: regenerate with",
        "#   /tmp/sparkvenv/bin/python -m hooks.spark_functions_list --regenerate",
    ]
    assert len(spark) == 551
    assert spark == sorted(set(spark))
    assert set(spark) & set(databricks) == set()
    assert {"ai_query", "h3_distance", "read_files", "http_request", "current_metastore"} <= set(databricks)
    catalog = load_catalog()
    assert {"date_format", "timestampadd", "try_cast", "ai_query"} <= catalog.functions
    assert {"strftime", "list_value", "epoch_ms", "regexp_full_match"}.isdisjoint(catalog.functions)
    assert {"hugeint", "text", "time"}.isdisjoint(catalog.types)
    assert set(SPARK_EQUIVALENTS).isdisjoint(catalog.functions), "a hint for a name Spark has would mislead"
    assert set(TYPE_EQUIVALENTS).isdisjoint(catalog.types)


def test_the_gate_fails_a_commit_that_adds_duckdb_sql(pre_commit: PreCommit, gate_repo: Path) -> None:
    source = FILES["models/marts/facts/fct_orders.sql"]
    write(gate_repo, SMALL_FCT, source.replace("    amount\n", "    amount,\n    epoch_ms(order_id) as ordered_at\n"))
    result = run_hook(pre_commit, gate_repo, "spark-functions", [SMALL_FCT])
    assert result.returncode == 1, output_of(result)
    assert f"{SMALL_FCT}:5: function 'epoch_ms' is not a Spark / Databricks SQL built-in\n" in result.stdout
    assert "    fix: use timestamp_millis(ms), or unix_millis(ts) the other way" in result.stdout
    write(gate_repo, SMALL_FCT, source)
    assert run_hook(pre_commit, gate_repo, "spark-functions", [SMALL_FCT]).returncode == 0


def _catalog_with(*differences: Difference) -> Catalog:
    catalog = load_catalog()
    return dataclasses.replace(catalog, unverifiable=not_verifiable_locally(differences))


def test_a_call_that_may_meet_a_recorded_sail_difference_is_not_verifiable_locally() -> None:
    weekday_numbering = Difference("SELECT next_day(DATE'2024-06-02', 'MO')", "value", ("next_day",), '"x"', '"y"')
    catalog = _catalog_with(weekday_numbering)
    sql = "select\n  next_day(d, 'MO'),\n  next_day(d, 'TU'),\n  next_day(d, day_name)\nfrom t"

    findings = check_sql(sql, "m.sql", catalog=catalog)

    assert [(finding.line, finding.message.split(":")[0]) for finding in findings] == [
        (2, "'next_day' is not verifiable locally"),  # the same literal as the case
        (4, "'next_day' is not verifiable locally"),  # an expression: it could be 'MO'
    ]  # another literal cannot meet the case
    assert findings[0].message.endswith(
        "(SELECT next_day(DATE'2024-06-02', 'MO') gives \"x\" on Spark, \"y\" locally), so a green "
        "`quality fidelity` does not prove this call"
    )
    assert "vars: quality: verified_on_databricks: [next_day]" in findings[0].fix
    assert check_sql(sql, "m.sql", catalog=catalog, allow={"next_day"}) == []


def test_the_recorded_differences_flag_a_project_model_until_it_is_verified(
    small_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = not_verifiable_locally(load_recorded())
    name, case = next((name, cases[0]) for name, cases in sorted(recorded.items()) if cases[0].arguments)
    call = f"{name}({', '.join('order_id' for _ in case.arguments)})"
    write(
        small_repo,
        SMALL_FCT,
        f"select\n    order_id,\n    {call} as flagged\nfrom {{{{ ref('int_orders_enriched') }}}}\n",
    )

    code, output = _run(capsys, SMALL_FCT)

    assert (code, _problems(output)[0].split(" (SELECT")[0]) == (
        1,
        f"{SMALL_FCT}:3: '{name}' is not verifiable locally: the local Databricks endpoint does not always give "
        "Spark's answer",
    )
    verified = f"vars:\n  quality:\n    verified_on_databricks: [{name}]\n"
    write(small_repo, "dbt/dbt_project.yml", DBT_PROJECT_YML + verified)
    assert _run(capsys, SMALL_FCT) == (0, [])
