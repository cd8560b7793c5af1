"""Metrics and alerts from a run folder (`artifacts/runs/<run id>/`).

- `run_record`: read run_results.json, manifest.json and the gate's report.json (tolerant; shape documented there).
- `metrics`: the metric catalogue and the samples of one run.
- `prometheus`: node_exporter textfile (atomic) and Pushgateway; `datadog`: gauge series via `datadog.api`.
- `history` + `alerts`: failed run/nodes/expectations, runtime regressions; Slack-compatible webhook.
"""
