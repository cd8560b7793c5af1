"""Every bad input is answered by one paragraph naming the input and the fix: exit 2 for a wrong command
line, exit 1 for a wrong setting, never a traceback and never silence. Nothing here runs dbt."""

from __future__ import annotations

from pathlib import Path

import pytest

from quality.cli import main
from quality.dbt.project import load_project
from quality.dbt.targets import resolve_target
from quality.engines.factory import connect_timeout_s
from quality.errors import TargetError

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "dbt"
RAW = ROOT / "tests" / "fixtures" / "raw"
FAKE_TOKEN = "dapi" + "0a1b" * 8  # a personal access token's shape, built so no scanner sees one here


def plain(text: str) -> str:
    """Console output as one line: table borders dropped, wrapped lines joined."""
    return " ".join(text.replace("│", " ").split())


@pytest.fixture(autouse=True)
def local_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warehouse file of the test's own, and no memory limit or timeout from the caller's shell."""
    monkeypatch.setenv("QUALITY_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("QUALITY_DUCKDB_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("QUALITY_CONNECT_TIMEOUT", raising=False)
    monkeypatch.delenv("DBT_TARGET", raising=False)


def gate(tmp_path: Path, *args: str) -> int:
    return main(["gate", "--project-dir", str(PROJECT), "--artifacts-dir", str(tmp_path / "runs"), *args])


class TestGateUsageErrors:
    """Wrong gate options: exit 2 before a run folder or a report exists."""

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--orders", "-5"], "usage error: --orders -5: generate at least 1 order, e.g. --orders 1000."),
            (
                ["--threads", "0"],
                "usage error: --threads 0: dbt needs at least 1 thread; pass a positive number, "
                "or leave --threads out to use the profile's threads.",
            ),
            (
                ["--fixtures", str(RAW), "--orders", "10"],
                "usage error: --fixtures and --orders both give the gate raw data; choose one: "
                "--fixtures <folder> loads its <table>.csv files, --orders N generates N orders.",
            ),
            (
                ["--fixtures", "no/such/folder"],
                "usage error: --fixtures no/such/folder is not a folder; pass the folder that holds one "
                "<table>.csv per raw source table.",
            ),
        ],
        ids=["negative-orders", "zero-threads", "fixtures-and-orders", "missing-fixtures-folder"],
    )
    def test_is_one_line_exit_2_and_no_report(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
    ) -> None:
        assert gate(tmp_path, *args) == 2
        err = capsys.readouterr().err
        assert plain(err) == message
        assert not (tmp_path / "runs").exists(), "no report.json left at status 'running'"


class TestDuckDBMemoryLimit:
    """QUALITY_DUCKDB_MEMORY_LIMIT feeds `settings.memory_limit` of the DuckDB output in profiles.yml."""

    def test_a_word_is_named_with_the_accepted_form_before_dbt_starts(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("QUALITY_DUCKDB_MEMORY_LIMIT", "lots")

        assert gate(tmp_path, "--fixtures", str(RAW)) == 1

        err = plain(capsys.readouterr().err)
        assert err == (
            "error: QUALITY_DUCKDB_MEMORY_LIMIT='lots' is not a DuckDB memory limit "
            "(retail.outputs.local.settings.memory_limit in profiles.yml); write a positive number and a unit, "
            "e.g. '3GB' or '512MB' (KB, MB, GB, TB or KiB, MiB, GiB, TiB), or unset QUALITY_DUCKDB_MEMORY_LIMIT "
            "for the profile's default."
        )
        assert not (tmp_path / "runs").exists()

    @pytest.mark.parametrize("value", ["3GB", "512 MiB", "1.5gb", "4G", "100KB"])
    def test_sizes_duckdb_parses_are_accepted(self, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
        monkeypatch.setenv("QUALITY_DUCKDB_MEMORY_LIMIT", value)
        assert resolve_target(load_project(PROJECT), "local").output["settings"]["memory_limit"] == value

    @pytest.mark.parametrize("value", ["lots", "3", "0GB", "80%", "3 gigs"])
    def test_anything_else_is_refused_naming_the_variable(self, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
        monkeypatch.setenv("QUALITY_DUCKDB_MEMORY_LIMIT", value)
        with pytest.raises(TargetError, match=rf"^QUALITY_DUCKDB_MEMORY_LIMIT='{value}' is not a DuckDB memory limit"):
            resolve_target(load_project(PROJECT), "local")


class TestConnectTimeout:
    """QUALITY_CONNECT_TIMEOUT bounds the Databricks preflight of every command that connects."""

    @pytest.mark.usefixtures("hermetic_databricks_env")
    def test_a_word_fails_doctors_connection_check_naming_it(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        for name, value in {
            "DATABRICKS_HOST": "127.0.0.1:9",
            "DATABRICKS_HTTP_PATH": "/sql/1.0/warehouses/abc",
            "DATABRICKS_TOKEN": "not-a-token",
            "DBT_CATALOG": "main",
            "QUALITY_CONNECT_TIMEOUT": "abc",
        }.items():
            monkeypatch.setenv(name, value)

        assert main(["doctor", "--project-dir", str(PROJECT), "--target", "dev", "--no-dbt-debug"]) == 1

        captured = capsys.readouterr()
        assert (
            "connection fail QUALITY_CONNECT_TIMEOUT='abc' is not a number of seconds; set it to a positive "
            "number, e.g. QUALITY_CONNECT_TIMEOUT=30, or unset it for the default (10 s)."
        ) in plain(captured.out)
        assert "Traceback" not in captured.out + captured.err

    @pytest.mark.parametrize("value", ["abc", "0", "-3", "nan", "inf"])
    def test_anything_but_a_positive_number_is_refused(self, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
        monkeypatch.setenv("QUALITY_CONNECT_TIMEOUT", value)
        with pytest.raises(TargetError, match=rf"^QUALITY_CONNECT_TIMEOUT='{value}' is not a number of seconds"):
            connect_timeout_s()

    @pytest.mark.parametrize(("value", "seconds"), [("", 10.0), ("2.5", 2.5), (" 30 ", 30.0)])
    def test_a_positive_number_or_nothing_is_taken(
        self, monkeypatch: pytest.MonkeyPatch, value: str, seconds: float
    ) -> None:
        monkeypatch.setenv("QUALITY_CONNECT_TIMEOUT", value)
        assert connect_timeout_s() == seconds


LITERAL_TOKEN_PROFILES = f"""
shop:
  target: local
  outputs:
    local:
      type: duckdb
      path: "{{{{ env_var('QUALITY_DUCKDB_PATH') }}}}"
      schema: main
    prod:
      type: databricks
      host: "{{{{ env_var('DATABRICKS_HOST') }}}}"
      http_path: "{{{{ env_var('DATABRICKS_HTTP_PATH') }}}}"
      token: {FAKE_TOKEN}
      catalog: main
      schema: analytics
"""


class TestALiteralTokenInProfiles:
    """The profiles-safety hook's rule, applied by every command that resolves a target."""

    @pytest.fixture
    def project(self, tmp_path: Path) -> Path:
        root = tmp_path / "shop"
        root.mkdir()
        (root / "dbt_project.yml").write_text("name: shop\nprofile: shop\n", encoding="utf-8")
        (root / "profiles.yml").write_text(LITERAL_TOKEN_PROFILES.lstrip(), encoding="utf-8")
        return root

    def expected(self, project: Path) -> str:
        path = project / "profiles.yml"
        return (
            f"{path} writes a secret or a workspace host as a literal value, which the harness refuses (as the "
            "profiles-safety pre-commit hook does); read it from the environment with env_var(): "
            f"{path}:12: `token` of output 'prod' of profile 'shop' is a literal value fix: "
            """token: "{{ env_var('DATABRICKS_TOKEN') }}" (and export DATABRICKS_TOKEN in your shell or CI secrets) """
            f"{path}:12: a Databricks personal access token (dapi...) is written in the file"
        )

    def test_gate_refuses_it_even_for_another_target(
        self, tmp_path: Path, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code = main(["gate", "--project-dir", str(project), "--fixtures", str(RAW), "--artifacts-dir", str(tmp_path)])

        err = plain(capsys.readouterr().err)
        assert code == 1
        assert err.startswith(f"error: {self.expected(project)}")
        assert FAKE_TOKEN not in err

    def test_doctor_fails_the_target_check(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        code = main(["doctor", "--project-dir", str(project), "--no-dbt-debug"])

        out = plain(capsys.readouterr().out)
        assert code == 1
        assert "target fail " in out
        # The table folds the long path: the key phrases, each short of a column's width.
        assert "writes a secret or a workspace host as a literal value, which the harness refuses" in out
        assert "`token` of output 'prod' of profile 'shop' is a literal value" in out
        assert FAKE_TOKEN not in out
