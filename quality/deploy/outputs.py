"""Keep what a deploy run produced: each task's log and error, and the dbt task's artifacts.

Layout: `<dir>/<job run id>/<task key>/logs.txt`, `error.txt`, and for a dbt task the contents of the
artifacts archive Databricks offers through `dbt_output.artifacts_link` (a short-lived signed link, fetched
with the `artifacts_headers` it comes with; `target/manifest.json`, `target/run_results.json`, logs).
"""

from __future__ import annotations

import io
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

from quality.deploy.errors import DeployError
from quality.deploy.runs import TaskOutcome

ARTIFACTS_TIMEOUT_SECONDS = 60.0
# The gate task prints its report.json between these lines (job_entry.py): the run folder stays on the
# job cluster, and the task's logs are what `runs/get-output` brings back.
REPORT_BEGIN = "----- quality gate report.json -----"
REPORT_END = "----- end of quality gate report.json -----"


def print_report(report_path: Path) -> None:
    """On the job cluster: print a gate run's report.json between the markers (stdout, the task's logs)."""
    print(REPORT_BEGIN)
    print(report_path.read_text(encoding="utf-8").strip())
    print(REPORT_END, flush=True)


def extract_report(logs: str) -> str | None:
    """The last report.json printed between the markers in a task's logs, if any."""
    end = logs.rfind(REPORT_END)
    begin = logs.rfind(REPORT_BEGIN, 0, end) if end >= 0 else -1
    if begin < 0:
        return None
    return logs[begin + len(REPORT_BEGIN) : end].strip() + "\n"


def save_task_outputs(directory: Path, run_id: int, outcomes: list[TaskOutcome]) -> Path:
    run_dir = directory / str(run_id)
    for outcome in outcomes:
        task_dir = run_dir / outcome.task_key
        task_dir.mkdir(parents=True, exist_ok=True)
        if outcome.logs:
            (task_dir / "logs.txt").write_text(outcome.logs, encoding="utf-8")
            report = extract_report(outcome.logs)
            if report is not None:  # `quality metrics --run-dir <task_dir>` reads it
                (task_dir / "report.json").write_text(report, encoding="utf-8")
        if outcome.error or outcome.error_trace:
            (task_dir / "error.txt").write_text(f"{outcome.error}\n\n{outcome.error_trace}".strip() + "\n")
        if outcome.dbt_artifacts_link:
            download_dbt_artifacts(outcome, task_dir)
    return run_dir


def download_dbt_artifacts(outcome: TaskOutcome, destination: Path) -> list[Path]:
    """Fetch the dbt task's artifacts archive (tar.gz) and unpack it, refusing unsafe member paths."""
    link = outcome.dbt_artifacts_link or ""
    request = urllib.request.Request(link, headers=outcome.dbt_artifacts_headers)
    try:
        with urllib.request.urlopen(request, timeout=ARTIFACTS_TIMEOUT_SECONDS) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError) as error:
        raise DeployError(
            f"could not download the dbt artifacts of task '{outcome.task_key}' (run {outcome.run_id}): {error}. "
            "The signed link Databricks returns expires after a while; download them from the run page instead."
        ) from None
    try:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:*") as archive:
            members = [member for member in archive.getmembers() if member.isfile()]
            archive.extractall(destination, members=members, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise DeployError(
            f"the dbt artifacts of task '{outcome.task_key}' (run {outcome.run_id}) are not a readable tar "
            f"archive ({error}); download them from the run page instead."
        ) from None
    return sorted(destination / member.name for member in members)
