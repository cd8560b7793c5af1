"""GX validation results turned into plain `ExpectationResult`s and `HarnessProblem`s.

GX does not raise when a metric fails: the expectation comes back with success False and the error in
`exception_info`, keyed by metric id (`{"MetricConfigurationID(...)": {"raised_exception": True, ...}}`)
or, for an error of the expectation itself, flat (`{"raised_exception": True, ...}`). Such a result is
a harness problem, never a data failure.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)

from quality.errors import HarnessError
from quality.expectations.gx_suites import SPEC_INDEX_KEY, BuiltSuite
from quality.expectations.report import SAMPLE_SIZE, ExpectationResult, HarnessProblem
from quality.expectations.spec import ExpectationSpec


@dataclass
class SuiteOutcome:
    """What one suite's validation said: decided results, harness problems, and specs whose violation
    query returned rows (to be validated as declared in the explain pass)."""

    results: list[tuple[ExpectationSpec, ExpectationResult]] = field(default_factory=list)
    problems: list[tuple[ExpectationSpec, HarnessProblem]] = field(default_factory=list)
    violated: list[ExpectationSpec] = field(default_factory=list)


def convert_suite_result(built: BuiltSuite, suite_result: ExpectationSuiteValidationResult) -> SuiteOutcome:
    outcome = SuiteOutcome()
    for result in suite_result.results:
        configuration = result.expectation_config
        if configuration is None or not configuration.meta or SPEC_INDEX_KEY not in configuration.meta:
            raise HarnessError(
                f"GX returned a result without the harness's {SPEC_INDEX_KEY} in suite {built.suite.name}"
            )
        spec = built.specs[int(configuration.meta[SPEC_INDEX_KEY])]
        error = raised_exception_message(result)
        if error is not None:
            outcome.problems.append((spec, HarnessProblem(spec.model, spec.column, spec.expectation, error)))
        elif built.violation_query is None:
            outcome.results.append((spec, convert_result(spec, result)))
        elif result.success:
            outcome.results.append((spec, _no_violation(spec)))
        else:
            outcome.violated.append(spec)
    return outcome


def _no_violation(spec: ExpectationSpec) -> ExpectationResult:
    """A passed expectation decided by its violation query (what GX itself reports on success)."""
    return ExpectationResult(
        model=spec.model,
        column=spec.column,
        expectation=spec.expectation,
        severity=spec.severity,
        success=True,
        observed_value=0 if spec.is_unexpected_rows else None,
        unexpected_count=0,
        description=spec.description,
    )


def raised_exception_message(result: ExpectationValidationResult) -> str | None:
    """The first error GX recorded for this expectation, or None when every metric resolved."""
    for info in _exception_infos(result.exception_info or {}):
        if info.get("raised_exception"):
            message = str(info.get("exception_message") or "unknown error").strip()
            return message.splitlines()[0] if message else "unknown error"
    return None


def _exception_infos(exception_info: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    if "raised_exception" in exception_info:
        yield exception_info
        return
    for value in exception_info.values():
        if isinstance(value, Mapping):
            yield value


def convert_result(spec: ExpectationSpec, result: ExpectationValidationResult) -> ExpectationResult:
    details: Mapping[str, Any] = result.result or {}
    unexpected_count = details.get("unexpected_count")
    if spec.is_unexpected_rows:
        rows = (details.get("details") or {}).get("unexpected_rows") or []
        sample = tuple(dict(row) for row in rows[:SAMPLE_SIZE])
        unexpected_count = details.get("observed_value")
    else:
        sample = tuple(details.get("partial_unexpected_list") or ())[:SAMPLE_SIZE]
    return ExpectationResult(
        model=spec.model,
        column=spec.column,
        expectation=spec.expectation,
        severity=spec.severity,
        success=bool(result.success),
        observed_value=details.get("observed_value"),
        unexpected_count=None if unexpected_count is None else int(unexpected_count),
        unexpected_sample=sample,
        description=spec.description,
    )
