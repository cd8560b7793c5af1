"""Send samples to Datadog as gauge series through the official `datadog` client (`datadog.api.Metric`).

The API key comes from `DD_API_KEY` (or `DATADOG_API_KEY`); the endpoint from `DATADOG_HOST`, else
`https://api.<DD_SITE>`, else the client's default. Names become `quality.<rest>` and labels `key:value` tags.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from quality.observability.errors import ExporterConfigError, ExportError
from quality.observability.metrics import MetricSample

HOST_NAME = "quality-harness"
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class DatadogSettings:
    api_key: str = field(repr=False)
    api_host: str | None = None
    app_key: str | None = field(default=None, repr=False)


def settings_from_env(environ: Mapping[str, str]) -> DatadogSettings:
    api_key = environ.get("DD_API_KEY") or environ.get("DATADOG_API_KEY")
    if not api_key:
        raise ExporterConfigError(
            "--datadog needs an API key: set DD_API_KEY (in CI from the secret store); optionally DD_SITE or "
            "DATADOG_HOST for a non-default Datadog site."
        )
    site = environ.get("DD_SITE")
    api_host = environ.get("DATADOG_HOST") or (f"https://api.{site}" if site else None)
    return DatadogSettings(api_key=api_key, api_host=api_host, app_key=environ.get("DD_APP_KEY") or None)


def datadog_name(name: str) -> str:
    return "quality." + name.removeprefix("quality_")


def series(samples: Iterable[MetricSample], timestamp: float) -> list[dict[str, Any]]:
    return [
        {
            "metric": datadog_name(sample.name),
            "points": [(timestamp, sample.value)],
            "tags": [f"{key}:{value}" for key, value in sample.labels],
            "type": "gauge",
        }
        for sample in samples
    ]


def send(samples: Iterable[MetricSample], settings: DatadogSettings, *, timestamp: float) -> int:
    """Post every sample as one gauge point at `timestamp`; returns the number of series sent."""
    import datadog
    from datadog.api.exceptions import DatadogException
    from datadog.api.metrics import Metric

    payload = series(samples, timestamp)
    datadog.initialize(
        api_key=settings.api_key,
        app_key=settings.app_key,
        api_host=settings.api_host,
        host_name=HOST_NAME,
        mute=False,
        timeout=TIMEOUT_SECONDS,
        max_retries=1,
    )
    try:
        response = Metric.send(metrics=payload)
    except DatadogException as error:
        raise ExportError(
            f"Datadog did not accept {len(payload)} series ({_describe(error)}); check DD_API_KEY and "
            "DD_SITE/DATADOG_HOST, or export to Prometheus instead."
        ) from None
    if isinstance(response, dict) and response.get("errors"):
        raise ExportError(f"Datadog rejected the series: {response['errors']}; check DD_API_KEY and the metric names.")
    return len(payload)


def _describe(error: Exception) -> str:
    """The API's own error list when it sent one (`{"errors": [...]}`), else the client's message."""
    detail = error.args[0] if error.args else None
    if isinstance(detail, dict) and isinstance(detail.get("errors"), list):
        return "; ".join(str(item) for item in detail["errors"])
    return f"{type(error).__name__}: {error}"
