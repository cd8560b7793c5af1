"""branch_name: main, or feat/ fix/ chore/ hotfix/ plus a lower-case name."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooks import branch_name
from tests.hooks.conftest import git


@pytest.mark.parametrize("branch", ["main", "feat/orders-mart", "fix/123-null-amounts", "chore/bump.dbt", "hotfix/x"])
def test_allowed_branches_pass(branch: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert branch_name.main(["--branch", branch]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("branch", ["master", "feature/x", "feat/", "feat/Orders", "fix/a b", "wip"])
def test_other_branches_fail(branch: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert branch_name.main(["--branch", branch]) == 1
    assert capsys.readouterr().out.startswith(f"branch '{branch}' does not follow the naming rule")


def test_message_suggests_a_rename(capsys: pytest.CaptureFixture[str]) -> None:
    assert branch_name.main(["--branch", "Orders Mart"]) == 1
    assert capsys.readouterr().out.rstrip().endswith("git branch -m Orders Mart feat/orders-mart")


def test_the_pushed_branch_comes_from_pre_commit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/wip")
    assert branch_name.main([]) == 1
    monkeypatch.setenv("PRE_COMMIT_LOCAL_BRANCH", "refs/tags/v1.0.0")
    assert branch_name.main([]) == 0


def test_checked_out_branch_and_detached_head(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRE_COMMIT_LOCAL_BRANCH", raising=False)
    assert branch_name.main([]) == 0
    git(repo, "checkout", "--quiet", "-b", "wip")
    assert branch_name.main([]) == 1
    git(repo, "checkout", "--quiet", "--detach")
    assert branch_name.main([]) == 0
