"""Read one run folder (`artifacts/runs/<run id>/`) into a typed, tolerant record.

Files read, each optional but at least one of the first two required:

- `run_results.json` (dbt 1.11): `results[]` with `unique_id`, `status`, `execution_time`,
  `adapter_response.rows_affected`, `failures`, `message`; `metadata.generated_at`, `metadata.invocation_id`,
  `args.target`.
- `report.json` (the gate's report): `run_id`, `target`, `status` (published | audited | failed | error),
  `started_at`, `finished_at` (ISO 8601), `error`, `models[]` and `tests[]` (same fields as dbt results,
  plus `resource_type`), `expectations[]` with `model`, `column`, `expectation`, `severity` (error | warn |
  harness), `success`, `unexpected_count`.
- `manifest.json`: `nodes[unique_id].resource_type` and `.config.materialized`, to label nodes.

Unknown keys are ignored, missing ones get neutral defaults, and an entry that is not an object is skipped.
When both dbt results and report nodes exist, run_results.json wins (it is dbt's own record).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from quality.observability.errors import RunArtifactsError

RUN_RESULTS = "run_results.json"
MANIFEST = "manifest.json"
REPORT = "report.json"
OK_RUN_STATUSES = frozenset({"published", "audited", "success", "succeeded", "passed", "pass"})
FAILED_NODE_STATUSES = frozenset({"error", "fail", "runtime error"})
OK_NODE_STATUSES = frozenset({"success", "pass", "warn"})
TEST_TYPES = frozenset({"test", "unit_test"})


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    resource_type: str
    status: str
    execution_time: float
    rows_affected: int | None = None
    failures: int | None = None
    message: str = ""
    materialized: str = ""

    @property
    def failed(self) -> bool:
        return self.status in FAILED_NODE_STATUSES

    @property
    def is_test(self) -> bool:
        return self.resource_type in TEST_TYPES


@dataclass(frozen=True)
class ExpectationOutcome:
    model: str
    column: str
    expectation: str
    severity: str
    success: bool
    unexpected_count: int | None = None


@dataclass(frozen=True)
class RunRecord:
    run_dir: Path
    run_id: str
    target: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    nodes: tuple[NodeResult, ...]
    expectations: tuple[ExpectationOutcome, ...]
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status in OK_RUN_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        if (self.started_at.tzinfo is None) != (self.finished_at.tzinfo is None):
            return None
        return (self.finished_at - self.started_at).total_seconds()


def read_json_file(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`, None when the file does not exist; a clear error when it is unreadable."""
    if not path.is_file():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunArtifactsError(
            f"{path} is not readable JSON ({error}); the run that wrote it was probably interrupted. "
            "Rerun it, or point --run-dir at another run folder."
        ) from None
    if not isinstance(payload, dict):
        raise RunArtifactsError(
            f"{path} holds a JSON {type(payload).__name__}, not an object; it is not a dbt/gate artifact."
        )
    return payload


def load_run(run_dir: Path) -> RunRecord:
    run_results = read_json_file(run_dir / RUN_RESULTS)
    report = read_json_file(run_dir / REPORT)
    if run_results is None and report is None:
        raise RunArtifactsError(
            f"{run_dir} has neither {RUN_RESULTS} nor {REPORT}; pass the folder a `quality gate` run wrote "
            "(artifacts/runs/<run id>/) as --run-dir."
        )
    manifest_nodes = _objects_by_key((read_json_file(run_dir / MANIFEST) or {}).get("nodes"))
    report = report or {}
    nodes = (
        _nodes_from_run_results(run_results, manifest_nodes)
        if run_results is not None
        else _nodes_from_report(report, manifest_nodes)
    )
    metadata = _object((run_results or {}).get("metadata"))
    args = _object((run_results or {}).get("args"))
    return RunRecord(
        run_dir=run_dir,
        run_id=_text(report.get("run_id")) or _text(metadata.get("invocation_id")) or run_dir.name,
        target=_text(report.get("target")) or _text(args.get("target")) or "unknown",
        status=_text(report.get("status")) or _status_from(nodes),
        started_at=_timestamp(report.get("started_at")),
        finished_at=_timestamp(report.get("finished_at")) or _timestamp(metadata.get("generated_at")),
        nodes=nodes,
        expectations=tuple(_expectation(item) for item in _objects(report.get("expectations"))),
        error=_text(report.get("error")),
    )


def node_timings(run_results: dict[str, Any]) -> dict[str, float]:
    """execution_time per unique_id of the nodes that actually ran (not skipped)."""
    return {
        node.unique_id: node.execution_time
        for node in _nodes_from_run_results(run_results, {})
        if node.status != "skipped" and node.unique_id
    }


def _nodes_from_run_results(run_results: dict[str, Any], manifest: dict[str, dict[str, Any]]) -> tuple[NodeResult, ...]:
    return tuple(_node(item, manifest) for item in _objects(run_results.get("results")))


def _nodes_from_report(report: dict[str, Any], manifest: dict[str, dict[str, Any]]) -> tuple[NodeResult, ...]:
    items = [*_objects(report.get("models")), *_objects(report.get("tests"))]
    return tuple(_node(item, manifest) for item in items)


def _node(item: dict[str, Any], manifest: dict[str, dict[str, Any]]) -> NodeResult:
    unique_id = _text(item.get("unique_id"))
    manifest_node = manifest.get(unique_id, {})
    adapter = _object(item.get("adapter_response"))
    return NodeResult(
        unique_id=unique_id,
        resource_type=_text(manifest_node.get("resource_type"))
        or _text(item.get("resource_type"))
        or unique_id.split(".", 1)[0],
        status=_text(item.get("status")).lower() or "unknown",
        execution_time=_number(item.get("execution_time")) or 0.0,
        rows_affected=_integer(adapter.get("rows_affected", item.get("rows_affected"))),
        failures=_integer(item.get("failures")),
        message=_text(item.get("message")),
        materialized=_text(_object(manifest_node.get("config")).get("materialized")),
    )


def _expectation(item: dict[str, Any]) -> ExpectationOutcome:
    return ExpectationOutcome(
        model=_text(item.get("model")),
        column=_text(item.get("column")),
        expectation=_text(item.get("expectation")) or "unknown",
        severity=_text(item.get("severity")) or "error",
        success=item.get("success") is True,
        unexpected_count=_integer(item.get("unexpected_count")),
    )


def _status_from(nodes: tuple[NodeResult, ...]) -> str:
    return "failed" if any(node.failed for node in nodes) else "success"


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _objects_by_key(value: Any) -> dict[str, dict[str, Any]]:
    return {str(k): v for k, v in value.items() if isinstance(v, dict)} if isinstance(value, dict) else {}


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return str(value) if value is not None else ""


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _integer(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
