"""SIGINT/SIGTERM handling: a signal raises KeyboardInterrupt, waits for the end of a deferred step, and the
CLI turns it into exit 130 with the command's own account (never the 'please report it' of a crash)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import typer

from quality import cli, interrupts


def _deferred_step(finished: list[str]) -> None:
    with interrupts.deferred():
        os.kill(os.getpid(), signal.SIGTERM)
        finished.append(f"the step ran to its end (pending: {interrupts.pending()})")


def test_a_signal_inside_a_deferred_step_is_raised_when_the_step_ends() -> None:
    finished: list[str] = []
    with interrupts.handled():
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            _deferred_step(finished)
        assert interrupts.received() == "SIGTERM"
        assert not interrupts.pending()
    assert finished == ["the step ran to its end (pending: True)"]


def _step(finished: list[str]) -> None:
    os.kill(os.getpid(), signal.SIGINT)
    finished.append("not reached")


def test_outside_a_deferred_step_a_signal_interrupts_at_once() -> None:
    finished: list[str] = []
    with interrupts.handled(), pytest.raises(KeyboardInterrupt, match="SIGINT"):
        _step(finished)
    assert finished == []


def test_the_previous_handlers_come_back_after_the_command() -> None:
    def previous(signum: int, frame: object) -> None:  # a handler of the caller's (the plugin may hold ours)
        return None

    ambient = signal.signal(signal.SIGTERM, previous)
    try:
        with interrupts.handled():
            assert signal.getsignal(signal.SIGTERM) is not previous
        assert signal.getsignal(signal.SIGTERM) is previous
    finally:
        signal.signal(signal.SIGTERM, ambient)


ACCOUNT = "SIGTERM during publish; nothing was published: prod is untouched."


def _app_raising(error: BaseException) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def run() -> int:
        interrupts.tell(ACCOUNT)
        if isinstance(error, KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)  # the installed handler raises KeyboardInterrupt here
        raise error

    return app


@pytest.mark.parametrize(
    "error",
    [KeyboardInterrupt("SIGTERM"), RuntimeError("duckdb.InterruptException: INTERRUPT Error")],
    ids=["KeyboardInterrupt", "an interrupt a library turned into its own error"],
)
def test_the_cli_exits_130_with_the_commands_account(
    error: BaseException, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = _app_raising(error)
    monkeypatch.setattr(cli, "build_app", lambda: app)
    if not isinstance(error, KeyboardInterrupt):  # the signal arrived earlier; a library reported it its way
        monkeypatch.setattr(interrupts, "received", lambda: "SIGTERM")

    assert cli.main([]) == 130

    assert " ".join(capsys.readouterr().err.split()) == f"interrupted: {ACCOUNT}"


class _Workspace:
    """What `run_gate` needs of a workspace: a base name, a dbt invoker with threads, and close()."""

    base = "audit_interrupted"

    def __init__(self) -> None:
        self.dbt = type("Invoker", (), {"threads": None})()

    def close(self) -> list[str]:
        return ["audit_interrupted_marts"]


def _dbt_failing_after_the_signal(*args: object) -> None:
    """dbt receives the KeyboardInterrupt in one of its threads and reports a failed build of its own."""
    from quality.errors import DbtRunError

    try:
        os.kill(os.getpid(), signal.SIGTERM)
    except KeyboardInterrupt:
        raise DbtRunError("dbt build failed before running any node: Connection already closed!") from None


def test_an_error_a_library_raises_after_the_signal_is_its_effect_not_a_failure_before_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from quality.dbt.project import DbtProject
    from quality.dbt.targets import Target
    from quality.wap import gate

    monkeypatch.setattr(gate, "refuse_database_file_outside_project", lambda project, target: None)
    monkeypatch.setattr(gate, "open_workspace", lambda *args, **kwargs: _Workspace())
    monkeypatch.setattr(gate, "_audit_and_publish", _dbt_failing_after_the_signal)
    project = DbtProject(root=tmp_path, name="shop", profile="shop", profiles_dir=tmp_path)
    options = gate.GateOptions(artifacts_root=tmp_path / "runs")

    with interrupts.handled(), pytest.raises(KeyboardInterrupt):
        gate.run_gate(project, Target(name="local", engine="duckdb", schema="main"), options)

    report = json.loads(next((tmp_path / "runs").glob("*/report.json")).read_text(encoding="utf-8"))
    assert report["status"] == "interrupted"
    assert report["error"] == "SIGTERM during start-up; nothing was published: prod is untouched."
    assert report["dropped_schemas"] == ["audit_interrupted_marts"]
