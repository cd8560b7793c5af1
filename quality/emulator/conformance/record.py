"""Record the conformance corpus from Apache Spark itself (on demand; needs Java 17 and the full pyspark).

    uv run --isolated --group spark-reference python -m quality.emulator.conformance.record [--project-dir dbt]

`--isolated` matters: the `spark-reference` group brings pyspark, and pyspark beside great-expectations makes
`import great_expectations` end the process, so it never enters the project's own environment. Spark runs
locally with ANSI mode on (Databricks SQL's default) and the session time zone UTC; the Python process runs
in UTC too, so timestamps come back as written. The cases are those of `cases.py`, for the functions the
project at `--project-dir` calls. Writes `spark_corpus.json` beside this file; takes a few minutes.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from quality.emulator.conformance import cases
from quality.emulator.conformance.corpus import CORPUS_PATH, Answer, Corpus, Entry, canonical_rows

SETTINGS = {"spark.sql.ansi.enabled": "true", "spark.sql.session.timeZone": "UTC"}
FUNCTION_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _spark() -> Any:
    os.environ["TZ"] = "UTC"
    time.tzset()
    from pyspark.sql import SparkSession  # type: ignore[import-not-found]  # the spark-reference group

    builder = SparkSession.builder.master("local[2]").appName("quality-conformance")
    for key, value in {**SETTINGS, "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("OFF")
    logging.getLogger("SQLQueryContextLogger").disabled = True  # pyspark logs every failing query as JSON
    return session


def answer(spark: Any, sql: str) -> Answer | None:
    """Spark's answer to `sql`: its rows, or the condition of the error the engine raised; None when the
    answer cannot be kept (pyspark cannot hand the result to Python, e.g. a year-month interval)."""
    from pyspark.errors.exceptions.captured import CapturedException  # type: ignore[import-not-found]

    try:
        rows = spark.sql(sql).collect()
    except CapturedException as error:  # raised by Spark itself: its condition is the answer
        condition = getattr(error, "getCondition", None) or getattr(error, "getErrorClass", None)
        return Answer(error=str((condition() if condition else None) or type(error).__name__))
    except Exception:  # pyspark's own conversion of the result, not Spark's answer
        return None
    try:
        return Answer(rows=canonical_rows(rows))
    except (ValueError, OverflowError):
        return None


def _documented(spark: Any) -> tuple[dict[str, list[str]], set[str]]:
    """Every built-in's documented examples, by function name (volatile functions left out); and the names
    in the groups of everyday SQL (`cases.EDGE_GROUPS`: strings, dates, maths, conditions, conversions)."""
    names = [row[0] for row in spark.sql("SHOW SYSTEM FUNCTIONS").collect()]
    examples: dict[str, list[str]] = {}
    everyday: set[str] = set()
    for name in sorted(set(names)):
        if not FUNCTION_NAME.match(name) or name in cases.UNREPEATABLE:
            continue
        text = "\n".join(row[0] for row in spark.sql(f"DESCRIBE FUNCTION EXTENDED `{name}`").collect())
        found = [sql for sql in cases.examples_of(text) if not set(cases.functions_called(sql)) & cases.UNREPEATABLE]
        if found:
            examples[name] = found
        if _group(spark, name) in cases.EDGE_GROUPS:
            everyday.add(name)
    return examples, everyday


def _group(spark: Any, name: str) -> str | None:
    """Spark's own group of a built-in (`string_funcs`, `datetime_funcs`, ...), from its function registry
    (Spark 4.2 names a built-in `system.builtin.<name>`; earlier releases by its name alone)."""
    jvm, registry = spark._jvm, spark._jsparkSession.sessionState().functionRegistry()
    identifier = jvm.org.apache.spark.sql.catalyst.FunctionIdentifier
    for candidate in (
        lambda: identifier(name, jvm.scala.Some("builtin"), jvm.scala.Some("system")),
        lambda: identifier.apply(name),
    ):
        try:
            info = registry.lookupFunction(candidate())
        except Exception:  # this release names built-ins the other way
            continue
        return str(info.get().getGroup()) if info.isDefined() else None
    return None


def all_cases(
    documented: dict[str, list[str]], project: Iterable[str], everyday: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """(SQL, origin) of every case, each SQL once: examples; every edge variant of the project's functions,
    a few of every everyday function's (`cases.FEW` values, `cases.EVERYDAY_CAP` cases); constructs."""
    found: dict[str, str] = {}
    for name, examples in documented.items():
        for sql in examples:
            found.setdefault(sql, f"example of {name}")
    called = set(project)
    for name in sorted((called | set(everyday)) & set(documented)):
        few = name not in called
        made = [sql for example in documented[name] for sql in cases.variants(example, name, few=few)]
        for sql in made[:: max(1, len(made) // cases.EVERYDAY_CAP)][: cases.EVERYDAY_CAP] if few else made:
            found.setdefault(sql, f"edge values of {name}")
    for sql, origin in cases.constructs():
        found.setdefault(sql, origin)
    return [(sql, origin) for sql, origin in found.items() if not set(cases.functions_called(sql)) & cases.UNREPEATABLE]


def _progress(todo: Sequence[tuple[str, str]], log: Any) -> Iterator[tuple[str, str]]:
    for number, case in enumerate(todo, 1):
        if number % 500 == 0:
            log(f"  {number} of {len(todo)} cases")
        yield case


def record(project_dir: Path, out: Path = CORPUS_PATH, *, log: Any = print) -> Corpus:
    spark = _spark()
    documented, everyday = _documented(spark)
    project = cases.project_functions(project_dir)
    log(
        f"Spark {spark.version}: {len(documented)} documented built-ins, {len(everyday)} of everyday SQL; "
        f"the project calls {len(project)}"
    )
    corpus = Corpus(spark_version=str(spark.version), settings=dict(SETTINGS))
    todo = all_cases(documented, project, everyday)
    first = [answer(spark, sql) for sql, _ in _progress(todo, log)]
    log("second pass: an example or construct whose answer changed depends on when it runs; it is left out")
    for (sql, origin), before in zip(todo, first, strict=True):
        again = before if origin.startswith("edge values") else answer(spark, sql)  # made from kept examples
        if before is not None and again == before:
            corpus.entries.append(Entry(sql, origin, cases.functions_called(sql), before))
    corpus.save(out)
    log(f"wrote {len(corpus.entries)} cases to {out}")
    spark.stop()
    return corpus


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project-dir", type=Path, default=Path("dbt"), help="the dbt project whose calls to cover")
    parser.add_argument("--out", type=Path, default=CORPUS_PATH, help="where to write the corpus")
    options = parser.parse_args(argv)
    try:
        import pyspark  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        print(f"pyspark is not installed here; run:\n    {' '.join(sys.argv[:1])} via\n    "
              "uv run --isolated --group spark-reference python -m quality.emulator.conformance.record", file=sys.stderr)  # fmt: skip
        return 2
    record(options.project_dir, options.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
