"""The Great Expectations expectation names a model's YAML may use, known without importing GX.

Importing GX takes 7-10 s, so hooks and `check_suites` check names against this static copy of GX's
registry instead. `tests/integration/test_gx_catalog.py` compares it with the installed GX and fails,
printing the replacement text, when an upgrade adds, removes or reshapes an expectation.

Each entry maps an expectation to the arguments that name columns of the validated table; those are
checked against the model's declared columns.
"""

from __future__ import annotations

from typing import Final

GX_CATALOG_VERSION: Final = "1.24.1"

# Our name for GX's UnexpectedRowsExpectation (`unexpected_rows_expectation`); its item carries `query`.
UNEXPECTED_ROWS: Final = "unexpected_rows"
GX_UNEXPECTED_ROWS: Final = "unexpected_rows_expectation"

# Registered in GX but not usable here, with the reason shown to the user.
UNSUPPORTED_EXPECTATIONS: Final[dict[str, str]] = {
    "expect_query_results_to_match_comparison": (
        "it compares two data sources and the harness validates each model through one; "
        "write an `unexpected_rows` query that joins the other relation with {ref:NAME} or {source:S.T}"
    ),
}

# GENERATED from great_expectations 1.24.1's expectation registry (see the module docstring).
COLUMN_ARGUMENTS: Final[dict[str, tuple[str, ...]]] = {
    "expect_column_distinct_values_to_be_in_set": ("column",),
    "expect_column_distinct_values_to_contain_set": ("column",),
    "expect_column_distinct_values_to_equal_set": ("column",),
    "expect_column_kl_divergence_to_be_less_than": ("column",),
    "expect_column_max_to_be_between": ("column",),
    "expect_column_mean_to_be_between": ("column",),
    "expect_column_median_to_be_between": ("column",),
    "expect_column_min_to_be_between": ("column",),
    "expect_column_most_common_value_to_be_in_set": ("column",),
    "expect_column_pair_values_a_to_be_greater_than_b": ("column_A", "column_B"),
    "expect_column_pair_values_to_be_equal": ("column_A", "column_B"),
    "expect_column_pair_values_to_be_in_set": ("column_A", "column_B"),
    "expect_column_proportion_of_non_null_values_to_be_between": ("column",),
    "expect_column_proportion_of_unique_values_to_be_between": ("column",),
    "expect_column_quantile_values_to_be_between": ("column",),
    "expect_column_stdev_to_be_between": ("column",),
    "expect_column_sum_to_be_between": ("column",),
    "expect_column_to_exist": ("column",),
    "expect_column_type_to_be": ("column",),
    "expect_column_unique_value_count_to_be_between": ("column",),
    "expect_column_value_lengths_to_be_between": ("column",),
    "expect_column_value_lengths_to_equal": ("column",),
    "expect_column_value_z_scores_to_be_less_than": ("column",),
    "expect_column_values_to_be_between": ("column",),
    "expect_column_values_to_be_dateutil_parseable": ("column",),
    "expect_column_values_to_be_decreasing": ("column",),
    "expect_column_values_to_be_in_set": ("column",),
    "expect_column_values_to_be_in_type_list": ("column",),
    "expect_column_values_to_be_increasing": ("column",),
    "expect_column_values_to_be_json_parseable": ("column",),
    "expect_column_values_to_be_null": ("column",),
    "expect_column_values_to_be_of_type": ("column",),
    "expect_column_values_to_be_unique": ("column",),
    "expect_column_values_to_match_json_schema": ("column",),
    "expect_column_values_to_match_like_pattern": ("column",),
    "expect_column_values_to_match_like_pattern_list": ("column",),
    "expect_column_values_to_match_regex": ("column",),
    "expect_column_values_to_match_regex_list": ("column",),
    "expect_column_values_to_match_strftime_format": ("column",),
    "expect_column_values_to_not_be_in_set": ("column",),
    "expect_column_values_to_not_be_null": ("column",),
    "expect_column_values_to_not_be_outliers": ("column",),
    "expect_column_values_to_not_match_like_pattern": ("column",),
    "expect_column_values_to_not_match_like_pattern_list": ("column",),
    "expect_column_values_to_not_match_regex": ("column",),
    "expect_column_values_to_not_match_regex_list": ("column",),
    "expect_compound_columns_to_be_unique": ("column_list",),
    "expect_multicolumn_sum_to_equal": ("column_list",),
    "expect_multicolumn_values_to_be_equal": ("column_list",),
    "expect_select_column_values_to_be_unique_within_record": ("column_list",),
    "expect_table_column_count_to_be_between": (),
    "expect_table_column_count_to_equal": (),
    "expect_table_columns_to_match_ordered_list": (),
    "expect_table_columns_to_match_set": (),
    "expect_table_row_count_to_be_between": (),
    "expect_table_row_count_to_equal": (),
    "expect_table_row_count_to_equal_other_table": (),
}

SUPPORTED_EXPECTATIONS: Final[frozenset[str]] = frozenset(COLUMN_ARGUMENTS) | {UNEXPECTED_ROWS}


def takes_implied_column(expectation: str) -> bool:
    """True when the expectation can be declared under a column (it has a single `column` argument)."""
    return COLUMN_ARGUMENTS.get(expectation) == ("column",)
