"""The outcome of a validation run as plain data (no GX object leaks out), and its readable form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quality.errors import HarnessError
from quality.expectations.spec import Severity, model_and_column

SAMPLE_SIZE = 5  # unexpected values / rows kept per failed expectation
_MAX_VALUE_CHARS = 300


@dataclass(frozen=True)
class ExpectationResult:
    """One expectation checked against one model's relation.

    `unexpected_sample` holds a few unexpected values (column expectations) or, for `unexpected_rows`,
    the first rows the query returned, each a dict of column -> value.
    """

    model: str
    column: str | None
    expectation: str
    severity: Severity
    success: bool
    observed_value: Any = None
    unexpected_count: int | None = None
    unexpected_sample: tuple[Any, ...] = ()
    description: str | None = None

    @property
    def label(self) -> str:
        return f"{model_and_column(self.model, self.column)} {self.expectation}"


@dataclass(frozen=True)
class HarnessProblem:
    """The harness could not decide an expectation (a metric raised, a table could not be read): this is
    not a data failure, and it fails a gate on its own."""

    model: str
    column: str | None
    expectation: str | None
    message: str

    @property
    def label(self) -> str:
        where = model_and_column(self.model, self.column)
        return f"{where} {self.expectation}" if self.expectation else where


@dataclass
class ValidationReport:
    run_name: str
    results: list[ExpectationResult] = field(default_factory=list)
    errors: list[HarnessProblem] = field(default_factory=list)
    data_docs_index: Path | None = None

    def failures(self, severity: Severity = "error") -> list[ExpectationResult]:
        return [result for result in self.results if not result.success and result.severity == severity]

    def warnings(self) -> list[ExpectationResult]:
        return self.failures("warn")

    @property
    def ok(self) -> bool:
        """No harness error and no failed expectation of severity error (warnings do not count)."""
        return not self.errors and not self.failures("error")

    def raise_for_errors(self) -> None:
        """Raise HarnessError when any expectation could not be decided."""
        if self.errors:
            raise HarnessError(format_problems(self.errors, self.run_name))


def format_failures(report: ValidationReport) -> str:
    """Every harness error, failure and warning of a run, one block each; '' when there is none."""
    failures, warnings = report.failures("error"), report.warnings()
    if not (report.errors or failures or warnings):
        return ""
    lines = [
        f"Great Expectations run {report.run_name}: {len(failures)} failed, {len(warnings)} warning(s), "
        f"{len(report.errors)} harness error(s) out of {len(report.results) + len(report.errors)} checks."
    ]
    if report.errors:
        lines.append(format_problems(report.errors, report.run_name))
    lines += [_format_result(result) for result in failures + warnings]
    if report.data_docs_index is not None:
        lines.append(f"Data Docs: {report.data_docs_index}")
    return "\n".join(lines)


def format_problems(problems: Sequence[HarnessProblem], run_name: str) -> str:
    header = (
        f"{len(problems)} expectation(s) of run {run_name} could not be evaluated (a harness error, "
        "not a data failure); fix the query or the relation named below and re-run:"
    )
    return "\n".join([header, *(f"- [harness] {problem.label}: {problem.message}" for problem in problems)])


def _format_result(result: ExpectationResult) -> str:
    tag = "FAILED" if result.severity == "error" else "warn"
    lines = [f"- [{tag}] {result.label}"]
    if result.description:
        lines.append(f"    rule: {result.description}")
    if result.observed_value is not None:
        lines.append(f"    observed: {_short(result.observed_value)}")
    if result.unexpected_count is not None:
        lines.append(f"    unexpected: {result.unexpected_count}")
    if result.unexpected_sample:
        lines.append(f"    sample: {_short(list(result.unexpected_sample))}")
    return "\n".join(lines)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."
