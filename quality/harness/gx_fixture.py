"""The `gx` fixture's object: validate models of an ephemeral workspace against their declared suites."""

from __future__ import annotations

import contextlib
import importlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quality.errors import ExpectationConfigError

if TYPE_CHECKING:
    from quality.expectations.report import ValidationReport
    from quality.harness.workspace import Workspace


VALIDATION_MODULE = "quality.expectations.validate"  # imports Great Expectations: seconds of CPU


def import_in_background() -> Callable[[], None]:
    """Start importing Great Expectations in a thread (while this worker waits for another's shared build,
    its core is free); returns the join, to call before the waiting thread imports anything itself.

    A failed import is left to the validation that needs it, which raises it where it belongs.
    """

    def load() -> None:
        with contextlib.suppress(Exception):
            importlib.import_module(VALIDATION_MODULE)

    thread = threading.Thread(target=load, name="quality-gx-import", daemon=True)
    thread.start()
    return thread.join


class GxValidator:
    """`gx.validate("fct_orders")` returns the report; `gx.assert_valid(...)` fails the test with a readable list."""

    def __init__(self, workspace: Workspace, runs_root: Path | None = None) -> None:
        self.workspace = workspace
        self.runs_root = runs_root  # the folder of run folders the session prunes: Data Docs assets shared there

    def manifest(self) -> dict[str, Any]:
        path = self.workspace.dbt.target_path / "manifest.json"
        if not path.is_file():
            raise ExpectationConfigError(
                f"no manifest in {path.parent}: build first (use the dbt_build fixture, or dbt.run(['build']))."
            )
        return json.loads(path.read_text(encoding="utf-8"))

    def validate(self, *models: str) -> ValidationReport:
        """Validate the named models (all models with a suite when none is named).

        A project that declares no suite gets an empty, valid report without importing Great Expectations
        (its import alone takes seconds).
        """
        from quality.expectations.report import ValidationReport
        from quality.expectations.spec import check_suites

        manifest = self.manifest()
        suites = check_suites(manifest)
        if models:
            known = {suite.name for suite in suites}
            unknown = sorted(set(models) - known)
            if unknown:
                raise ExpectationConfigError(
                    f"no expectation suite is declared for {', '.join(unknown)} (models with suites: "
                    f"{', '.join(sorted(known)) or 'none'}); declare one under config.meta.quality.expectations."
                )
            suites = [suite for suite in suites if suite.name in models]
        if not suites:
            return ValidationReport(run_name=self.workspace.base)
        from quality.expectations.validate import validate_models
        from quality.observability.artifacts import share_data_docs_assets

        docs = self.workspace.artifacts_dir / "data_docs"
        report = validate_models(
            suites, manifest, self.workspace.engine, data_docs_dir=docs, run_name=self.workspace.base
        )
        if self.runs_root is not None:
            share_data_docs_assets(docs, self.runs_root)  # the same in every session's folder
        return report

    def assert_valid(self, *models: str) -> ValidationReport:
        """Validate and fail with each failed expectation (model, column, observed value, sample rows)."""
        from quality.expectations.report import format_failures

        report = self.validate(*models)
        if not report.ok:
            raise AssertionError(format_failures(report))
        return report
