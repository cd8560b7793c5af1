"""Spark's exact answers as the reference for the local endpoint.

Sail is not Spark. The conformance corpus (`spark_corpus.json`) holds SQL expressions and small queries
with the answer Apache Spark 4.x itself gave them, ANSI mode on, session time zone UTC: a value (with its
type) or an error class. It is recorded on demand from a real Spark (`record.py`, the `spark-reference`
dependency group, never the default install) and replayed against the endpoint in the test suite
(`replay.py`). What the corpus covers (`cases.py`): every example of every Spark built-in (Spark's own
`DESCRIBE FUNCTION EXTENDED`), the same examples over edge values (NULL, zero, negatives, Sunday, leap
days, long strings, decimals) for every function a dbt project's SQL calls, casts of edge values to every
type, and the constructs where engines are known to part ways.

Where the endpoint's answer differs, the endpoint either rewrites the expression to Spark's semantics
(`quality/emulator/spark_semantics.py`), or the difference is recorded in `differences.json`: the
pre-commit Spark check flags a call of such a function as not verifiable locally, and docs/fidelity.md
lists them all. The replay test fails on any difference that is in neither.

Only the standard library is imported here and in `corpus.py`: the recorder runs beside pyspark, where
great-expectations cannot be imported.
"""
