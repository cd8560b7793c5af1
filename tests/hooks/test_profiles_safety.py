"""profiles_safety: secrets and Databricks hosts in a committed profiles.yml come only from env_var()."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooks import profiles_safety

# Built at run time so no secret-shaped literal sits in the repository (detect-secrets would flag it).
FAKE_TOKEN = "dapi" + "0a1b" * 8

SAFE = """\
retail:
  target: dev
  outputs:
    dev:
      type: databricks
      host: "{{ env_var('DATABRICKS_HOST') }}"
      http_path: "{{ env_var('DATABRICKS_HTTP_PATH') }}"
      auth_type: "{{ 'oauth' if env_var('DATABRICKS_AUTH_TYPE', 'token') == 'oauth' else '' }}"
      token: "{{ env_var('DATABRICKS_TOKEN') if env_var('DATABRICKS_AUTH_TYPE', 'token') != 'oauth' else '' }}"
      client_secret: "{{ env_var('DATABRICKS_CLIENT_SECRET', '') }}"
      schema: "{{ env_var('DBT_SCHEMA', 'analytics') }}"
    local:
      type: duckdb
      path: "{{ env_var('QUALITY_DUCKDB_PATH', '.quality/warehouse.duckdb') }}"
"""


def _run(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "profiles.yml"
    path.write_text(text, encoding="utf-8")
    code = profiles_safety.main([str(path)])
    return code, capsys.readouterr().out.replace(str(tmp_path) + "/", "")


def test_profiles_reading_everything_from_env_var_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path, SAFE, capsys) == (0, "")


def test_literal_token_fails_with_line_and_fix_and_never_prints_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SAFE.replace(
        "token: \"{{ env_var('DATABRICKS_TOKEN') if env_var('DATABRICKS_AUTH_TYPE', 'token') != 'oauth' else '' }}\"",
        f"token: {FAKE_TOKEN}",
    )
    code, out = _run(tmp_path, text, capsys)
    assert code == 1
    assert FAKE_TOKEN not in out
    assert out.splitlines() == [
        "profiles.yml:9: `token` of output 'dev' of profile 'retail' is a literal value",
        "    fix: token: \"{{ env_var('DATABRICKS_TOKEN') }}\" (and export DATABRICKS_TOKEN in your shell or CI secrets)",
        "profiles.yml:9: a Databricks personal access token (dapi...) is written in the file",
        "    fix: delete it, revoke the token in Databricks (it is in git history now), "
        "and read it with env_var('DATABRICKS_TOKEN')",
    ]


def test_token_in_a_comment_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(tmp_path, f"# old token: {FAKE_TOKEN}\n" + SAFE, capsys)
    assert code == 1
    assert out.startswith("profiles.yml:1: a Databricks personal access token (dapi...) is written in the file\n")


def test_literal_password_and_secret_default_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = SAFE.replace(
        "client_secret: \"{{ env_var('DATABRICKS_CLIENT_SECRET', '') }}\"",
        "client_secret: \"{{ env_var('DATABRICKS_CLIENT_SECRET', 'hunter2') }}\"\n      password: hunter2",
    )
    code, out = _run(tmp_path, text, capsys)
    assert code == 1
    assert [line for line in out.splitlines() if not line.startswith("    fix:")] == [
        "profiles.yml:10: `client_secret` of output 'dev' of profile 'retail' has a literal default "
        "in env_var('DATABRICKS_CLIENT_SECRET', ...)",
        "profiles.yml:11: `password` of output 'dev' of profile 'retail' is a literal value",
    ]


def test_literal_databricks_host_fails_but_a_duckdb_path_does_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SAFE.replace("host: \"{{ env_var('DATABRICKS_HOST') }}\"", "host: adb-1234.5.azuredatabricks.net")
    code, out = _run(tmp_path, text, capsys)
    assert code == 1
    assert out.splitlines() == [
        "profiles.yml:6: `host` of databricks output 'dev' of profile 'retail' is a literal value (a workspace host)",
        "    fix: host: \"{{ env_var('DATABRICKS_HOST') }}\" (and export DATABRICKS_HOST in your shell or CI secrets)",
    ]


def test_invalid_yaml_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(tmp_path, "retail:\n  outputs:\n    dev: [\n", capsys)
    assert code == 1
    assert out.splitlines()[0].startswith("profiles.yml:4: invalid YAML: ")


def test_the_project_profiles_file_passes() -> None:
    profiles = Path(__file__).resolve().parents[2] / "dbt" / "profiles.yml"
    if not profiles.is_file():
        pytest.skip("the dbt project has no profiles.yml yet")
    assert profiles_safety.main([str(profiles)]) == 0
