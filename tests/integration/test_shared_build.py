"""One build per session, shared by the xdist workers: built once, read-only, dropped once at the end.

Real runs of the plugin (pytester subprocesses) on a project that is not ours; dbt's own log in the run's
artifacts is the count of `dbt build` invocations, whatever the plugin says about itself.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.mini_project import write_mini_project
from tests.integration.test_plugin import BUILD_AND_CHECK, _ephemeral_leftovers, wait_for_flag

pytestmark = pytest.mark.integration

# Each test leaves `<base>.<worker>.<test>.seen` and, in the one process that built, `<base>.built`.
READ_THE_SHARED_BUILD = """
import os

def record(ephemeral_schema, shared_build, name):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    open(f"{ephemeral_schema.base}.{worker}.{name}.seen", "w").close()
    if shared_build.built_here:
        open(f"{ephemeral_schema.base}.{shared_build.builder}.built", "w").close()
""" + "".join(
    f"""
def test_reads_{name}(ephemeral_schema, shared_build, dbt_build, gx):
    record(ephemeral_schema, shared_build, "{name}")
    assert dbt_build.success and shared_build.base == ephemeral_schema.base
    rows = ephemeral_schema.engine.query(f'select sum(amount) from "{{ephemeral_schema.base}}_marts".fct_sales')
    assert float(rows[0][0]) == 35.75
    assert gx.validate("fct_sales").ok
    gx.assert_valid()
"""
    for name in ("a", "b", "c", "d")
)

WRITES_TO_THE_SHARED_BUILD = """
def test_dbt_run_on_the_shared_build(ephemeral_schema, dbt_build):
    ephemeral_schema.dbt.run(["run", "--select", "fct_sales"])

def test_sql_write_on_the_shared_build(ephemeral_schema, dbt_build):
    ephemeral_schema.engine.execute(f'delete from "{ephemeral_schema.base}_marts".fct_sales')

def test_fixture_load_on_the_shared_build(ephemeral_schema, tmp_path):
    (tmp_path / "sales.csv").write_text("sale_id,amount\\n9,1.00\\n")
    ephemeral_schema.load_fixtures(tmp_path)
"""

WORKER_BUILDS = """
import os

def check(worker_schema, worker_build, worker_gx, dbt, name):
    assert worker_build.success and dbt is worker_schema.dbt
    open(f"{worker_schema.base}.{name}.worker", "w").close()
    marts = f'"{worker_schema.base}_marts".fct_sales'
    worker_schema.engine.execute(f"delete from {marts} where sale_id = 3")  # writable, and this worker's own
    assert worker_schema.engine.query(f"select count(*) from {marts}") == [(2,)]
    assert dbt.run(["run", "--select", "fct_sales"]).success  # dbt writes here too: back to 3 rows
    assert worker_schema.engine.query(f"select count(*) from {marts}") == [(3,)]
    worker_gx.assert_valid("fct_sales")

def test_worker_a(worker_schema, worker_build, worker_gx, dbt):
    check(worker_schema, worker_build, worker_gx, dbt, "a")

def test_worker_b(worker_schema, worker_build, worker_gx, dbt):
    check(worker_schema, worker_build, worker_gx, dbt, "b")
"""

SLOW_SHARED = """
import os
import time

def wait(ephemeral_schema, dbt_build, name):
    with open(name + ".tmp", "w") as flag:
        flag.write(ephemeral_schema.base)
    os.replace(name + ".tmp", name)
    time.sleep(120)

def test_waits_a(ephemeral_schema, dbt_build):
    wait(ephemeral_schema, dbt_build, "built_a.flag")

def test_waits_b(ephemeral_schema, dbt_build):
    wait(ephemeral_schema, dbt_build, "built_b.flag")
"""


@pytest.fixture
def shop(pytester: pytest.Pytester) -> pytest.Pytester:
    write_mini_project(pytester.path)
    pytester.makeini("[pytest]\ndbt_project_dir = dbt\nraw_fixtures_dir = fixtures\n")
    return pytester


def dbt_builds(root: Path) -> int:
    """`dbt build` invocations of every run under root, counted in dbt's own logs."""
    return sum(log.read_text(encoding="utf-8").count("Command `cli build`") for log in root.rglob("dbt.log"))


def test_two_workers_share_one_build_built_once_and_dropped_at_the_end(shop: pytest.Pytester) -> None:
    shop.makepyfile(test_reads=READ_THE_SHARED_BUILD)
    result = shop.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--dist", "load")
    result.assert_outcomes(passed=4)
    seen = [path.name.split(".") for path in shop.path.glob("*.seen")]
    assert len(seen) == 4
    assert len({base for base, *_ in seen}) == 1, seen  # every test of every worker saw one base
    (base,) = {base for base, *_ in seen}
    assert not base.rsplit("_", 1)[1].startswith("gw"), "the shared base has no worker suffix"
    assert {worker for _, worker, *_ in seen} == {"gw0", "gw1"}, "both workers ran tests"
    assert len(list(shop.path.glob("*.built"))) == 1, "one process built"
    assert dbt_builds(shop.path / "artifacts") == 1, "dbt build ran once"
    assert _ephemeral_leftovers(shop.path) == []


def test_a_serial_run_builds_once_too(shop: pytest.Pytester) -> None:
    shop.makepyfile(test_reads=READ_THE_SHARED_BUILD)
    result = shop.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    assert [path.name.split(".")[1] for path in shop.path.glob("*.built")] == ["main"]
    assert dbt_builds(shop.path / "artifacts") == 1
    assert _ephemeral_leftovers(shop.path) == []


def test_a_failed_build_fails_in_every_worker_and_is_built_once(shop: pytest.Pytester) -> None:
    (shop.path / "fixtures" / "sales.csv").write_text("sale_id,amount\n1,10.50\n1,20.00\n", encoding="utf-8")
    shop.makepyfile(test_reads=READ_THE_SHARED_BUILD)
    result = shop.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--dist", "load")
    result.assert_outcomes(errors=4)
    output = result.stdout.str()
    assert output.count("test unique_fct_sales_sale_id on model fct_sales, column sale_id [fail]") >= 4, output
    assert "Traceback" not in output
    assert dbt_builds(shop.path / "artifacts") == 1, "the failed build was not built again"
    assert _ephemeral_leftovers(shop.path) == []


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "two_workers"])
def test_a_write_to_the_shared_build_is_refused_the_same_way_serial_and_parallel(
    shop: pytest.Pytester, workers: list[str]
) -> None:
    shop.makepyfile(test_writes=WRITES_TO_THE_SHARED_BUILD)
    result = shop.runpytest_subprocess("-p", "no:cacheprovider", *workers)
    result.assert_outcomes(failed=3)
    text = " ".join(result.stdout.str().split())
    for what in ("`dbt run --select fct_sales`", "the statement `delete from", "a CSV load for"):
        assert f"SharedBuildReadOnlyError: refused {what}" in text, text
    assert "it is read-only, because every test of the session (and every xdist worker) reads that one" in text
    assert "the fixtures worker_schema, worker_dbt, worker_seed_fixtures, worker_build and worker_gx" in text
    assert _ephemeral_leftovers(shop.path) == []


def test_worker_fixtures_give_each_worker_its_own_writable_build(shop: pytest.Pytester) -> None:
    shop.makepyfile(test_workers=WORKER_BUILDS)
    result = shop.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--dist", "load")
    result.assert_outcomes(passed=2)
    bases = {path.name.split(".")[0] for path in shop.path.glob("*.worker")}
    assert {base.rsplit("_", 1)[1] for base in bases} == {"gw0", "gw1"}, result.outlines
    assert len({base.rsplit("_", 2)[1] for base in bases}) == 1  # one run id shared by the workers
    assert _ephemeral_leftovers(shop.path) == []


def test_build_per_worker_gives_the_default_fixtures_a_build_per_worker(shop: pytest.Pytester) -> None:
    shop.makepyfile(test_a=BUILD_AND_CHECK, test_b=BUILD_AND_CHECK.replace("def test_build", "def test_build_b"))
    result = shop.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--dist", "load", "--build-per-worker")
    result.assert_outcomes(passed=2)
    bases = {path.stem for path in shop.path.glob("*.base")}
    assert {base.rsplit("_", 1)[1] for base in bases} == {"gw0", "gw1"}, result.outlines
    assert dbt_builds(shop.path / "artifacts") == 2
    assert _ephemeral_leftovers(shop.path) == []


def test_sigterm_to_the_xdist_controller_still_drops_the_shared_build(shop: pytest.Pytester) -> None:
    shop.makepyfile(test_slow=SLOW_SHARED)
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--dist", "load", "test_slow.py"],
        cwd=shop.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = wait_for_flag(shop.path / "built_a.flag", process)
    assert wait_for_flag(shop.path / "built_b.flag", process) == base, "both workers read the one build"
    assert _ephemeral_leftovers(shop.path) == [f"{base}.duckdb"]
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=180)
    assert process.returncode != 0, output
    assert _ephemeral_leftovers(shop.path) == [], output
