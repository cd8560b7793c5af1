"""Export samples through prometheus-client: a node_exporter textfile (atomic) or a Pushgateway push."""

from __future__ import annotations

import urllib.error
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile

from quality.observability.errors import ExporterConfigError, ExportError
from quality.observability.metrics import METRICS, MetricSample

PUSH_JOB = "quality_gate"
PUSH_TIMEOUT_SECONDS = 10.0


def build_registry(samples: Iterable[MetricSample]) -> CollectorRegistry:
    """One gauge per metric name of the catalogue, one child per label set."""
    registry = CollectorRegistry()
    gauges: dict[str, Gauge] = {}
    for sample in samples:
        gauge = gauges.get(sample.name)
        if gauge is None:
            spec = METRICS[sample.name]
            gauge = Gauge(sample.name, spec.help, labelnames=spec.labels, registry=registry)
            gauges[sample.name] = gauge
        gauge.labels(**sample.label_dict).set(sample.value)
    return registry


def write_textfile(path: Path, samples: Iterable[MetricSample]) -> Path:
    """Write the node_exporter textfile collector format; the file is replaced atomically (tmp + rename)."""
    if path.suffix != ".prom":
        raise ExporterConfigError(
            f"{path} does not end in .prom, and node_exporter's textfile collector only reads *.prom files; "
            "pass e.g. --textfile /var/lib/node_exporter/textfile/quality.prom."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), build_registry(samples))
    return path


def push(gateway_url: str, samples: Iterable[MetricSample], *, target: str, job: str = PUSH_JOB) -> None:
    """Replace this job/target group on the Pushgateway with the run's samples (HTTP PUT)."""
    registry = build_registry(samples)
    try:
        push_to_gateway(
            gateway_url, job=job, registry=registry, grouping_key={"target": target}, timeout=PUSH_TIMEOUT_SECONDS
        )
    except (urllib.error.URLError, OSError) as error:
        raise ExportError(
            f"the Pushgateway at {gateway_url} did not accept the metrics of target '{target}' ({error}); check "
            "the URL (--pushgateway) and that the gateway is up, or export to a --textfile instead."
        ) from None
