"""A project the harness has never seen, through pytest and `quality gate`: every failure is one message
naming its real cause (dbt's own error first, or the config, file and line that bypasses the harness) and
the fix (issue 17, items 2-4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from quality.cli import main
from tests.integration.mini_project import gate, only_report, plain, write_mini_project

pytestmark = pytest.mark.integration

BUILD_ONLY = """
def test_builds(dbt_build):
    assert dbt_build.success
"""


def squeezed(text: str) -> str:
    """Text without any whitespace: the console folds long paths mid-word."""
    return "".join(text.split())


def add_to_profile(project: Path, lines: str) -> None:
    """Append settings to the `local` output of the mini project's profile."""
    profiles = project / "profiles.yml"
    profiles.write_text(profiles.read_text(encoding="utf-8") + lines, encoding="utf-8")


def test_pytest_shows_dbts_own_error_when_dbt_cannot_connect(pytester: pytest.Pytester) -> None:
    """dbt-duckdb fails to set up its connection (an extension it cannot install offline): the failure is
    dbt's error, not DuckDB's "different configuration" from the harness opening the half-made file."""
    write_mini_project(pytester.path)
    missing = pytester.path / "no_extension_repo"
    add_to_profile(pytester.path / "dbt", f"      extensions: [{{name: some_ext, repo: \"'{missing}'\"}}]\n")
    pytester.makeini("[pytest]\ndbt_project_dir = dbt\nraw_fixtures_dir = fixtures\n")
    pytester.makepyfile(test_shop=BUILD_ONLY)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--schema-prefix", "dev")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "dbt build failed on target 'local' (duckdb at *dev_*.duckdb) (schema base dev_*) before running "
            'any node: IO Error: Failed to install local extension "some_ext"*'
        ]
    )
    assert (
        f"Target 'local' lists DuckDB extensions (some_ext; extensions, {pytester.path / 'dbt' / 'profiles.yml'}:9), "
        "which dbt-duckdb installs each time it connects: install them once where their repository is reachable "
        "(DuckDB keeps them in ~/.duckdb/extensions), or leave them out of the target the harness builds on."
    ) in result.stdout.str()
    assert "different configuration" not in result.stdout.str()


def test_the_gate_opens_the_warehouse_with_the_profiles_duckdb_config_options(shop: Path) -> None:
    """dbt-duckdb opens the file with the profile's `config_options`; the harness's connection in the same
    process uses them too, or DuckDB refuses dbt's ("a different configuration than existing connections")."""
    add_to_profile(shop / "dbt", "      config_options:\n        memory_limit: '1GB'\n")

    assert gate(shop, "--fixtures", "fixtures") == 0

    report = only_report(shop / "runs")
    assert report["status"] == "published"
    assert sorted(f"{step['prod_schema']}.{step['prod_name']}" for step in report["published"]) == [
        "marts.fct_sales",
        "raw.sales",
        "staging.stg_sales",
    ]


OLD_STYLE_SNAPSHOT = """{% snapshot sales_snapshot %}
{{
    config(
      target_schema='snapshots',
      unique_key='sale_id',
      strategy='check',
      check_cols=['amount'],
    )
}}
select * from {{ source('raw', 'sales') }}
{% endsnapshot %}
"""

YAML_SNAPSHOT = """snapshots:
  - name: sales_snapshot
    relation: source('raw', 'sales')
    config:
      unique_key: sale_id
      strategy: check
      check_cols: [amount]
      target_schema: history
"""

CUSTOM_SCHEMA_MACRO = """{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name or target.schema }}
{%- endmacro %}
"""


class TestAConfigThatBypassesTheSchemaMacro:
    def test_a_snapshot_with_target_schema_in_its_config_block_is_named_with_its_file_and_line(
        self, shop: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        snapshot = shop / "dbt" / "snapshots" / "sales_snapshot.sql"
        snapshot.parent.mkdir()
        snapshot.write_text(OLD_STYLE_SNAPSHOT, encoding="utf-8")

        assert gate(shop, "--fixtures", "fixtures") == 1

        report = only_report(shop / "runs")
        assert report["error"] == (
            f"snapshot sales_snapshot would be built in schema 'snapshots', outside the ephemeral base "
            f"'{report['audit_base']}': it is configured with target_schema ('snapshots', {snapshot}:4), which dbt "
            "uses as written, bypassing generate_schema_name, so the harness cannot route it. Configure the "
            "snapshot with `schema: snapshots` instead of target_schema (dbt >= 1.9; your own runs then name its "
            "schema as they name models', through generate_schema_name: with dbt's default naming, "
            "<target schema>_snapshots ('main_snapshots'), not 'snapshots')."
        )
        assert "Add the harness's generate_schema_name macro" not in plain(capsys.readouterr().out)
        assert report["models"] == [], "refused before dbt built anything"

    def test_a_yaml_snapshot_with_target_schema_is_named_with_its_file_and_line(self, shop: Path) -> None:
        snapshots = shop / "dbt" / "snapshots" / "snapshots.yml"
        snapshots.parent.mkdir()
        snapshots.write_text(YAML_SNAPSHOT, encoding="utf-8")

        assert gate(shop, "--fixtures", "fixtures") == 1

        error = only_report(shop / "runs")["error"]
        assert "snapshot sales_snapshot would be built in schema 'history'" in error
        assert f"it is configured with target_schema ('history', {snapshots}:8)" in error
        assert "Configure the snapshot with `schema: history` instead of target_schema (dbt >= 1.9;" in error

    def test_a_custom_schema_macro_that_ignores_the_harness_var_is_named_with_its_file_and_line(
        self, shop: Path
    ) -> None:
        macro = shop / "dbt" / "macros" / "generate_schema_name.sql"
        macro.write_text(CUSTOM_SCHEMA_MACRO, encoding="utf-8")

        assert gate(shop, "--fixtures", "fixtures") == 1

        report = only_report(shop / "runs")
        assert report["error"].startswith("model ")
        assert (
            f"outside the ephemeral base '{report['audit_base']}': the project's own generate_schema_name "
            in (report["error"])
        )
        assert f"macro ({macro}:1) does not read the var quality_schema_base" in report["error"]
        assert report["error"].endswith("your macro's body `{%- endif -%}` (`uv run quality init` prints it).")


def test_a_profile_duckdb_path_outside_the_project_is_refused_before_anything_is_created(
    shop: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "Users" / "jane" / "data" / "shop.duckdb"
    profiles = shop / "dbt" / "profiles.yml"
    text = profiles.read_text(encoding="utf-8")
    profiles.write_text(text.replace("\"{{ env_var('SHOP_DUCKDB_PATH', 'shop.duckdb') }}\"", str(elsewhere)))

    assert gate(shop, "--fixtures", "fixtures") == 1

    assert only_report(shop / "runs")["error"] == (
        f"the DuckDB path {elsewhere} of target 'local' ({profiles}:6) is absolute and outside the project "
        f"({shop / 'dbt'}), and its folder {elsewhere.parent} does not exist; the harness creates nothing there. "
        "Point `path` at a file in the project, e.g. `path: \"{{ env_var('QUALITY_DUCKDB_PATH', "
        "'.quality/warehouse.duckdb') }}\"`, or create that folder first if the warehouse belongs there."
    )
    assert not (elsewhere.parents[2]).exists(), "no directory tree at the profile's path"


def add_analysis_only_source(project: Path) -> None:
    """A second source table, `events`, with no data anywhere, that only an analysis reads."""
    schema = project / "models" / "schema.yml"
    schema.write_text(
        schema.read_text(encoding="utf-8").replace(
            "      - name: sales\n", "      - name: sales\n      - name: events\n"
        )
    )
    analysis = project / "analyses" / "weekly_events.sql"
    analysis.parent.mkdir()
    analysis.write_text("select count(*) as events from {{ source('raw', 'events') }}\n", encoding="utf-8")


class TestASourceReadOnlyByAnAnalysis:
    def test_does_not_block_the_gate(self, shop: Path) -> None:
        add_analysis_only_source(shop / "dbt")

        assert gate(shop, "--fixtures", "fixtures") == 0

        report = only_report(shop / "runs")
        assert (report["status"], report["raw_tables"]) == ("published", {"sales": 3})

    def test_does_not_block_pytest(self, pytester: pytest.Pytester) -> None:
        write_mini_project(pytester.path)
        add_analysis_only_source(pytester.path / "dbt")
        pytester.makeini("[pytest]\ndbt_project_dir = dbt\nraw_fixtures_dir = fixtures\n")
        pytester.makepyfile(test_shop=BUILD_ONLY)

        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

        result.assert_outcomes(passed=1)


class TestTheGateFindsRawDataWherePytestDoes:
    @pytest.mark.parametrize(
        ("ini", "folder", "origin"),
        [
            ("", "tests/fixtures/raw", "the default folder"),
            (
                '[tool.pytest.ini_options]\nraw_fixtures_dir = "data/raw"\n',
                "data/raw",
                "ini raw_fixtures_dir in pyproject.toml",
            ),
            ("[pytest]\nraw_fixtures_dir = data/raw\n", "data/raw", "ini raw_fixtures_dir in pytest.ini"),
        ],
        ids=["default-folder", "pyproject-ini", "pytest-ini"],
    )
    def test_with_no_fixtures_option_it_loads_the_same_folder_and_says_which(
        self, shop: Path, capsys: pytest.CaptureFixture[str], ini: str, folder: str, origin: str
    ) -> None:
        (shop / folder).mkdir(parents=True)
        (shop / "fixtures" / "sales.csv").rename(shop / folder / "sales.csv")
        if ini:
            (shop / ("pyproject.toml" if "tool.pytest" in ini else "pytest.ini")).write_text(ini, encoding="utf-8")

        assert gate(shop) == 0

        assert squeezed(
            f"raw fixtures: 1 <table>.csv file(s) of {shop / folder} ({origin}), as pytest; --fixtures <folder> "
            "loads another"
        ) in squeezed(capsys.readouterr().out)
        assert only_report(shop / "runs")["raw_tables"] == {"sales": 3}

    def test_with_no_fixture_folder_it_says_so_and_reads_the_targets_raw_tables(
        self, shop: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert gate(shop) == 1

        out = squeezed(capsys.readouterr().out)
        assert (
            squeezed(
                f"raw fixtures: none ({shop / 'tests' / 'fixtures' / 'raw'}, the default folder: no such folder); raw "
                "data: the project's seeds, else the target's own raw tables"
            )
            in out
        )
        assert squeezed("source table(s) raw.sales do not exist") in out

    def test_pytest_says_which_folder_it_loads(self, pytester: pytest.Pytester) -> None:
        write_mini_project(pytester.path)
        pytester.makeini("[pytest]\ndbt_project_dir = dbt\nraw_fixtures_dir = fixtures\n")
        pytester.makepyfile(test_shop="def test_nothing():\n    pass\n")

        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

        result.stdout.fnmatch_lines(
            [
                f"quality: raw fixtures: 1 <table>.csv file(s) of {pytester.path / 'fixtures'} (ini raw_fixtures_dir in tox.ini)"
            ]
        )


def test_the_gates_first_message_names_the_yaml_fix_for_a_source_that_names_its_schema_as_written(shop: Path) -> None:
    """No raw data yet, a source written `schema: raw`: the fix --fixtures needs first is in this message, not
    in the next run's."""
    schema_yml = shop / "dbt" / "models" / "schema.yml"
    schema_yml.write_text(schema_yml.read_text(encoding="utf-8").replace("\"{{ var('raw_schema', 'raw') }}\"", "raw"))

    assert gate(shop) == 1

    report = only_report(shop / "runs")
    assert report["error"] == (
        f"no raw data on target 'local' (duckdb at {shop / 'shop.duckdb'}): source table(s) raw.sales do not exist. "
        "Give the gate raw data with --fixtures <folder of <table>.csv>, or load those tables into the target first. "
        f"The harness loads raw data into the schema var('raw_schema') names ({report['audit_base']}_raw here), but "
        "these sources name their schema as written, so no fixture or seed can reach them. Let them read the var, "
        "which keeps their schema in your own runs: in models/schema.yml, source 'raw' (tables sales): "
        "schema: \"{{ var('raw_schema', 'raw') }}\"."
    )


TIMESTAMP_SNAPSHOT = """snapshots:
  - name: sales_history
    relation: source('raw', 'sales')
    config:
      schema: snapshots
      unique_key: sale_id
      strategy: timestamp
      updated_at: updated_at
"""


def write_sales(folder: Path, rows: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sales.csv").write_text(f"sale_id,amount,updated_at\n{rows}", encoding="utf-8")
    return folder


def test_raw_data_older_than_a_snapshots_history_in_prod_is_one_message_with_the_choices(shop: Path) -> None:
    snapshots = shop / "dbt" / "snapshots" / "snapshots.yml"
    snapshots.parent.mkdir()
    snapshots.write_text(TIMESTAMP_SNAPSHOT, encoding="utf-8")
    first = write_sales(
        shop / "batch1", "1,10.50,2026-03-01 10:00:00\n2,20.00,2026-03-02 10:00:00\n3,5.25,2026-03-03\n"
    )
    older = write_sales(shop / "older", "1,11.00,2025-01-01 10:00:00\n2,21.00,2025-01-02 10:00:00\n3,5.25,2026-03-03\n")
    assert gate(shop, "--fixtures", str(first)) == 0
    (shop / "runs").rename(shop / "runs_first")

    assert gate(shop, "--fixtures", str(older)) == 1

    report = only_report(shop / "runs")
    assert report["error"] == (
        "The raw data are older than the snapshot history in prod: snapshot sales_history: for 2 of 3 sale_id "
        "value(s), updated_at in the raw rows of source('raw', 'sales') is earlier than in the current version "
        "prod holds in snapshots.sales_history (newest there: 2026-03-03 00:00:00). A timestamp snapshot only moves "
        "forward, so its current versions would contradict these raw rows and the models joining them would fail "
        "(other raw data than prod was built from, e.g. generated with --orders after the fixtures). Choose: a "
        "separate warehouse for these data, `SHOP_DUCKDB_PATH=.quality/generated-prod.duckdb uv run quality gate "
        "...` (the target's path reads SHOP_DUCKDB_PATH); or a fresh local prod: move "
        f"{shop / 'shop.duckdb'} aside and run again; or raw data whose updated_at continue prod's history. "
        "Nothing was built."
    )
    assert (report["models"], report["published"]) == ([], [])


REPO = Path(__file__).resolve().parents[2]


def test_the_readmes_sequence_fixtures_then_generated_data_in_a_warehouse_of_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: `quality gate --fixtures tests/fixtures/raw`, then generated data with
    `QUALITY_DUCKDB_PATH=.quality/generated-prod.duckdb quality gate --orders N`. Into the fixtures' prod,
    the generated customers are older than the snapshot history: one message says so and what to do."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QUALITY_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("DBT_TARGET", raising=False)
    command = ["gate", "--project-dir", str(REPO / "dbt"), "--artifacts-dir", str(tmp_path / "runs")]
    assert main([*command, "--fixtures", str(REPO / "tests" / "fixtures" / "raw")]) == 0
    (tmp_path / "runs").rename(tmp_path / "runs_fixtures")

    assert main([*command, "--orders", "1000"]) == 1

    error = only_report(tmp_path / "runs")["error"]
    assert error.startswith(
        "The raw data are older than the snapshot history in prod: snapshot snap_customers: for 16 of 30 "
        "customer_id value(s), updated_at in the raw rows of source('raw', 'customers') is earlier than in the "
        "current version prod holds in snapshots.snap_customers (newest there: 2025-07-10 02:04:30)."
    )
    assert "`QUALITY_DUCKDB_PATH=.quality/generated-prod.duckdb uv run quality gate ...`" in error
    (tmp_path / "runs").rename(tmp_path / "runs_refused")

    monkeypatch.setenv("QUALITY_DUCKDB_PATH", ".quality/generated-prod.duckdb")
    assert main([*command, "--orders", "1000"]) == 0
    assert only_report(tmp_path / "runs")["status"] == "published"
