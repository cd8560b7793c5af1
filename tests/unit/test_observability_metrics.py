"""Run folders -> run record -> metric samples -> Prometheus textfile and Pushgateway.

The artifacts are small hand-written dicts in the shape dbt 1.11 writes (run_results v6, manifest v12) and
in the shape `quality gate` writes its report.json; the other observability tests reuse the builders.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quality.observability.errors import ExporterConfigError, ExportError, RunArtifactsError
from quality.observability.metrics import MetricSample, run_samples
from quality.observability.prometheus import push, write_textfile
from quality.observability.run_record import ExpectationOutcome, NodeResult, load_run
from tests.fakes import FakeWorkspace, RecordedRequest, refusing_port

RUN_ID = "20261125t131000_ab12cd"
STG_ORDERS = "model.retail.stg_orders"
FCT_ORDERS = "model.retail.fct_orders"
UNIQUE_TEST = "test.retail.unique_fct_orders_order_id.9c8d7e1f2a"
DEFAULT_TIMINGS = {STG_ORDERS: 0.412, FCT_ORDERS: 2.5}


def dbt_result(unique_id: str, status: str, seconds: float, *, rows: int | None = None, **extra: Any) -> dict[str, Any]:
    adapter: dict[str, Any] = {"_message": "OK", "code": "OK"}
    if rows is not None:
        adapter["rows_affected"] = rows
    return {
        "status": status,
        "timing": [
            {
                "name": "compile",
                "started_at": "2026-11-25T13:10:01.000000Z",
                "completed_at": "2026-11-25T13:10:01.020000Z",
            },
            {
                "name": "execute",
                "started_at": "2026-11-25T13:10:01.020000Z",
                "completed_at": "2026-11-25T13:10:02.000000Z",
            },
        ],
        "thread_id": "Thread-1 (worker)",
        "execution_time": seconds,
        "adapter_response": adapter,
        "message": extra.pop("message", "OK"),
        "failures": extra.pop("failures", None),
        "unique_id": unique_id,
        "compiled": True,
        "relation_name": None,
        "batch_results": None,
        **extra,
    }


def run_results(
    timings: dict[str, float] | None = None, *, generated_at: str = "2026-11-25T13:10:42.512345Z", failing: bool = True
) -> dict[str, Any]:
    seconds = {**DEFAULT_TIMINGS, **(timings or {})}
    results = [
        dbt_result("seed.retail.country_codes", "success", 0.21, rows=249, message="INSERT 249"),
        dbt_result(STG_ORDERS, "success", seconds[STG_ORDERS], rows=-1),
        dbt_result(FCT_ORDERS, "success", seconds[FCT_ORDERS], rows=1200),
        dbt_result("test.retail.not_null_fct_orders_order_id.5f1a2b3c4d", "pass", 0.05, failures=0),
        dbt_result(
            UNIQUE_TEST,
            "fail" if failing else "pass",
            0.07,
            failures=3 if failing else 0,
            message="Got 3 results, configured to fail if != 0" if failing else "OK",
        ),
        dbt_result("unit_test.retail.fct_orders.test_order_total", "pass", 0.3),
        dbt_result("model.retail.mart_revenue", "skipped" if failing else "success", 0.0),
    ]
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": "1.11.16",
            "generated_at": generated_at,
            "invocation_id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "env": {},
        },
        "results": results,
        "elapsed_time": 4.25,
        "args": {"which": "build", "target": "prod", "vars": {"quality_schema_base": "audit_20261125t131000_ab12cd"}},
    }


def manifest() -> dict[str, Any]:
    def node(unique_id: str, resource_type: str, materialized: str) -> dict[str, Any]:
        return {"unique_id": unique_id, "resource_type": resource_type, "config": {"materialized": materialized}}

    return {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
        "nodes": {
            "seed.retail.country_codes": node("seed.retail.country_codes", "seed", "seed"),
            STG_ORDERS: node(STG_ORDERS, "model", "view"),
            FCT_ORDERS: node(FCT_ORDERS, "model", "incremental"),
            UNIQUE_TEST: node(UNIQUE_TEST, "test", "test"),
            "model.retail.mart_revenue": node("model.retail.mart_revenue", "model", "table"),
        },
    }


def gate_report(*, status: str = "failed", run_id: str = RUN_ID) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "target": "prod",
        "audit_base": "audit_20261125t131000_ab12cd",
        "status": status,
        "started_at": "2026-11-25T13:10:00+00:00",
        "finished_at": "2026-11-25T13:10:45.500000+00:00",
        "timings": {"dbt_build": 4.3, "expectations": 2.1, "total": 45.5},
        "models": [],
        "tests": [],
        "expectations": [
            {
                "model": "fct_orders",
                "column": "order_total",
                "expectation": "expect_column_values_to_be_between",
                "severity": "error",
                "success": status == "published",
                "observed_value": None,
                "unexpected_count": 0 if status == "published" else 2,
                "unexpected_sample": [-5.0, -1.25],
                "description": "no negative order totals",
            },
            {
                "model": "fct_orders",
                "column": None,
                "expectation": "unexpected_rows",
                "severity": "warn",
                "success": status == "published",
                "unexpected_count": 0 if status == "published" else 1,
            },
            {
                "model": "dim_customers",
                "column": "customer_id",
                "expectation": "expect_column_values_to_not_be_null",
                "severity": "error",
                "success": True,
                "unexpected_count": 0,
            },
        ],
        "published": [],
        "error": None
        if status == "published"
        else "GateFailed: 1 dbt test failed in audit base audit_20261125t131000_ab12cd",
        "artifacts_dir": f"/work/artifacts/runs/{run_id}",
    }


def write_run(
    root: Path,
    run_id: str = RUN_ID,
    *,
    results: dict[str, Any] | None = None,
    report: dict[str, Any] | None = None,
    with_manifest: bool = True,
) -> Path:
    folder = root / run_id
    folder.mkdir(parents=True, exist_ok=True)
    if results is not None:
        (folder / "run_results.json").write_text(json.dumps(results))
    if report is not None:
        (folder / "report.json").write_text(json.dumps(report))
    if with_manifest:
        (folder / "manifest.json").write_text(json.dumps(manifest()))
    return folder


@pytest.fixture
def failed_run_dir(tmp_path: Path) -> Path:
    return write_run(tmp_path / "runs", results=run_results(), report=gate_report())


class TestRunRecord:
    def test_reads_run_level_fields_from_the_gate_report(self, failed_run_dir: Path) -> None:
        run = load_run(failed_run_dir)

        assert (run.run_id, run.target, run.status, run.ok) == (RUN_ID, "prod", "failed", False)
        assert run.duration_seconds == 45.5
        assert run.error == "GateFailed: 1 dbt test failed in audit base audit_20261125t131000_ab12cd"

    def test_reads_nodes_from_run_results_labelled_from_the_manifest(self, failed_run_dir: Path) -> None:
        nodes = {node.unique_id: node for node in load_run(failed_run_dir).nodes}

        assert nodes[FCT_ORDERS] == NodeResult(FCT_ORDERS, "model", "success", 2.5, 1200, None, "OK", "incremental")
        assert nodes[UNIQUE_TEST] == NodeResult(
            UNIQUE_TEST, "test", "fail", 0.07, None, 3, "Got 3 results, configured to fail if != 0", "test"
        )
        unit = nodes["unit_test.retail.fct_orders.test_order_total"]
        assert (unit.resource_type, unit.is_test, unit.materialized) == ("unit_test", True, "")

    def test_reads_expectations_with_table_level_column_as_empty(self, failed_run_dir: Path) -> None:
        assert load_run(failed_run_dir).expectations[1] == ExpectationOutcome(
            "fct_orders", "", "unexpected_rows", "warn", False, 1
        )

    def test_without_a_report_the_run_comes_from_dbt_alone(self, tmp_path: Path) -> None:
        folder = write_run(tmp_path, "plain", results=run_results(), with_manifest=False)

        run = load_run(folder)

        assert (run.run_id, run.target, run.status, run.expectations) == (
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "prod",
            "failed",
            (),
        )
        assert {n.unique_id: n.resource_type for n in run.nodes}[STG_ORDERS] == "model"

    def test_a_report_without_run_results_gives_the_nodes_and_junk_entries_are_skipped(self, tmp_path: Path) -> None:
        report = gate_report(status="published")
        report["models"] = [
            {
                "unique_id": FCT_ORDERS,
                "resource_type": "model",
                "status": "success",
                "execution_time": 1.5,
                "rows_affected": 10,
            },
            "not an object",
            {"unique_id": STG_ORDERS},
        ]
        report["tests"] = None
        folder = write_run(tmp_path, "reportonly", report=report, with_manifest=False)

        nodes = load_run(folder).nodes

        assert nodes == (
            NodeResult(FCT_ORDERS, "model", "success", 1.5, 10, None, "", ""),
            NodeResult(STG_ORDERS, "model", "unknown", 0.0, None, None, "", ""),
        )

    def test_an_empty_folder_says_which_files_are_expected(self, tmp_path: Path) -> None:
        with pytest.raises(RunArtifactsError) as caught:
            load_run(tmp_path)

        assert str(caught.value) == (
            f"{tmp_path} has neither run_results.json nor report.json; pass the folder a `quality gate` run wrote "
            "(artifacts/runs/<run id>/) as --run-dir."
        )

    def test_a_truncated_file_is_named(self, tmp_path: Path) -> None:
        (tmp_path / "run_results.json").write_text('{"results": [')

        with pytest.raises(RunArtifactsError, match=r"run_results\.json is not readable JSON"):
            load_run(tmp_path)


class TestSamples:
    def test_run_level_samples(self, failed_run_dir: Path) -> None:
        samples = [s for s in run_samples(load_run(failed_run_dir)) if s.name.startswith("quality_run")]

        assert samples == [
            MetricSample("quality_run_success", 0.0, (("target", "prod"),)),
            MetricSample("quality_run_info", 1.0, (("target", "prod"), ("run_id", RUN_ID), ("status", "failed"))),
            MetricSample("quality_run_duration_seconds", 45.5, (("target", "prod"),)),
            MetricSample("quality_run_finished_timestamp_seconds", 1795612245.5, (("target", "prod"),)),
        ]

    def test_failures_are_counted_per_kind(self, failed_run_dir: Path) -> None:
        values = {(s.name, s.labels): s.value for s in run_samples(load_run(failed_run_dir))}

        assert values[("quality_tests_failed", (("target", "prod"),))] == 1
        assert values[("quality_dbt_test_failures", (("target", "prod"), ("unique_id", UNIQUE_TEST)))] == 3
        assert values[("quality_expectations_failed", (("target", "prod"), ("severity", "error")))] == 1
        assert values[("quality_expectations_failed", (("target", "prod"), ("severity", "warn")))] == 1
        skipped = (("target", "prod"), ("unique_id", "model.retail.mart_revenue"), ("resource_type", "model"))
        assert values[("quality_dbt_node_success", skipped)] == 0
        counts = {
            s.label_dict["status"]: s.value
            for s in run_samples(load_run(failed_run_dir))
            if s.name == "quality_dbt_nodes" and s.label_dict["resource_type"] == "model"
        }
        assert counts == {"skipped": 1, "success": 2}

    def test_repeated_expectations_on_one_column_fold_into_one_series_that_fails_if_any_failed(
        self, tmp_path: Path
    ) -> None:
        report = gate_report(status="published")
        twice = {**report["expectations"][2]}
        report["expectations"].append({**twice, "success": False})
        folder = write_run(tmp_path, report=report, with_manifest=False)

        series = [s for s in run_samples(load_run(folder)) if s.name == "quality_expectation_success"]

        assert [(s.label_dict["model"], s.label_dict["column"], s.value) for s in series] == [
            ("fct_orders", "order_total", 1.0),
            ("fct_orders", "", 1.0),
            ("dim_customers", "customer_id", 0.0),
        ]


class TestPrometheusTextfile:
    def test_writes_the_textfile_collector_format(self, failed_run_dir: Path, tmp_path: Path) -> None:
        path = write_textfile(tmp_path / "prom" / "quality.prom", run_samples(load_run(failed_run_dir)))

        text = path.read_text()
        assert text.startswith(
            "# HELP quality_run_success 1 if the last gate run passed (published or audited), else 0.\n"
            "# TYPE quality_run_success gauge\n"
            'quality_run_success{target="prod"} 0.0\n'
        )
        assert (
            "# HELP quality_dbt_node_rows_affected adapter_response.rows_affected of a node, where the adapter "
            "reports it (never -1).\n"
            "# TYPE quality_dbt_node_rows_affected gauge\n"
            'quality_dbt_node_rows_affected{resource_type="seed",target="prod",unique_id="seed.retail.country_codes"}'
            " 249.0\n"
            'quality_dbt_node_rows_affected{resource_type="model",target="prod",unique_id="model.retail.fct_orders"}'
            " 1200.0\n"
            "# HELP quality_dbt_test_failures"
        ) in text
        assert text.endswith(
            'quality_expectations_failed{severity="error",target="prod"} 1.0\n'
            'quality_expectations_failed{severity="warn",target="prod"} 1.0\n'
        )

    def test_replaces_the_file_atomically_and_leaves_no_temporary_file(
        self, failed_run_dir: Path, tmp_path: Path
    ) -> None:
        target = tmp_path / "quality.prom"
        target.write_text("old content\n")

        write_textfile(target, run_samples(load_run(failed_run_dir)))

        assert sorted(p.name for p in tmp_path.iterdir()) == ["quality.prom", "runs"]
        assert "old content" not in target.read_text()

    def test_refuses_a_name_the_collector_would_ignore(self, tmp_path: Path) -> None:
        with pytest.raises(ExporterConfigError, match=r"quality\.txt does not end in \.prom"):
            write_textfile(tmp_path / "quality.txt", [])


@pytest.fixture
def recorder() -> Iterator[FakeWorkspace]:
    with FakeWorkspace(token=None) as server:
        yield server


class TestPushgateway:
    def test_puts_the_samples_under_job_and_target(self, recorder: FakeWorkspace, failed_run_dir: Path) -> None:
        recorder.route("PUT", "/metrics/job/{job}/target/{target}", lambda request: {})

        push(recorder.url, run_samples(load_run(failed_run_dir)), target="prod")

        (request,) = recorder.requests
        assert (request.method, request.path) == ("PUT", "/metrics/job/quality_gate/target/prod")
        assert b'quality_run_success{target="prod"} 0.0\n' in request.body

    def test_an_unreachable_gateway_is_a_clear_error(self, failed_run_dir: Path) -> None:
        with refusing_port() as port, pytest.raises(ExportError) as caught:
            push(f"http://127.0.0.1:{port}", run_samples(load_run(failed_run_dir)), target="prod")

        assert str(caught.value).startswith(f"the Pushgateway at http://127.0.0.1:{port} did not accept the metrics")


def body_json(request: RecordedRequest) -> Any:
    return json.loads(request.body)
