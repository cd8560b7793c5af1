"""`quality metrics`: export a run's metrics (Prometheus textfile / Pushgateway, Datadog) and raise alerts."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from quality.observability.errors import RunArtifactsError

if TYPE_CHECKING:
    from quality.observability.metrics import MetricSample

DEFAULT_RUNS_ROOT = Path("artifacts/runs")


def register(app: typer.Typer) -> None:
    app.command(name="metrics")(metrics_command)


def metrics_command(
    run_dir: Annotated[
        Path | None, typer.Option(help="Run folder (artifacts/runs/<id>); default: the newest one.")
    ] = None,
    textfile: Annotated[Path | None, typer.Option(help="Write a node_exporter textfile (*.prom), atomically.")] = None,
    pushgateway: Annotated[
        str | None, typer.Option(envvar="QUALITY_PUSHGATEWAY_URL", help="Push to this Prometheus Pushgateway.")
    ] = None,
    datadog: Annotated[bool, typer.Option("--datadog", help="Send gauges to Datadog (DD_API_KEY, DD_SITE).")] = False,
    webhook: Annotated[
        str | None,
        typer.Option(envvar="QUALITY_ALERT_WEBHOOK", help="POST alerts as Slack-compatible JSON to this URL."),
    ] = None,
    regression_factor: Annotated[
        float, typer.Option(help="Alert when a node takes more than this many times its median.")
    ] = 2.0,
    history: Annotated[int, typer.Option(help="How many earlier runs the median is taken over.")] = 10,
    min_seconds: Annotated[float, typer.Option(help="Ignore slowdowns smaller than this many seconds.")] = 1.0,
    fail_on_alert: Annotated[bool, typer.Option(help="Exit 1 when any alert of severity error fired.")] = False,
) -> int:
    """Read a run's run_results.json, manifest.json and report.json, export its metrics and report alerts
    (failed run, failed tests and expectations, nodes slower than FACTOR x their median)."""
    from quality.observability import alerts as alerting
    from quality.observability.history import previous_timings
    from quality.observability.metrics import samples_for_run_dir

    folder = run_dir or newest_run_dir(DEFAULT_RUNS_ROOT)
    run, samples = samples_for_run_dir(folder)
    typer.echo(f"run {run.run_id} on target {run.target}: {run.status}, {len(samples)} samples")
    export(samples, run.target, textfile=textfile, pushgateway=pushgateway, datadog=datadog)
    policy = alerting.RegressionPolicy(factor=regression_factor, min_seconds=min_seconds)
    earlier = previous_timings(folder.parent, folder, history)
    found = alerting.run_alerts(run) + alerting.regression_alerts(run, earlier, policy)
    if found:
        text = alerting.alert_text(run, found)
        typer.echo(text)
        if webhook:
            alerting.post_webhook(webhook, text)
            typer.echo(f"posted {len(found)} alert(s) to the webhook")
    else:
        typer.echo("no alerts")
    return 1 if fail_on_alert and any(alert.severity == "error" for alert in found) else 0


def export(
    samples: list[MetricSample], target: str, *, textfile: Path | None, pushgateway: str | None, datadog: bool
) -> None:
    if textfile is not None:
        from quality.observability.prometheus import write_textfile

        typer.echo(f"wrote {write_textfile(textfile, samples)}")
    if pushgateway:
        from quality.observability.prometheus import push

        push(pushgateway, samples, target=target)
        typer.echo("pushed to the Pushgateway")
    if datadog:
        from quality.observability import datadog as datadog_exporter

        settings = datadog_exporter.settings_from_env(os.environ)
        sent = datadog_exporter.send(samples, settings, timestamp=time.time())
        typer.echo(f"sent {sent} series to Datadog")


def newest_run_dir(root: Path) -> Path:
    from quality.observability.artifacts import list_runs

    runs = list_runs(root)
    if not runs:
        raise RunArtifactsError(
            f"no run folder under {root}: run `quality gate` first, or pass --run-dir artifacts/runs/<run id>."
        )
    return runs[-1]
