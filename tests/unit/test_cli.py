from pathlib import Path

import pytest

from quality.cli import COMMAND_MODULES, main


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("gate", "reap", "rollback", "diff", "doctor", "docs"):
        assert command in out
    assert len(COMMAND_MODULES) == len(set(COMMAND_MODULES))


def test_a_missing_project_is_one_clear_error_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate", "--project-dir", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert "no dbt project file at" in err
    assert "pass --project-dir pointing at the folder that holds dbt_project.yml." in err
    assert "--dbt-project-dir" not in err  # the pytest plugin's name, not an option of `quality gate`
    assert "Traceback" not in err


def test_a_bad_duration_names_the_expected_form(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reap", "--older-than", "six hours"]) == 1
    assert "'six hours' is not a duration; write a number and a unit, e.g. 30m, 6h or 2d." in capsys.readouterr().err


def test_an_unknown_option_is_a_usage_error_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate", "--no-such-option"]) == 2
    assert "No such option" in capsys.readouterr().err
