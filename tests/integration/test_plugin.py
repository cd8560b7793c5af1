"""The pytest plugin on a project that is not ours: fixtures, ephemeral schemas, guards, cleanup.

The build shared by xdist workers (and `--build-per-worker`) is tested in test_shared_build.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.integration.mini_project import write_mini_project

pytestmark = pytest.mark.integration

BUILD_AND_CHECK = """
import duckdb

def test_build_lands_in_the_ephemeral_schema(ephemeral_schema, dbt_build, gx):
    assert dbt_build.success
    assert {n.name: n.status for n in dbt_build.nodes} == {
        "stg_sales": "success", "fct_sales": "success", "unique_fct_sales_sale_id": "pass"}
    rows = ephemeral_schema.engine.query(f'select sum(amount) from "{ephemeral_schema.base}_marts".fct_sales')
    assert float(rows[0][0]) == 35.75
    print("BASE=" + ephemeral_schema.base)
    open(ephemeral_schema.base + ".base", "w").close()
    gx.assert_valid("fct_sales")
"""

# The flag appears only with its content: written aside, then renamed over (atomic on one file system),
# so the outer test never reads an empty or half-written flag, however loaded the machine is.
SLOW_TEST = """
import os
import time

def test_waits_for_a_signal(ephemeral_schema, dbt_build):
    print("BASE=" + ephemeral_schema.base, flush=True)
    with open("built.flag.tmp", "w") as flag:
        flag.write(ephemeral_schema.base)
    os.replace("built.flag.tmp", "built.flag")
    time.sleep(120)
"""


@pytest.fixture
def shop(pytester: pytest.Pytester) -> pytest.Pytester:
    write_mini_project(pytester.path)
    pytester.makeini("[pytest]\ndbt_project_dir = dbt\nraw_fixtures_dir = fixtures\n")
    return pytester


def _ephemeral_leftovers(root: Path) -> list[str]:
    folder = root / ".quality" / "ephemeral"
    return sorted(p.name for p in folder.glob("*.duckdb")) if folder.is_dir() else []


def test_session_builds_validates_and_drops_its_schema(shop: pytest.Pytester) -> None:
    shop.makepyfile(test_shop=BUILD_AND_CHECK)
    result = shop.runpytest_subprocess("-p", "no:cacheprovider", "-s", "--schema-prefix", "ci")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*BASE=ci_*t*_*"])
    assert _ephemeral_leftovers(shop.path) == []


def test_keep_schema_keeps_the_workspace_for_debugging(shop: pytest.Pytester) -> None:
    shop.makepyfile(test_shop=BUILD_AND_CHECK)
    result = shop.runpytest_subprocess("-p", "no:cacheprovider", "-s", "--keep-schema")
    result.assert_outcomes(passed=1)
    (kept,) = _ephemeral_leftovers(shop.path)
    base = kept.removesuffix(".duckdb")
    connection = duckdb.connect(str(shop.path / ".quality" / "ephemeral" / kept), read_only=True)
    schemas = {row[0] for row in connection.execute("select schema_name from information_schema.schemata").fetchall()}
    assert {f"{base}_raw", f"{base}_staging", f"{base}_marts"} <= schemas


def test_a_project_without_the_schema_macro_is_refused_before_building(pytester: pytest.Pytester) -> None:
    write_mini_project(pytester.path, with_schema_macro=False)
    pytester.makeini("[pytest]\ndbt_project_dir = dbt\nraw_fixtures_dir = fixtures\n")
    pytester.makepyfile(test_shop=BUILD_AND_CHECK)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*would be built in schema 'main_*', outside the ephemeral base*"])
    assert not (pytester.path / "dbt" / "shop.duckdb").exists()


def wait_for_flag(flag: Path, process: subprocess.Popen[str], timeout: float = 300) -> str:
    """The content of `flag` once it is there and not empty; fails if `process` ends first or on timeout.

    The content is read before anything is done to the process: the caller kills it right after.
    """
    deadline = time.monotonic() + timeout
    while True:
        content = flag.read_text(encoding="utf-8").strip() if flag.is_file() else ""
        if content:
            return content
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the inner run ended before building: {process.communicate()[0]}")
        time.sleep(0.2)


def _start_and_wait_for_build(root: Path) -> tuple[subprocess.Popen[str], str]:
    """The inner pytest run, started, once it has built its schema; and that schema's base name."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", "test_slow.py"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, wait_for_flag(root / "built.flag", process)


WRITE_FLAG_LATER = """
import os, sys, time
time.sleep(0.5)
with open(sys.argv[1] + ".tmp", "w") as flag:
    flag.write("ci_base")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(60)
"""


def test_the_build_flag_is_read_only_once_its_content_has_landed(tmp_path: Path) -> None:
    """A flag that exists but is still empty is no build yet: the reader waits for its content."""
    flag = tmp_path / "built.flag"
    flag.touch()
    process = subprocess.Popen([sys.executable, "-c", WRITE_FLAG_LATER, str(flag)], text=True)
    try:
        assert wait_for_flag(flag, process, timeout=60) == "ci_base"
        assert process.poll() is None, "read while the writer still runs, as the signal tests do"
    finally:
        process.kill()
        process.wait(timeout=30)


def test_sigterm_during_a_run_still_drops_the_schema(shop: pytest.Pytester) -> None:
    shop.makepyfile(test_slow=SLOW_TEST)
    process, _ = _start_and_wait_for_build(shop.path)
    assert _ephemeral_leftovers(shop.path) != []
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode != 0, output
    assert _ephemeral_leftovers(shop.path) == [], output


def test_sigkill_leaves_a_schema_that_quality_reap_removes(shop: pytest.Pytester) -> None:
    shop.makepyfile(test_slow=SLOW_TEST)
    process, base = _start_and_wait_for_build(shop.path)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert _ephemeral_leftovers(shop.path) == [f"{base}.duckdb"]
    env = {**os.environ, "SHOP_DUCKDB_PATH": str(shop.path / "shop.duckdb")}
    reaped = subprocess.run(
        [sys.executable, "-m", "quality.cli", "reap", "--project-dir", "dbt", "--older-than", "0s"],
        cwd=shop.path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert reaped.returncode == 0, reaped.stderr
    assert f"{base}.duckdb" in reaped.stdout
    assert _ephemeral_leftovers(shop.path) == []


SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sample_project"
BUILD_ONLY = """
def test_builds(dbt_build):
    assert dbt_build.success
"""


def test_a_project_whose_raw_data_are_seeds_builds_after_init_without_fixture_files(pytester: pytest.Pytester) -> None:
    from quality.onboarding import scaffold

    shutil.copytree(SAMPLE, pytester.path, dirs_exist_ok=True)
    (pytester.path / "pyproject.toml").write_text('[project]\nname = "jaffle"\nversion = "0.1.0"\n', encoding="utf-8")
    scaffold.apply(scaffold.plan(pytester.path, pytester.path))
    assert not (pytester.path / "tests" / "fixtures" / "raw").exists()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "tests/test_dbt_quality.py")
    result.assert_outcomes(passed=2)
    assert _ephemeral_leftovers(pytester.path) == []


def test_a_source_without_fixture_or_seed_is_one_error_naming_it(pytester: pytest.Pytester) -> None:
    write_mini_project(pytester.path)
    shutil.rmtree(pytester.path / "fixtures")
    pytester.makeini("[pytest]\ndbt_project_dir = dbt\n")
    pytester.makepyfile(test_shop=BUILD_ONLY)
    # an explicit prefix: under CI=true the default is `ci`
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--schema-prefix", "dev")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "no raw data on the test workspace dev_*: source table(s) "
            "dev_*_raw.sales do not exist. No raw fixtures were loaded "
            f"({pytester.path / 'tests' / 'fixtures' / 'raw'} does not exist). Give the tests raw data with "
            "--raw-fixtures-dir <folder> (or ini raw_fixtures_dir) holding one <table>.csv per source table, "
            "or make those tables seeds of the project."
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "During handling" not in result.stdout.str()
    assert _ephemeral_leftovers(pytester.path) == []


def test_a_broken_unit_test_fails_dbt_build_showing_the_expected_and_the_actual_rows(shop: pytest.Pytester) -> None:
    """The plugin's failure names the row that differs, both sides, not dbt's `4.00→3.00` (issue 16, item 5a)."""
    (shop.path / "dbt" / "models" / "unit.yml").write_text(
        "unit_tests:\n  - name: fct_sales_casts_amount\n    model: fct_sales\n    given:\n"
        "      - input: ref('stg_sales')\n        rows: [{sale_id: 2, amount: 3}]\n"
        "    expect:\n      rows: [{sale_id: 2, amount: 4}]\n",
        encoding="utf-8",
    )
    shop.makepyfile(test_shop=BUILD_ONLY)
    result = shop.runpytest_subprocess("-p", "no:cacheprovider", "--schema-prefix", "dev")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*- unit_test fct_sales_casts_amount on model fct_sales [[]fail]: 1 row(s) differ from the expected rows:",
            "*    expected: sale_id=2, amount=4.00",
            "*    actual:   sale_id=2, amount=3.00   (differs in amount)",
        ]
    )


def test_a_raw_fixtures_dir_passed_on_the_command_line_must_exist(shop: pytest.Pytester) -> None:
    shop.makepyfile(test_shop=BUILD_ONLY)
    result = shop.runpytest_subprocess("-p", "no:cacheprovider", "--raw-fixtures-dir", "nowhere")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*raw fixture directory {shop.path / 'nowhere'} does not exist*"])


def test_a_missing_project_names_the_plugin_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shop=BUILD_ONLY)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--dbt-project-dir", "nope")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*no dbt project file at *nope/dbt_project.yml; pass --dbt-project-dir (or ini dbt_project_dir) pointing*"]
    )
