"""Alerts for a run: failed run, failed dbt nodes, failed expectations, runtime regressions.

A runtime regression is a node whose execution_time exceeds `factor` x its median over the previous runs,
by at least `min_seconds` (so sub-second jitter never pages anyone), with at least `min_runs` earlier
timings of that node. Alerts are printed and POSTed as a Slack-compatible `{"text": ...}` to a webhook.
"""

from __future__ import annotations

import json
import statistics
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Literal

from quality.observability.errors import ExportError
from quality.observability.run_record import RunRecord

AlertKind = Literal["run_failed", "node_failed", "expectation_failed", "runtime_regression"]
WEBHOOK_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    severity: Literal["error", "warn"]
    subject: str
    message: str

    def line(self) -> str:
        return f"[{self.severity}] {self.subject}: {self.message}"


@dataclass(frozen=True)
class RegressionPolicy:
    factor: float = 2.0
    min_runs: int = 3
    min_seconds: float = 1.0


def run_alerts(run: RunRecord) -> list[Alert]:
    alerts: list[Alert] = []
    if not run.ok:
        detail = run.error.splitlines()[0] if run.error else "see the run's report.json"
        alerts.append(
            Alert("run_failed", "error", f"run {run.run_id}", f"status {run.status} on target {run.target}: {detail}")
        )
    for node in run.nodes:
        if node.failed:
            failures = f" ({node.failures} failing rows)" if node.failures else ""
            message = node.message.splitlines()[0] if node.message else "no message"
            alerts.append(Alert("node_failed", "error", node.unique_id, f"{node.status}{failures}: {message}"))
    for item in run.expectations:
        if not item.success:
            where = f"{item.model}.{item.column}" if item.column else item.model
            count = f": {item.unexpected_count} unexpected" if item.unexpected_count is not None else ""
            severity: Literal["error", "warn"] = "warn" if item.severity == "warn" else "error"
            alerts.append(Alert("expectation_failed", severity, where, f"{item.expectation} failed{count}"))
    return alerts


def regression_alerts(run: RunRecord, history: list[dict[str, float]], policy: RegressionPolicy) -> list[Alert]:
    alerts: list[Alert] = []
    for node in run.nodes:
        earlier = [timings[node.unique_id] for timings in history if node.unique_id in timings]
        if len(earlier) < policy.min_runs or node.status == "skipped":
            continue
        median = statistics.median(earlier)
        if node.execution_time > policy.factor * median and node.execution_time - median >= policy.min_seconds:
            ratio = node.execution_time / median if median > 0 else float("inf")
            alerts.append(
                Alert(
                    "runtime_regression",
                    "warn",
                    node.unique_id,
                    f"took {node.execution_time:.2f} s, {ratio:.1f}x its median of {median:.2f} s over the last "
                    f"{len(earlier)} runs (threshold {policy.factor:g}x)",
                )
            )
    return alerts


def alert_text(run: RunRecord, alerts: list[Alert]) -> str:
    head = f"quality gate run {run.run_id} on target {run.target}: {run.status}, {len(alerts)} alert(s)"
    return "\n".join([head, *(f"- {alert.line()}" for alert in alerts)])


def post_webhook(url: str, text: str) -> None:
    """POST `{"text": text}` as JSON (what Slack incoming webhooks and most chat tools accept)."""
    body = json.dumps({"text": text}).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read()
    except urllib.error.HTTPError as error:
        raise ExportError(
            f"the alert webhook answered HTTP {error.code} {error.reason}; check the webhook URL (it may have been "
            "revoked) in the secret store."
        ) from None
    except (urllib.error.URLError, OSError) as error:
        raise ExportError(
            f"the alert webhook could not be reached ({getattr(error, 'reason', error)}); check the URL and the "
            "network path. The alerts were printed above."
        ) from None
