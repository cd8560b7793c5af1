"""databricks_token: no Databricks personal access token in any committed text file, workflows included."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooks import databricks_token
from tests.hooks.conftest import PreCommit, run_hook, write

# Built at run time so no token-shaped literal sits in the repository (this very hook would flag it).
FAKE_TOKEN = "dapi" + "0a1b" * 8
WORKFLOW = ".github/workflows/ci.yml"
WORKFLOW_YML = """\
name: ci
on: [push]
permissions: {}
jobs:
  build:
    runs-on: ubuntu-24.04
    steps:
      - run: uv run quality build --target ci
        env:
          DATABRICKS_TOKEN: %s
"""
MESSAGE = "a Databricks personal access token (dapi...) is written in the file"
REVOKE = "delete it and revoke the token in Databricks (a committed token is in git history)"
WORKFLOW_FIX = (
    f"    fix: {REVOKE}; store it as a GitHub Actions secret and read it with ${{{{ secrets.DATABRICKS_TOKEN }}}}"
)
GENERIC_FIX = (
    f"    fix: {REVOKE}; read it from a secret store or the environment (DATABRICKS_TOKEN). "
    "A deliberate fake in a test: end its line with `# pragma: allowlist secret`"
)


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict[str, str]) -> tuple[int, list[str]]:
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    code = databricks_token.main([str(tmp_path / relative) for relative in files])
    out = capsys.readouterr().out.replace(f"{tmp_path}/", "")
    assert FAKE_TOKEN not in out, "the token itself is never printed"
    return code, out.splitlines()


def test_a_token_in_a_workflow_fails_with_line_and_the_secrets_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path, capsys, {WORKFLOW: WORKFLOW_YML % FAKE_TOKEN}) == (
        1,
        [f"{WORKFLOW}:10: {MESSAGE}", WORKFLOW_FIX],
    )


def test_a_token_with_a_shard_suffix_in_any_text_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = {
        "scripts/deploy.sh": f"#!/bin/sh\nexport DATABRICKS_TOKEN={FAKE_TOKEN}-2\n",
        "dbt/profiles.yml": f"# old: {FAKE_TOKEN}\n",
        "notes.md": "nothing here\n",
    }
    assert _run(tmp_path, capsys, files) == (
        1,
        [
            f"dbt/profiles.yml:1: {MESSAGE}",
            f"    fix: {REVOKE}; read it with env_var('DATABRICKS_TOKEN')",
            f"scripts/deploy.sh:2: {MESSAGE}",
            GENERIC_FIX,
        ],
    )


def test_the_workflow_reading_the_token_from_secrets_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path, capsys, {WORKFLOW: WORKFLOW_YML % "${{ secrets.DATABRICKS_TOKEN }}"}) == (0, [])


def test_a_fake_token_is_allowed_with_detect_secrets_pragma(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = {
        "tests/test_engine.py": f'TOKEN = "{FAKE_TOKEN}"  # pragma: allowlist secret\n',
        "tests/fixture.sql": f"select '{FAKE_TOKEN}' as token -- pragma: allowlist secret\n",
        "tests/fixture.yml": f"# pragma: allowlist nextline secret\ntoken: {FAKE_TOKEN}\n",
    }
    assert _run(tmp_path, capsys, files) == (0, [])


def test_a_nextline_pragma_after_code_allows_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = f"a = 1  # pragma: allowlist nextline secret\nTOKEN = '{FAKE_TOKEN}'\n"
    assert _run(tmp_path, capsys, {"settings.py": text}) == (1, [f"settings.py:2: {MESSAGE}", GENERIC_FIX])


def test_dapi_inside_a_longer_word_or_hex_string_is_no_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = f"x{FAKE_TOKEN}\n{FAKE_TOKEN}abcdef\nDATABRICKS_TOKEN=dapi-fake-0123456789abcdef\n"
    assert _run(tmp_path, capsys, {"notes.txt": text}) == (0, [])


def test_pre_commit_fails_a_token_in_a_workflow_until_it_reads_a_secret(pre_commit: PreCommit, gate_repo: Path) -> None:
    write(gate_repo, WORKFLOW, WORKFLOW_YML % FAKE_TOKEN)
    result = run_hook(pre_commit, gate_repo, "databricks-token", [WORKFLOW])
    assert result.returncode == 1
    assert f"{WORKFLOW}:10: {MESSAGE}\n{WORKFLOW_FIX}\n" in result.stdout
    assert FAKE_TOKEN not in result.stdout
    write(gate_repo, WORKFLOW, WORKFLOW_YML % "${{ secrets.DATABRICKS_TOKEN }}")
    assert run_hook(pre_commit, gate_repo, "databricks-token", [WORKFLOW]).returncode == 0
