"""Replay the conformance corpus against the local endpoint and hold the result to what is on record.

`replay(connection, corpus)` runs every case through a databricks-sql-connector connection, as dbt-databricks
sends SQL, and returns each case whose answer is not Spark's:

- `value`: both answered, with different values (a float within a relative 1e-12 is the same value);
- `silent`: Spark raises an error where the endpoint answers (prod fails where a local run passed);
- `refused`: the endpoint raises an error where Spark answers (a local run fails loudly, nothing is hidden).

Two errors count as the same answer: error classes are Databricks', the endpoint names fewer of them.
`differences.json` holds the differences that remain on purpose (the endpoint neither rewrites them nor can);
`unexplained(found, recorded)` is what the test suite fails on: a new difference, naming the SQL, Spark's
answer and the endpoint's, or a recorded one that is gone.

    uv run python -m quality.emulator.conformance.replay [--write]

starts an endpoint, replays, prints the differences, and with `--write` records them in differences.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quality.emulator.conformance.cases import Argument, call_arguments, first_call, row_order_defined
from quality.emulator.conformance.corpus import DIFFERENCES_PATH, Answer, Corpus, Entry, canonical_rows

FLOAT_TOLERANCE = 1e-12
BATCH_SIZE = 40
DOCS_PATH = Path(__file__).resolve().parents[3] / "docs" / "fidelity.md"
DOCS_START, DOCS_END = "<!-- sail-differences:start -->", "<!-- sail-differences:end -->"
_ERROR_CLASS = re.compile(r"\[([A-Z][A-Z0-9_]+(?:\.[A-Z0-9_]+)*)\]")
SILENT_KINDS = ("value", "silent")  # the kinds a green local run hides
UNFLAGGED = frozenset({"cast", "try_cast"})  # grammar, not calls: in every model; their cases are in the docs


@dataclass(frozen=True)
class Difference:
    """A case where the endpoint's answer is not Spark's."""

    sql: str
    kind: str  # value | silent | refused
    functions: tuple[str, ...]
    spark: str
    endpoint: str

    def describe(self) -> str:
        return f"{self.sql}\n    Spark: {self.spark}\n    endpoint: {self.endpoint}"

    def as_json(self) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "kind": self.kind,
            "functions": list(self.functions),
            "spark": self.spark,
            "endpoint": self.endpoint,
        }


def endpoint_answer(connection: Any, sql: str) -> Answer:
    """The endpoint's answer to `sql` through a connector connection: rows, or the error's class.

    Rows are read as Arrow (`fetchall_arrow`): the connector's Python rows turn an array's NULLs into NaN."""
    try:
        with closing(connection.cursor()) as cursor:
            cursor.execute(sql)
            table = cursor.fetchall_arrow()
    except Exception as error:  # an error is an answer; its class is compared
        return Answer(error=_error_class(error))
    columns = [_values(table.column(index)) for index in range(table.num_columns)]
    return Answer(rows=canonical_rows(zip(*columns, strict=True), dicts_are_structs=True))


def _values(column: Any) -> list[Any]:
    """A column's Python values; a type this pyarrow cannot hand to Python (an interval) as text."""
    try:
        return list(column.to_pylist())
    except (KeyError, NotImplementedError, TypeError):
        return [f"unreadable {column.type}"] * len(column)


def _error_class(error: BaseException) -> str:
    found = _ERROR_CLASS.search(str(error))
    return found.group(1) if found else type(error).__name__


def _one_value(entry: Entry) -> bool:
    rows = entry.spark.rows
    return rows is not None and len(rows) == 1 and len(rows[0]) == 1


def batched_answers(
    connection: Any, entries: Sequence[Entry], *, refused: Collection[str] = (), size: int = BATCH_SIZE
) -> list[Answer]:
    """The endpoint's answers to `entries`, in order. A case whose Spark answer is one value goes with others,
    `size` at a time, as scalar subqueries of one SELECT (each keeps its own type and FROM); a batch that
    fails is split in halves until the failing case runs alone. Every other case, and those in `refused`
    (SQL the endpoint is on record as refusing), runs alone."""
    answers: dict[int, Answer] = {}
    single = [index for index, entry in enumerate(entries) if _one_value(entry) and entry.sql not in refused]
    for start in range(0, len(single), size):
        answers.update(_batch(connection, entries, single[start : start + size]))
    return [answers.get(index) or endpoint_answer(connection, entry.sql) for index, entry in enumerate(entries)]


def _batch(connection: Any, entries: Sequence[Entry], chunk: list[int]) -> dict[int, Answer]:
    if len(chunk) == 1:
        return {chunk[0]: endpoint_answer(connection, entries[chunk[0]].sql)}
    columns = ", ".join(f"({entries[index].sql}) AS c{number}" for number, index in enumerate(chunk))
    answer = endpoint_answer(connection, f"SELECT {columns}")
    if answer.rows is not None and len(answer.rows) == 1:
        return {index: Answer(rows=((value,),)) for index, value in zip(chunk, answer.rows[0], strict=True)}
    half = len(chunk) // 2
    return {**_batch(connection, entries, chunk[:half]), **_batch(connection, entries, chunk[half:])}


def same(spark: Any, endpoint: Any) -> bool:
    """Equal canonical values; floats within FLOAT_TOLERANCE (relative), element by element."""
    if isinstance(spark, float) and isinstance(endpoint, float):
        return math.isclose(spark, endpoint, rel_tol=FLOAT_TOLERANCE)
    if isinstance(spark, list | tuple) and isinstance(endpoint, list | tuple):
        return len(spark) == len(endpoint) and all(same(a, b) for a, b in zip(spark, endpoint, strict=True))
    return type(spark) is type(endpoint) and bool(spark == endpoint)


def difference(entry: Entry, answer: Answer) -> Difference | None:
    """How the endpoint's `answer` differs from Spark's for `entry`, or None when it is Spark's."""
    spark = entry.spark
    if spark.error is not None and answer.error is not None:
        return None
    if spark.error is None and answer.error is None and same(*_in_order(entry.sql, spark.rows, answer.rows)):
        return None
    kind = "value" if spark.error is None and answer.error is None else "silent" if answer.error is None else "refused"
    return Difference(entry.sql, kind, entry.functions, spark.describe(), answer.describe())


def _in_order(sql: str, *answers: Any) -> list[Any]:
    """The rows of each answer; sorted alike when the query leaves their order open (no ORDER BY)."""
    if row_order_defined(sql):
        return list(answers)
    return [sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str)) for rows in answers]


def replay(connection: Any, corpus: Corpus, recorded: Iterable[Difference] = ()) -> list[Difference]:
    """Every case of `corpus` on the endpoint behind `connection`; the cases whose answer is not Spark's.
    (`recorded`, the differences on record, only saves time: the cases it says fail run alone.)"""
    refused = {item.sql for item in recorded if item.kind == "refused"}
    answers = batched_answers(connection, corpus.entries, refused=refused)
    return [
        found for entry, answer in zip(corpus.entries, answers, strict=True) if (found := difference(entry, answer))
    ]


def load_recorded(path: Path = DIFFERENCES_PATH) -> list[Difference]:
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        Difference(item["sql"], item["kind"], tuple(item["functions"]), item["spark"], item["endpoint"])
        for item in data["differences"]
    ]


def write_recorded(differences: Iterable[Difference], path: Path = DIFFERENCES_PATH) -> None:
    ordered = sorted(differences, key=lambda item: (item.kind, item.functions, item.sql))
    data = {
        "about": "Cases of spark_corpus.json where the local endpoint does not give Spark's answer. Written by "
        "`uv run python -m quality.emulator.conformance.replay --write`; see docs/fidelity.md.",
        "differences": [item.as_json() for item in ordered],
    }
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def unexplained(found: Iterable[Difference], recorded: Iterable[Difference]) -> list[str]:
    """What the replay shows that differences.json does not say, and what it says that is no longer so."""
    # by SQL and kind: what the endpoint answers is not always the same (Sail's aes_encrypt in ECB mode)
    on_record = {(item.sql, item.kind): item for item in recorded}
    seen = {(item.sql, item.kind): item for item in found}
    problems = [
        f"new difference ({item.kind}): {item.describe()}" for key, item in seen.items() if key not in on_record
    ]
    problems += [
        f"recorded difference no longer seen ({item.kind}): {item.describe()}"
        for key, item in on_record.items()
        if key not in seen
    ]
    return problems


@dataclass(frozen=True)
class Unverifiable:
    """A difference a green local run would hide, as the pre-commit check matches calls against it: the
    function that answers (the case's outermost call) and the case's arguments."""

    function: str
    arguments: tuple[Argument, ...]
    difference: Difference

    def matches(self, arguments: Sequence[Argument]) -> bool:
        """A call with these arguments may meet this difference: as many arguments, and every literal the
        call and the case both have is the same (an expression on either side could be anything)."""
        if len(arguments) != len(self.arguments):
            return False
        return all(
            "expr" in (mine.kind, theirs.kind) or (mine.kind, mine.text) == (theirs.kind, theirs.text)
            for mine, theirs in zip(self.arguments, arguments, strict=True)
        )


def not_verifiable_locally(recorded: Iterable[Difference]) -> dict[str, list[Unverifiable]]:
    """Function name -> the differences (kinds `value`, `silent`) a call of it may meet. A cast or an operator
    has no function to flag at every use: those differences are listed in docs/fidelity.md only."""
    flagged: dict[str, list[Unverifiable]] = {}
    for item in recorded:
        name = first_call(item.sql) if item.kind in SILENT_KINDS else None
        arguments = call_arguments(item.sql, name) if name and name not in UNFLAGGED else None
        if name and arguments is not None:
            flagged.setdefault(name, []).append(Unverifiable(name, tuple(arguments), item))
    return flagged


def docs_section(recorded: Sequence[Difference]) -> str:
    """The Markdown list of the remaining differences, as docs/fidelity.md shows it between its markers."""
    silent = [item for item in recorded if item.kind in SILENT_KINDS]
    by_function: dict[str, list[Difference]] = {}
    for item in silent:  # by the function that answers (the outermost call), as the pre-commit check flags
        name = first_call(item.sql)
        by_function.setdefault(name if name and name not in UNFLAGGED else "(operators and casts)", []).append(item)
    lines = [
        f"{len(silent)} case(s) where a local run gives another answer than Spark and passes, by the function "
        "that answers (the pre-commit Spark check flags a call of it that may meet the case as not verifiable "
        "locally; operators and casts are in every model and are listed here only):",
        "",
        "| function | cases | for example | Spark | the endpoint |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in sorted(by_function):
        first = by_function[name][0]
        cells = [name, str(len(by_function[name])), f"`{first.sql}`", first.spark, first.endpoint]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    unflagged = by_function.get("(operators and casts)", [])
    if unflagged:
        lines += ["", "The operators and casts, each:", ""]
        lines += [
            f"- `{item.sql}`: Spark {_cell(item.spark)}, the endpoint {_cell(item.endpoint)}" for item in unflagged
        ]
    refused = sorted({name for item in recorded if item.kind == "refused" and (name := first_call(item.sql))})
    lines += [
        "",
        f"{sum(item.kind == 'refused' for item in recorded)} case(s) that Spark answers and the endpoint refuses "
        "with an error (a local run fails loudly; nothing is hidden), in calls of: "
        + ", ".join(f"`{name}`" for name in refused)
        + ".",
    ]
    return "\n".join(lines) + "\n"


# hex or base64 of a binary value, a hash or a ciphertext: unreadable, and secret scanners flag it
_BLOB = re.compile(r"\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b|(?=[0-9A-Za-z+/]*[0-9+/])[0-9A-Za-z+/]{16,}={0,2}")


def _cell(text: str) -> str:
    text = _BLOB.sub("<binary>", text)
    text = text if len(text) <= 70 else text[:67] + "..."
    return text.replace("|", "\\|").replace("\n", " ")


def write_docs(recorded: Sequence[Difference], path: Path = DOCS_PATH) -> None:
    """Put `docs_section(recorded)` between the markers of docs/fidelity.md."""
    text = path.read_text(encoding="utf-8")
    head, _, rest = text.partition(DOCS_START)
    _, _, tail = rest.partition(DOCS_END)
    path.write_text(f"{head}{DOCS_START}\n{docs_section(recorded)}{DOCS_END}{tail}", encoding="utf-8")


def summary(differences: Sequence[Difference]) -> str:
    kinds = Counter(item.kind for item in differences)
    return ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())) or "none"


def connect(endpoint: Any) -> Any:
    """A connector session on a started endpoint, as dbt-databricks opens one with `local_databricks`."""
    from databricks import sql as databricks_sql

    return databricks_sql.connect(
        server_hostname=endpoint.host,
        http_path=endpoint.ready["http_path"],
        access_token=endpoint.ready["token"],
        use_sea=True,
        enable_telemetry=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    from quality.emulator.endpoint import LocalEndpoint

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="record the differences in differences.json")
    options = parser.parse_args(argv)
    corpus = Corpus.load()
    with LocalEndpoint() as endpoint:
        os.environ.update(endpoint.environment())  # its TLS trust and route, as `quality emulator` gives them
        with closing(connect(endpoint)) as connection:
            found = replay(connection, corpus, load_recorded())
    for item in found:
        print(f"[{item.kind}] {item.describe()}")
    print(f"{len(corpus.entries)} cases (Spark {corpus.spark_version}); differences: {summary(found)}")
    if options.write:
        write_recorded(found)
        write_docs(load_recorded())
        return 0
    problems = unexplained(found, load_recorded())
    print("\n".join(problems), file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
