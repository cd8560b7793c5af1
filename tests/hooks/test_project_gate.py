"""The repository itself passes its own gate: `pre-commit run --all-files` on a copy of every file git sees."""

from __future__ import annotations

from pathlib import Path

from tests.hooks.conftest import PreCommit, commit_all, copy_repository, init_repo, output_of


def test_the_project_passes_pre_commit_run_all_files(pre_commit: PreCommit, tmp_path: Path) -> None:
    copy_repository(tmp_path)
    init_repo(tmp_path, pre_commit.env)
    commit_all(tmp_path, "chore: snapshot of the working tree", pre_commit.env)
    result = pre_commit.run(tmp_path, "run", "--all-files")
    assert result.returncode == 0, output_of(result)
    assert pre_commit.git(tmp_path, "status", "--porcelain").stdout == "", "no hook may rewrite a file"
