#!/usr/bin/env bash
# Export the deploy's metrics and alerts. Exporters switch on by their settings being present:
#   QUALITY_PUSHGATEWAY_URL, QUALITY_ALERT_WEBHOOK (read by `quality metrics` itself), DD_API_KEY (--datadog).
# DEPLOY_MODE=databricks-job: the run folder is the gate task's report.json that `quality deploy` took from the
# task's logs (every model, test and expectation, also when the gate failed), else the snapshot task's dbt
# artifacts.
set -euo pipefail
args=(--textfile artifacts/metrics/quality.prom)
if [[ -n "${DD_API_KEY:-}" ]]; then
  args+=(--datadog)
fi
if [[ "${DEPLOY_MODE:-}" == "databricks-job" ]]; then
  report="$(find artifacts/deploy -path '*/gate/report.json' -type f 2>/dev/null | sort | tail -n 1)"
  if [[ -n "$report" ]]; then
    run_dir="$(dirname "$report")"
  else
    run_dir="$(find artifacts/deploy -path '*/snapshot/target' -type d 2>/dev/null | sort | tail -n 1)"
  fi
  if [[ -z "$run_dir" ]]; then
    echo "no dbt artifacts came back from the Databricks job; nothing to export" >&2
    exit 1
  fi
  args+=(--run-dir "$run_dir")
fi
exec uv run quality metrics "${args[@]}"
