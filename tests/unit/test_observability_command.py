"""`quality metrics` end to end through the CLI: read a run folder, export, alert."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from quality.cli import main
from tests.fakes import FakeWorkspace
from tests.unit.test_observability_metrics import RUN_ID, gate_report, run_results, write_run

HOOK = "/hooks/quality"


@pytest.fixture
def servers() -> Iterator[FakeWorkspace]:
    with FakeWorkspace(token=None) as server:
        server.route("POST", HOOK, lambda request: {"ok": True})
        server.route("PUT", "/metrics/job/{job}/target/{target}", lambda request: {})
        yield server


def test_help_lists_the_exporters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["metrics", "--help"]) == 0
    out = capsys.readouterr().out
    for option in (
        "--run-dir",
        "--textfile",
        "--pushgateway",
        "--datadog",
        "--webhook",
        "--regression-factor",
        "--history",
    ):
        assert option in out


def test_exports_a_failed_run_and_posts_its_alerts(
    servers: FakeWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUALITY_ALERT_WEBHOOK", raising=False)
    monkeypatch.delenv("QUALITY_PUSHGATEWAY_URL", raising=False)
    run_dir = write_run(tmp_path / "runs", results=run_results(), report=gate_report())
    prom = tmp_path / "textfile" / "quality.prom"

    code = main(
        [
            "metrics",
            "--run-dir",
            str(run_dir),
            "--textfile",
            str(prom),
            "--pushgateway",
            servers.url,
            "--webhook",
            servers.url + HOOK,
            "--fail-on-alert",
        ]
    )

    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith(f"run {RUN_ID} on target prod: failed, 34 samples\nwrote {prom}\npushed to the Pushgateway\n")
    assert out.endswith("posted 4 alert(s) to the webhook\n")
    assert 'quality_run_success{target="prod"} 0.0' in prom.read_text()
    assert [r.path for r in servers.requests] == ["/metrics/job/quality_gate/target/prod", HOOK]
    assert json.loads(servers.requests[1].body)["text"].startswith(
        f"quality gate run {RUN_ID} on target prod: failed, 4 alert(s)\n"
    )


def test_the_newest_run_folder_is_the_default_and_a_green_run_has_no_alerts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QUALITY_ALERT_WEBHOOK", raising=False)
    monkeypatch.delenv("QUALITY_PUSHGATEWAY_URL", raising=False)
    write_run(Path("artifacts/runs"), "20261124t131000_000001", results=run_results())
    write_run(
        Path("artifacts/runs"),
        "20261125t131000_000002",
        results=run_results(failing=False),
        report=gate_report(status="published", run_id="20261125t131000_000002"),
    )

    assert main(["metrics", "--fail-on-alert"]) == 0
    assert capsys.readouterr().out == "run 20261125t131000_000002 on target prod: published, 32 samples\nno alerts\n"


def test_datadog_without_a_key_names_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DD_API_KEY", "DATADOG_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    run_dir = write_run(tmp_path, results=run_results(), report=gate_report())

    assert main(["metrics", "--run-dir", str(run_dir), "--datadog"]) == 1
    assert "--datadog needs an API key: set DD_API_KEY" in capsys.readouterr().err


def test_no_run_folder_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert main(["metrics"]) == 1
    assert "no run folder under artifacts/runs: run `quality gate` first" in capsys.readouterr().err
