"""`BEGIN ATOMIC ... END`, which Sail cannot parse, run by the endpoint all-or-nothing.

Databricks runs the block as one transaction: every statement commits together, or none does, and a
failing statement's error is the block's error. The endpoint runs each statement on Spark SQL in order
(each one checked as any write is: `writes`), notes the Delta version of every table before the block
first writes it, and on a failure rewinds every table the block wrote to that version (`delta_log.rewind`:
no version is left behind, as after a rolled-back transaction) before answering with the statement's error.

Only SELECT / INSERT / MERGE / UPDATE / DELETE may run inside (else `TRANSACTION_NOT_SUPPORTED.COMMAND`,
before anything runs). Blocks run one at a time. Before its first write the block's tables and versions
are written to `_atomic_block.json` in the endpoint's folder and the file is removed when the block ends;
if the endpoint stops inside a block, its next start rewinds those tables (`recover`), so no table is
left between versions.

What this cannot show: Databricks' isolation. Other sessions see the block's writes while it runs here,
and two writers are not checked for conflicts.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from pathlib import Path

import pyarrow as pa

from quality.emulator import delta_log, gaps, writes
from quality.emulator.spark import SparkSqlError
from quality.emulator.translator import Translator

JOURNAL = "_atomic_block.json"
CRASH_ENV = "QUALITY_TEST_CRASH_AT"  # test hook: `atomic_after_first_write` stops the endpoint there
_BLOCK = re.compile(r"^begin\s+atomic\b(.*)\bend$", re.I | re.S)
_ALLOWED = re.compile(r"^(?:select|with|values|insert|merge|update|delete)\b", re.I)
_PARTS = re.compile(r"'(?:[^'\\]|\\.)*'|`(?:[^`]|``)*`|--[^\n]*|/\*.*?\*/|;", re.S)
_LOCK = threading.Lock()


def is_block(statement: str) -> bool:
    return _BLOCK.match(statement) is not None


def statements(block: str) -> list[str]:
    """The block's statements, split at `;` outside strings, quoted names and comments."""
    match = _BLOCK.match(block)
    assert match is not None
    body, parts, start = match.group(1), [], 0
    for token in _PARTS.finditer(body):
        if token.group(0) == ";":
            parts.append(body[start : token.start()])
            start = token.end()
    parts.append(body[start:])
    return [text for part in parts if (text := gaps.strip_comments(part))]


def refused(statement: str) -> SparkSqlError | None:
    if _ALLOWED.match(statement):
        return None
    command = " ".join(statement.split()[:2]).upper()
    return SparkSqlError(
        f"[TRANSACTION_NOT_SUPPORTED.COMMAND] Command `{command}` is not supported in a transaction. Only "
        "`SELECT` / `INSERT` / `MERGE` / `UPDATE` / `DELETE` are supported.",
        "TRANSACTION_NOT_SUPPORTED.COMMAND",
        "0A000",
    )


def run(block: str, translator: Translator) -> pa.Table:
    inner = statements(block)
    for statement in inner:
        if (error := refused(statement)) is not None:
            raise error
    journal = _journal_path(translator)
    with _LOCK:
        touched: dict[str, writes.Written] = {}
        try:
            for statement in inner:
                written = writes.written_table(gaps.sail_spelling(statement), translator)
                if written is not None and written.location not in touched:
                    touched[written.location] = written
                    _save(journal, touched)
                translator.run(statement)
                if touched and os.environ.get(CRASH_ENV) == "atomic_after_first_write":
                    os._exit(70)
        except SparkSqlError:
            for written in touched.values():
                delta_log.rewind(written.location, written.version)
            raise
        finally:
            journal.unlink(missing_ok=True)
    return gaps.OK


def recover(translator: Translator) -> str | None:
    """After a stop inside a block: rewind the tables it wrote; one message saying so (None: nothing to do)."""
    journal = _journal_path(translator)
    if not journal.exists():
        return None
    try:
        entries = json.loads(journal.read_text())
    except ValueError:
        entries = []
    names = []
    for entry in entries:
        if Path(entry["location"]).exists():
            delta_log.rewind(entry["location"], int(entry["version"]))
            names.append(f"{entry['ref']} (version {entry['version']})")
    journal.unlink(missing_ok=True)
    message = (
        "the local Databricks endpoint stopped inside a BEGIN ATOMIC block; as Databricks rolls back an "
        f"unfinished transaction, its {len(names)} table(s) are back at their versions before the block: "
        f"{', '.join(names) or 'none'}"
    )
    print(message, file=sys.stderr)
    return message


def _journal_path(translator: Translator) -> Path:
    return translator.warehouse.parent / JOURNAL


def _save(journal: Path, touched: dict[str, writes.Written]) -> None:
    entries = [{"ref": w.ref, "location": w.location, "version": w.version} for w in touched.values()]
    temporary = journal.with_suffix(".tmp")
    temporary.write_text(json.dumps(entries))
    os.replace(temporary, journal)
