"""Datadog export through the official client, against a local server that records the series posted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quality.observability.datadog import DatadogSettings, send, settings_from_env
from quality.observability.errors import ExporterConfigError, ExportError
from quality.observability.metrics import run_samples
from quality.observability.run_record import load_run
from tests.fakes import FakeResponse, FakeWorkspace, RecordedRequest
from tests.unit.test_observability_metrics import RUN_ID, gate_report, run_results, write_run

API_KEY = "dd-fake-api-key-0000"  # pragma: allowlist secret
SENT_AT = 1795612250.0


@pytest.fixture
def datadog_api() -> Iterator[FakeWorkspace]:
    with FakeWorkspace(token=None) as server:
        server.route("POST", "/api/v1/series", lambda request: FakeResponse(202, {"status": "ok"}))
        yield server


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return write_run(tmp_path, results=run_results(), report=gate_report())


def posted_series(request: RecordedRequest) -> list[dict[str, Any]]:
    return list(json.loads(request.body)["series"])


class TestSend:
    def test_posts_every_sample_as_a_tagged_gauge_point(self, datadog_api: FakeWorkspace, run_dir: Path) -> None:
        samples = run_samples(load_run(run_dir))

        sent = send(samples, DatadogSettings(api_key=API_KEY, api_host=datadog_api.url), timestamp=SENT_AT)

        (request,) = datadog_api.calls("POST", "/api/v1/series")
        series = posted_series(request)
        assert sent == len(samples) == len(series)
        assert series[0] == {
            "metric": "quality.run_success",
            "points": [[SENT_AT, 0.0]],
            "tags": ["target:prod"],
            "type": "gauge",
            "host": "quality-harness",
        }
        assert series[1]["tags"] == ["target:prod", f"run_id:{RUN_ID}", "status:failed"]
        failures = [s for s in series if s["metric"] == "quality.dbt_test_failures" and s["points"][0][1] == 3.0]
        assert [s["tags"] for s in failures] == [
            ["target:prod", "unique_id:test.retail.unique_fct_orders_order_id.9c8d7e1f2a"]
        ]

    def test_the_api_key_travels_in_its_header_only(self, datadog_api: FakeWorkspace, run_dir: Path) -> None:
        send(
            run_samples(load_run(run_dir)),
            DatadogSettings(api_key=API_KEY, api_host=datadog_api.url),
            timestamp=SENT_AT,
        )

        (request,) = datadog_api.requests
        assert request.headers["dd-api-key"] == API_KEY
        assert API_KEY.encode() not in request.body
        assert request.query == {}

    def test_a_refused_key_is_a_clear_error(self, datadog_api: FakeWorkspace, run_dir: Path) -> None:
        datadog_api.route("POST", "/api/v1/series", lambda request: FakeResponse(403, {"errors": ["Forbidden"]}))

        refused = DatadogSettings(api_key="bad", api_host=datadog_api.url)  # pragma: allowlist secret
        samples = run_samples(load_run(run_dir))

        with pytest.raises(ExportError) as caught:
            send(samples, refused, timestamp=0)

        assert str(caught.value) == (
            "Datadog did not accept 34 series (Forbidden); check DD_API_KEY and DD_SITE/DATADOG_HOST, or export to "
            "Prometheus instead."
        )


class TestSettings:
    def test_the_api_key_is_required_by_name(self) -> None:
        with pytest.raises(ExporterConfigError, match=r"^--datadog needs an API key: set DD_API_KEY"):
            settings_from_env({})

    def test_the_site_selects_the_api_host(self) -> None:
        settings = settings_from_env({"DD_API_KEY": API_KEY, "DD_SITE": "datadoghq.eu"})

        assert (settings.api_key, settings.api_host) == (API_KEY, "https://api.datadoghq.eu")

    def test_an_explicit_host_wins_and_the_key_is_not_in_the_repr(self) -> None:
        settings = settings_from_env({"DD_API_KEY": API_KEY, "DD_SITE": "x", "DATADOG_HOST": "http://127.0.0.1:1"})

        assert settings.api_host == "http://127.0.0.1:1"
        assert API_KEY not in repr(settings)
