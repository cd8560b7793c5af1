"""The local endpoint against Spark's own answers: the conformance corpus recorded from Apache Spark 4.x
(quality/emulator/conformance/spark_corpus.json) replayed through databricks-sql-connector, as dbt-databricks
sends SQL. Every case gives Spark's answer, or its difference is on record (differences.json, listed in
docs/fidelity.md and flagged by the pre-commit Spark check)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from quality.emulator.conformance.corpus import Answer, Corpus
from quality.emulator.conformance.replay import Difference, load_recorded, replay, unexplained
from tests.integration.local_databricks import on_local_endpoint

pytestmark = on_local_endpoint("conformance")
REWRITE_COMMAND = "uv run python -m quality.emulator.conformance.replay --write"


@pytest.fixture(scope="module")
def differences(connection: Any) -> list[Difference]:
    return replay(connection, Corpus.load(), load_recorded())


def test_every_case_gives_sparks_answer_or_its_difference_is_on_record(differences: list[Difference]) -> None:
    problems = unexplained(differences, load_recorded())

    assert not problems, "\n".join(problems) + f"\n(if the endpoint changed on purpose: {REWRITE_COMMAND})"


@pytest.mark.parametrize(
    "construct",
    [
        "extract(dow FROM DATE'2024-06-02')",
        "date_part('dow', DATE'2024-06-08')",
        "extract(dayofweek FROM DATE'2024-06-02')",
        "extract(dayofweek_iso FROM DATE'2024-06-02')",
        "weekday(DATE'2024-06-02')",
        "left('abc', -1)",
        "right('abc', -1)",
        "substring('abc', 1, -1)",
        "log(10)",
    ],
)
def test_the_constructs_where_sail_is_not_spark_give_sparks_answer(
    construct: str, differences: list[Difference]
) -> None:
    corpus = {entry.sql: entry for entry in Corpus.load().entries}
    sql = f"SELECT {construct}"

    assert sql in corpus, "the corpus covers the construct"
    assert [item.describe() for item in differences if item.sql == sql] == []


def test_a_case_whose_answer_no_longer_matches_names_the_sql_sparks_answer_and_the_endpoints(
    connection: Any,
) -> None:
    corpus = Corpus.load()
    entry = next(entry for entry in corpus.entries if entry.sql == "SELECT weekday(DATE'2024-06-02')")
    seeded = dataclasses.replace(entry, spark=Answer(rows=((5,),)))  # a recording Spark would not give

    found = replay(connection, dataclasses.replace(corpus, entries=[seeded]))
    problems = unexplained(found, [])

    assert problems == [
        "new difference (value): SELECT weekday(DATE'2024-06-02')\n    Spark: 5\n    endpoint: 6",
    ]
