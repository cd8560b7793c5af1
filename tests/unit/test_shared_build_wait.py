"""What a worker does while another builds the shared project, and how a process that ran dbt exits.

A worker that finds the shared-build lock taken starts its own work for the wait (the plugin: importing
Great Expectations) and finishes it once the lock is its own, before reading the build; the builder waits
for nothing. At exit, a process that imported dbt or GX freezes its heap instead of collecting it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from filelock import FileLock

from quality.dbt.targets import Target
from quality.harness.gx_fixture import import_in_background
from quality.harness.shared_build import LOCK, RECORD, ensure_built

ROOT = Path(__file__).resolve().parents[2]
TARGET = Target(name="local", engine="duckdb", schema="main")
OUTCOME = {"loaded": {"orders": 3}, "run": None, "fixtures_error": None, "build_error": None}
RECORDED = {"base": "dev_x", "builder": "gw1", "elapsed": 1.0, **OUTCOME}


def test_a_worker_that_finds_the_build_under_way_works_in_the_wait_and_finishes_before_reading_it(
    tmp_path: Path,
) -> None:
    events: list[str] = []
    holding, started = threading.Event(), threading.Event()

    def while_waiting() -> object:
        events.append("started while the lock is taken")
        started.set()
        return lambda: events.append(f"finished with the record there: {(tmp_path / RECORD).is_file()}")

    def build_elsewhere() -> None:  # the other worker: holds the lock, ends its build while this one waits
        with FileLock(str(tmp_path / LOCK)):
            holding.set()
            started.wait(10)
            (tmp_path / RECORD).write_text(json.dumps(RECORDED), encoding="utf-8")

    other = threading.Thread(target=build_elsewhere)
    other.start()
    holding.wait(10)
    build = ensure_built(tmp_path, "dev_x", "gw0", TARGET, _never, while_waiting=while_waiting)
    other.join()

    assert events == ["started while the lock is taken", "finished with the record there: True"]
    assert (build.built_here, build.builder, build.loaded) == (False, "gw1", {"orders": 3})


def test_the_builder_waits_for_nothing_and_starts_nothing(tmp_path: Path) -> None:
    def while_waiting() -> object:
        raise AssertionError("nothing to wait for")

    build = ensure_built(tmp_path, "dev_x", "gw0", TARGET, lambda: dict(OUTCOME), while_waiting=while_waiting)

    assert (build.built_here, build.builder, build.loaded) == (True, "gw0", {"orders": 3})


def test_the_background_import_runs_in_its_own_thread_and_its_join_waits_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "slow_module_for_the_wait.py").write_text(
        "import threading, time\ntime.sleep(0.2)\nTHREAD = threading.current_thread().name\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("quality.harness.gx_fixture.VALIDATION_MODULE", "slow_module_for_the_wait")

    import_in_background()()

    module = sys.modules.pop("slow_module_for_the_wait")
    assert module.THREAD == "quality-gx-import"


def test_a_failed_background_import_is_left_to_the_validation_that_needs_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("quality.harness.gx_fixture.VALIDATION_MODULE", "no_such_module_for_the_wait")

    import_in_background()()

    assert "no_such_module_for_the_wait" not in sys.modules
    assert capsys.readouterr().err == ""


EXIT_PROBE = """
import atexit, gc, sys, types
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))  # runs after the plugin's
from quality.harness import plugin
plugin._skip_the_exit_collection()
plugin._skip_the_exit_collection()
if sys.argv[1] == "dbt":
    sys.modules["dbt"] = types.ModuleType("dbt")
"""


@pytest.mark.parametrize(("imported", "frozen"), [("dbt", "True"), ("nothing", "False")])
def test_a_process_that_imported_dbt_freezes_its_heap_at_exit_and_no_other(imported: str, frozen: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", EXIT_PROBE, imported], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout.splitlines() == [f"frozen at exit: {frozen}"]


def _never() -> dict[str, object]:
    raise AssertionError("the other worker builds")
