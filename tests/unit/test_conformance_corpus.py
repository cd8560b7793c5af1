"""The conformance corpus: how its cases are made from Spark's documentation, that the committed corpus covers
what this project calls, and that docs/fidelity.md lists the differences on record."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from quality.emulator.conformance import cases
from quality.emulator.conformance.corpus import Corpus, canonical
from quality.emulator.conformance.replay import DOCS_END, DOCS_PATH, DOCS_START, docs_section, load_recorded

ROOT = Path(__file__).resolve().parents[2]
DESCRIBED = """Function: substr
Usage:
    substr(str, pos[, len]) - Returns the substring of `str` that starts at `pos`.
Extended Usage:
    Examples:
      > SELECT substr('Spark SQL', 5);
       k SQL
      > SELECT substr('Spark SQL',
          -3);
       SQL
    Since: 1.5.0
"""


def test_the_examples_are_read_from_sparks_own_documentation_multi_line_ones_too() -> None:
    assert cases.examples_of(DESCRIBED) == ["SELECT substr('Spark SQL', 5)", "SELECT substr('Spark SQL', -3)"]


def test_each_literal_argument_is_replaced_by_edge_values_of_its_kind_and_nothing_else_changes() -> None:
    found = cases.variants("SELECT date_add(DATE'2016-07-30', 1) + 0", "date_add")

    assert "SELECT date_add(DATE'2024-02-29', 1) + 0" in found  # a leap day
    assert "SELECT date_add(CAST(NULL AS DATE), 1) + 0" in found
    assert "SELECT date_add(DATE'2016-07-30', 2147483647) + 0" in found  # the integer limit
    assert "SELECT date_add(DATE'2016-07-30', NULL) + 0" in found
    assert all(sql.startswith("SELECT date_add(") and sql.endswith(") + 0") for sql in found)
    assert cases.variants("SELECT substr('Spark SQL', -3)", "substr")[:2] == [
        "SELECT substr(' a b ', -3)",
        "SELECT substr('', -3)",
    ]


def test_a_value_is_written_alike_whichever_client_read_it() -> None:
    assert canonical(Decimal("0.330")) == "0.330"  # the scale is part of the answer
    assert canonical(dt.datetime(2024, 6, 2, 23, 59, tzinfo=dt.UTC)) == "2024-06-02 23:59:00"
    assert canonical({"a": 1}) == [["a", 1]]  # a map, as pyspark gives it
    assert canonical({"a": 1}, dicts_are_structs=True) == [1]  # a struct, as the connector gives it
    assert canonical([("k", 2)]) == [["k", 2]]  # a map, as Arrow gives it
    assert canonical(float("nan")) == "nan"


def test_the_corpus_covers_every_documented_function_this_project_calls_with_edge_values() -> None:
    corpus = Corpus.load()
    examples: dict[str, list[str]] = {}
    for entry in corpus.entries:
        if entry.origin.startswith("example of "):
            examples.setdefault(entry.origin.removeprefix("example of "), []).append(entry.sql)
    edged = {entry.origin.removeprefix("edge values of ") for entry in corpus.entries}
    called = cases.project_functions(ROOT / "dbt") & set(examples)

    variable = {name for name in called if any(cases.variants(sql, name) for sql in examples[name])}

    assert called >= {"md5", "conv", "substr", "date_trunc"}
    assert not variable - edged, f"record the corpus again: {sorted(variable - edged)} lack edge values"
    assert corpus.settings == {"spark.sql.ansi.enabled": "true", "spark.sql.session.timeZone": "UTC"}
    assert corpus.spark_version.startswith("4.")


def test_the_docs_list_every_difference_on_record() -> None:
    text = DOCS_PATH.read_text(encoding="utf-8")
    listed = text.split(DOCS_START, 1)[1].split(DOCS_END, 1)[0]

    assert listed.strip() == docs_section(load_recorded()).strip(), (
        "docs/fidelity.md is stale: uv run python -m quality.emulator.conformance.replay --write"
    )
