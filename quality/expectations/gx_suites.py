"""GX expectation objects built from checked specs.

Validation runs in two passes (see `pushdown`): the decide pass validates each model's cheap
expectations as declared (result format BASIC: counts plus a few unexpected values) and decides each
expensive one with `expect_table_row_count_to_equal(0)` on a query asset of its violations; the explain
pass validates, as declared, only the expensive ones that failed: BASIC for column expectations and
COMPLETE for `unexpected_rows`, the only format in which GX returns the rows the query found (at most
200; GX fetches them whatever the format, so COMPLETE costs nothing more).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import great_expectations as gx
from great_expectations.expectations.core.expect_table_row_count_to_equal import ExpectTableRowCountToEqual
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
from great_expectations.expectations.metadata_types import FailureSeverity

from quality.errors import ExpectationConfigError
from quality.expectations.catalog import GX_UNEXPECTED_ROWS
from quality.expectations.report import SAMPLE_SIZE
from quality.expectations.spec import ExpectationSpec, ModelSuite

SPEC_INDEX_KEY = "quality_spec_index"  # in each expectation's meta: which spec of the suite it is
ROWS_SUFFIX = ".unexpected_rows"

BASIC_FORMAT: dict[str, Any] = {"result_format": "BASIC", "partial_unexpected_count": SAMPLE_SIZE}
COMPLETE_FORMAT: dict[str, Any] = {"result_format": "COMPLETE"}

_SEVERITY = {"error": FailureSeverity.CRITICAL, "warn": FailureSeverity.WARNING}


@dataclass(frozen=True)
class BuiltSuite:
    """A GX suite for one model and the specs its expectations came from (by SPEC_INDEX_KEY).

    With `violation_query`, the suite runs on a query asset of that query and only decides its one
    spec: zero rows passes it; rows send it to the explain pass.
    """

    model: ModelSuite
    suite: gx.ExpectationSuite
    specs: Sequence[ExpectationSpec]
    complete_results: bool
    violation_query: str | None = None


def violation_count_suite(model: ModelSuite, spec: ExpectationSpec, query: str, name: str) -> BuiltSuite:
    """A suite deciding `spec` in one statement: the violation query must return no row."""
    expectation = ExpectTableRowCountToEqual(
        value=0,
        meta={SPEC_INDEX_KEY: 0},
        description=f"no violation of {spec.label}" + (f": {spec.description}" if spec.description else ""),
        severity=_SEVERITY[spec.severity],
    )
    suite = gx.ExpectationSuite(name=name, expectations=[expectation])
    return BuiltSuite(model, suite, [spec], complete_results=False, violation_query=query)


def build_suites(models: Sequence[ModelSuite], name_prefix: str = "") -> list[BuiltSuite]:
    """All GX suites, or ExpectationConfigError naming every spec GX refused (bad kwargs).

    Call with a GX context active (GX binds suites to the current context)."""
    built: list[BuiltSuite] = []
    problems: list[str] = []
    for model in models:
        for rows, suffix in ((False, ""), (True, ROWS_SUFFIX)):
            specs = [spec for spec in model.specs if spec.is_unexpected_rows == rows]
            if specs:
                expectations = [_expectation(spec, index, problems) for index, spec in enumerate(specs)]
                suite = gx.ExpectationSuite(
                    name=name_prefix + model.model + suffix,
                    expectations=[e for e in expectations if e is not None],
                )
                built.append(BuiltSuite(model, suite, specs, complete_results=rows))
    if problems:
        raise ExpectationConfigError(
            f"Great Expectations refused {len(problems)} expectation(s) declared in the models' YAML; "
            "nothing was validated. Fix the arguments under `kwargs:` as the GX documentation of each "
            "expectation describes:\n" + "\n".join(f"- {problem}" for problem in problems)
        )
    return built


def _expectation(spec: ExpectationSpec, index: int, problems: list[str]) -> Expectation | None:
    kwargs = dict(spec.kwargs)
    if spec.is_unexpected_rows:
        kwargs["unexpected_rows_query"] = spec.resolved_query
    configuration = ExpectationConfiguration(
        type=GX_UNEXPECTED_ROWS if spec.is_unexpected_rows else spec.expectation,
        kwargs=kwargs,
        meta={SPEC_INDEX_KEY: index},
        description=spec.description,
        severity=_SEVERITY[spec.severity],
    )
    try:
        return configuration.to_domain_obj()
    except Exception as error:  # GX raises pydantic and its own errors for bad kwargs
        detail = " ".join(str(error).split())
        problems.append(f"{spec.label}: {detail}")
        return None
