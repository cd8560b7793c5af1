"""Alerts: failed run, failed nodes and expectations, runtime regressions from history, webhook delivery."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from quality.observability.alerts import (
    Alert,
    RegressionPolicy,
    alert_text,
    post_webhook,
    regression_alerts,
    run_alerts,
)
from quality.observability.errors import ExportError
from quality.observability.history import previous_timings
from quality.observability.run_record import load_run
from tests.fakes import FakeWorkspace, error_response, refusing_port
from tests.unit.test_observability_metrics import (
    FCT_ORDERS,
    RUN_ID,
    STG_ORDERS,
    UNIQUE_TEST,
    gate_report,
    run_results,
    write_run,
)

WEBHOOK_PATH = "/services/T000/B000/fakehookfakehook"


def history_runs(root: Path, fct_seconds: list[float]) -> None:
    """Earlier runs, oldest first, with fct_orders taking the given times (stg_orders always 0.4 s)."""
    for day, seconds in enumerate(fct_seconds, start=10):
        run_id = f"202611{day:02d}t020000_{day:06x}"
        write_run(root, run_id, results=run_results({FCT_ORDERS: seconds, STG_ORDERS: 0.4}, failing=False))


class TestRunAlerts:
    def test_a_failed_run_alerts_for_the_run_the_test_and_each_failed_expectation(self, tmp_path: Path) -> None:
        run = load_run(write_run(tmp_path, results=run_results(), report=gate_report()))

        assert run_alerts(run) == [
            Alert(
                "run_failed",
                "error",
                f"run {RUN_ID}",
                "status failed on target prod: GateFailed: 1 dbt test failed in audit base audit_20261125t131000_ab12cd",
            ),
            Alert(
                "node_failed", "error", UNIQUE_TEST, "fail (3 failing rows): Got 3 results, configured to fail if != 0"
            ),
            Alert(
                "expectation_failed",
                "error",
                "fct_orders.order_total",
                "expect_column_values_to_be_between failed: 2 unexpected",
            ),
            Alert("expectation_failed", "warn", "fct_orders", "unexpected_rows failed: 1 unexpected"),
        ]

    def test_a_green_run_raises_nothing(self, tmp_path: Path) -> None:
        run = load_run(write_run(tmp_path, results=run_results(failing=False), report=gate_report(status="published")))

        assert run_alerts(run) == []


class TestRuntimeRegressions:
    def test_a_node_slower_than_factor_times_its_median_is_flagged(self, tmp_path: Path) -> None:
        runs = tmp_path / "runs"
        history_runs(runs, [1.0, 1.2, 0.9, 1.1])
        current = write_run(runs, RUN_ID, results=run_results({FCT_ORDERS: 2.5}), report=gate_report())

        alerts = regression_alerts(load_run(current), previous_timings(runs, current, 10), RegressionPolicy(factor=2.0))

        assert alerts == [
            Alert(
                "runtime_regression",
                "warn",
                FCT_ORDERS,
                "took 2.50 s, 2.4x its median of 1.05 s over the last 4 runs (threshold 2x)",
            )
        ]

    def test_only_the_last_n_runs_count(self, tmp_path: Path) -> None:
        runs = tmp_path / "runs"
        history_runs(runs, [0.1, 0.1, 0.1, 2.0, 2.0, 2.0])
        current = write_run(runs, RUN_ID, results=run_results({FCT_ORDERS: 2.5}), report=gate_report())

        recent = previous_timings(runs, current, 3)

        assert [timings[FCT_ORDERS] for timings in recent] == [2.0, 2.0, 2.0]
        assert regression_alerts(load_run(current), recent, RegressionPolicy()) == []

    def test_runs_after_the_current_one_are_not_history(self, tmp_path: Path) -> None:
        runs = tmp_path / "runs"
        history_runs(runs, [1.0, 1.0, 1.0])
        current = write_run(runs, "20261111t030000_aaaaaa", results=run_results(), report=gate_report())

        assert [t[FCT_ORDERS] for t in previous_timings(runs, current, 10)] == [1.0, 1.0]

    def test_small_absolute_slowdowns_and_short_histories_are_ignored(self, tmp_path: Path) -> None:
        runs = tmp_path / "runs"
        history_runs(runs, [0.1, 0.1, 0.1])
        current = write_run(runs, RUN_ID, results=run_results({FCT_ORDERS: 0.9}), report=gate_report())
        run = load_run(current)

        assert regression_alerts(run, previous_timings(runs, current, 10), RegressionPolicy(min_seconds=1.0)) == []
        assert regression_alerts(run, previous_timings(runs, current, 2), RegressionPolicy(min_seconds=0.5)) == []
        flagged = regression_alerts(run, previous_timings(runs, current, 10), RegressionPolicy(min_seconds=0.5))
        assert [alert.subject for alert in flagged] == [FCT_ORDERS]

    def test_a_folder_with_a_broken_run_results_file_is_skipped(self, tmp_path: Path) -> None:
        runs = tmp_path / "runs"
        history_runs(runs, [1.0])
        (runs / "20261120t000000_badbad").mkdir()
        (runs / "20261120t000000_badbad" / "run_results.json").write_text("{")
        current = write_run(runs, RUN_ID, results=run_results())

        assert len(previous_timings(runs, current, 10)) == 1


@pytest.fixture
def webhook() -> Iterator[FakeWorkspace]:
    with FakeWorkspace(token=None) as server:
        server.route("POST", WEBHOOK_PATH, lambda request: {"ok": True})
        yield server


class TestWebhook:
    def test_posts_a_slack_compatible_text_payload(self, webhook: FakeWorkspace, tmp_path: Path) -> None:
        run = load_run(write_run(tmp_path, results=run_results(), report=gate_report()))
        text = alert_text(run, run_alerts(run)[:2])

        post_webhook(webhook.url + WEBHOOK_PATH, text)

        (request,) = webhook.calls("POST", WEBHOOK_PATH)
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.body) == {
            "text": f"quality gate run {RUN_ID} on target prod: failed, 2 alert(s)\n"
            f"- [error] run {RUN_ID}: status failed on target prod: GateFailed: 1 dbt test failed in audit base "
            "audit_20261125t131000_ab12cd\n"
            f"- [error] {UNIQUE_TEST}: fail (3 failing rows): Got 3 results, configured to fail if != 0"
        }

    def test_a_refused_post_is_an_error_that_does_not_echo_the_secret_url(self, webhook: FakeWorkspace) -> None:
        webhook.route("POST", WEBHOOK_PATH, lambda request: error_response(404, "no_service"))

        with pytest.raises(ExportError) as caught:
            post_webhook(webhook.url + WEBHOOK_PATH, "x")

        assert str(caught.value) == (
            "the alert webhook answered HTTP 404 Not Found; check the webhook URL (it may have been revoked) in the "
            "secret store."
        )

    def test_an_unreachable_webhook_is_an_error(self) -> None:
        with refusing_port() as port, pytest.raises(ExportError, match=r"^the alert webhook could not be reached"):
            post_webhook(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", "x")
