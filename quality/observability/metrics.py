"""Turn a run record into metric samples, one catalogue shared by every exporter.

Every sample carries the label `target`; names follow Prometheus conventions (base units, `_seconds`).
The catalogue (`METRICS`) fixes each metric's help text and label names, so exporters never guess.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from quality.observability.run_record import RunRecord, load_run


@dataclass(frozen=True)
class MetricSpec:
    help: str
    labels: tuple[str, ...]


METRICS: dict[str, MetricSpec] = {
    "quality_run_success": MetricSpec("1 if the last gate run passed (published or audited), else 0.", ("target",)),
    "quality_run_duration_seconds": MetricSpec("Wall time of the last gate run.", ("target",)),
    "quality_run_finished_timestamp_seconds": MetricSpec(
        "Unix time the last gate run finished (alert when it gets old).", ("target",)
    ),
    "quality_run_info": MetricSpec(
        "Always 1; labels name the last run and its status.", ("target", "run_id", "status")
    ),
    "quality_dbt_node_execution_seconds": MetricSpec(
        "dbt execution_time of a node in the last run.", ("target", "unique_id", "resource_type")
    ),
    "quality_dbt_node_success": MetricSpec(
        "1 if the node succeeded (success, pass or warn), else 0.", ("target", "unique_id", "resource_type")
    ),
    "quality_dbt_node_rows_affected": MetricSpec(
        "adapter_response.rows_affected of a node, where the adapter reports it (never -1).",
        ("target", "unique_id", "resource_type"),
    ),
    "quality_dbt_test_failures": MetricSpec("Failing rows reported by a dbt test.", ("target", "unique_id")),
    "quality_dbt_nodes": MetricSpec(
        "Nodes of the last run by resource type and status.", ("target", "resource_type", "status")
    ),
    "quality_expectation_success": MetricSpec(
        "1 if every instance of the expectation passed on the model (and column), else 0.",
        ("target", "model", "column", "expectation", "severity"),
    ),
    "quality_expectations_failed": MetricSpec("Failed expectations by severity.", ("target", "severity")),
    "quality_tests_failed": MetricSpec("dbt data and unit tests that failed or errored.", ("target",)),
}


@dataclass(frozen=True)
class MetricSample:
    name: str
    value: float
    labels: tuple[tuple[str, str], ...]

    @property
    def label_dict(self) -> dict[str, str]:
        return dict(self.labels)


def samples_for_run_dir(run_dir: Path) -> tuple[RunRecord, list[MetricSample]]:
    run = load_run(run_dir)
    return run, run_samples(run)


def run_samples(run: RunRecord) -> list[MetricSample]:
    return [*_run_level(run), *_node_level(run), *_expectation_level(run)]


def _sample(name: str, value: float, **labels: str) -> MetricSample:
    spec = METRICS[name]
    if set(labels) != set(spec.labels):
        raise ValueError(f"metric {name} takes labels {spec.labels}, got {sorted(labels)}")
    return MetricSample(name, float(value), tuple((key, labels[key]) for key in spec.labels))


def _run_level(run: RunRecord) -> list[MetricSample]:
    target = run.target
    samples = [
        _sample("quality_run_success", 1 if run.ok else 0, target=target),
        _sample("quality_run_info", 1, target=target, run_id=run.run_id, status=run.status),
        _sample("quality_tests_failed", sum(1 for n in run.nodes if n.is_test and n.failed), target=target),
    ]
    if run.duration_seconds is not None:
        samples.append(_sample("quality_run_duration_seconds", run.duration_seconds, target=target))
    if run.finished_at is not None:
        samples.append(_sample("quality_run_finished_timestamp_seconds", run.finished_at.timestamp(), target=target))
    return samples


def _node_level(run: RunRecord) -> list[MetricSample]:
    target = run.target
    samples: list[MetricSample] = []
    for node in run.nodes:
        ids = {"target": target, "unique_id": node.unique_id, "resource_type": node.resource_type}
        samples.append(_sample("quality_dbt_node_execution_seconds", node.execution_time, **ids))
        samples.append(_sample("quality_dbt_node_success", 0 if node.failed or node.status == "skipped" else 1, **ids))
        if node.rows_affected is not None and node.rows_affected >= 0 and not node.is_test:  # -1: unknown
            samples.append(_sample("quality_dbt_node_rows_affected", node.rows_affected, **ids))
        if node.is_test and node.failures is not None:
            samples.append(_sample("quality_dbt_test_failures", node.failures, target=target, unique_id=node.unique_id))
    counts = Counter((node.resource_type, node.status) for node in run.nodes)
    for (resource_type, status), count in sorted(counts.items()):
        samples.append(_sample("quality_dbt_nodes", count, target=target, resource_type=resource_type, status=status))
    return samples


def _expectation_level(run: RunRecord) -> list[MetricSample]:
    target = run.target
    passed: dict[tuple[str, str, str, str], bool] = {}
    for item in run.expectations:
        key = (item.model, item.column, item.expectation, item.severity)
        passed[key] = passed.get(key, True) and item.success
    samples = [
        _sample(
            "quality_expectation_success",
            1 if ok else 0,
            target=target,
            model=model,
            column=column,
            expectation=expectation,
            severity=severity,
        )
        for (model, column, expectation, severity), ok in passed.items()
    ]
    failed = Counter(item.severity for item in run.expectations if not item.success)
    for severity in sorted({"error", "warn", *failed}):
        samples.append(
            _sample("quality_expectations_failed", failed.get(severity, 0), target=target, severity=severity)
        )
    return samples
