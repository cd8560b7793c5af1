"""What a check expects, as canonical data, so that an edit shows and a reformat does not.

Every check has `values`: the parts of it that say what the data must be. A unit test's are its `given`
rows (per input) and its `expect` rows; a singular test's its SQL; an expectation's its arguments other
than bounds (`value`, `value_set`, `sum_total`, a reconcile's `against`/`measures`/`group_by`, a query,
a condition, ...). Bounds (`min_value`, `max_value`, `strict_*`, `inclusive`, `mostly`, `tolerance`) and
filters are left to `hooks.widening`, which knows their direction: narrowing them is free.

Canonical means: mapping keys unordered; rows a multiset (dbt compares them unordered), each row's
values as text (`30.00`, `"30.0"` and `30` are one number, `true` and `"true"` one boolean: dbt casts a
fixture's values to the column types); CSV rows (inline `format: csv` or a `fixture:` file) read like
dbt reads them (an empty cell is null); SQL (`format: sql`, singular tests, queries) as tokens without
comments and whitespace (`hooks.sql_tokens`); value sets unordered.

A changed value is named in a waiver by `new_value:` (`hooks.weakening_guard`): short values as they are
(`{value: 120}`), rows, SQL and long values by a digest of their canonical form (`sha256:` and 12 hex).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from io import StringIO
from typing import Any

from hooks import sql_tokens

SET_ARGUMENTS = ("value_set", "values", "type_list")  # sets of values: compared unordered
# Compared by `hooks.widening` in their direction (narrowing is free), or no part of what is expected.
BOUND_ARGUMENTS = frozenset({"min_value", "max_value", "strict_min", "strict_max", "inclusive", "mostly", "tolerance"})
NOT_EXPECTED = frozenset(
    {"row_condition", "condition_parser", "result_format", "catch_exceptions", "meta", "notes", "severity"}
) | {"description", "include_config"}
SQL_ARGUMENTS = frozenset({"query", "condition", "against", "group_by", "measures", "row_condition"})
ROWS_KEYS = frozenset({"given", "expect"})
SINGULAR_SQL = "sql"
OPAQUE_KEYS = SQL_ARGUMENTS | ROWS_KEYS | {SINGULAR_SQL}  # named in a waiver by digest
SHOWN_WIDTH = 60  # a new value longer than this (as JSON) is named by its digest
NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
FIXTURE_FORMATS = ("csv", "sql")


# --- canonical forms ----------------------------------------------------------------------------------


def _number_text(value: Any) -> str:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return str(value)
    if not number.is_finite():
        return str(value).strip()
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "+0") else text


def plain(value: Any) -> Any:
    """A YAML value as JSON data: `5.0` and `5` one number, dates as text, keys as text."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return int(value) if isinstance(value, float) and value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return str(value)  # dates, datetimes, anything else YAML makes


def _cell(value: Any) -> Any:
    """A fixture cell as dbt will cast it: text, numbers normalized; null stays null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) or (isinstance(value, str) and NUMBER.match(value)):
        return _number_text(value)
    if isinstance(value, datetime.date | str):
        return str(value)
    return plain(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _row_set(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=_dumps)


def _csv_rows(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(StringIO(text.strip()))
    rows = []
    for row in reader:
        cells = {str(key).strip(): (value or "").strip() for key, value in row.items() if key is not None}
        rows.append({key: _cell(value or None) for key, value in cells.items()})
    return _row_set(rows)


def _fixture_rows(block: Mapping[str, Any], fixtures: Mapping[tuple[str, str], str]) -> Any:
    """The rows of a given/expect block: a row multiset, `{sql: tokens}`, or what names them."""
    form = str(block.get("format") or "dict").strip().lower()
    rows, fixture = block.get("rows"), block.get("fixture")
    if isinstance(fixture, str) and form in FIXTURE_FORMATS:
        if (fixture, form) not in fixtures:
            return {"fixture": fixture, "format": form, "file": "not found"}
        rows = fixtures[(fixture, form)]
    if form == "sql" and isinstance(rows, str):
        return {"sql": sql_tokens.tokens(rows)}
    if form == "csv" and isinstance(rows, str):
        return _csv_rows(rows)
    if isinstance(rows, list):
        table = [
            {str(key).strip(): _cell(value) for key, value in row.items()} for row in rows if isinstance(row, Mapping)
        ]
        return _row_set(table)
    return {"rows": plain(rows), "fixture": plain(fixture), "format": form}  # e.g. no rows: a seed's


def _input_name(value: Any) -> str:
    return "".join(str(value).replace('"', "'").split())


def unit_test_values(item: Mapping[str, Any], fixtures: Mapping[tuple[str, str], str]) -> dict[str, Any]:
    """`given` (rows per input) and `expect` (rows) of a dbt unit test, canonical."""
    given: dict[str, Any] = {}
    for block in item.get("given") or []:
        if isinstance(block, Mapping) and block.get("input"):
            given[_input_name(block["input"])] = _fixture_rows(block, fixtures)
    expect = item.get("expect")
    return {"given": given, "expect": _fixture_rows(expect, fixtures) if isinstance(expect, Mapping) else None}


def _sql_strings(value: Any) -> Any:
    if isinstance(value, str):
        return sql_tokens.tokens(value)
    if isinstance(value, Mapping):
        return {str(key): _sql_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_sql_strings(item) for item in value]
    return plain(value)


def canonical_argument(key: str, value: Any) -> Any:
    """An expectation argument as compared: SQL as tokens, a value set unordered, the rest `plain`."""
    if key in SQL_ARGUMENTS:
        return _sql_strings(value)
    if key in SET_ARGUMENTS and isinstance(value, list):
        return sorted({_dumps(plain(item)): plain(item) for item in value}.values(), key=_dumps)
    return plain(value)


def expectation_values(params: Mapping[str, Any]) -> dict[str, Any]:
    """What an expectation expects: its arguments but bounds, filters and reporting options."""
    return {
        key: canonical_argument(key, value)
        for key, value in params.items()
        if key not in BOUND_ARGUMENTS | NOT_EXPECTED
    }


def singular_test_values(sql: str) -> dict[str, Any]:
    """A singular test's SQL as tokens; its `config()` severity and enabled are compared apart."""
    return {SINGULAR_SQL: sql_tokens.without_config_arguments(sql_tokens.tokens(sql))}


# --- new values and how a waiver names them -----------------------------------------------------------


@dataclass(frozen=True)
class NewValue:
    """A changed part of a check and its new canonical value (JSON; `null` when it was removed)."""

    key: str
    value_json: str

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.value_json.encode()).hexdigest()[:12]

    @property
    def shown(self) -> Any:
        """What a waiver writes: the value itself when short and plain, else its digest."""
        if self.key in OPAQUE_KEYS or len(self.value_json) > SHOWN_WIDTH:
            return self.digest
        return json.loads(self.value_json)

    def matches(self, written: Any) -> bool:
        if isinstance(written, str) and written.strip() == self.digest:
            return True
        return self.key not in OPAQUE_KEYS and _dumps(canonical_argument(self.key, written)) == self.value_json


def new_value(key: str, value: Any) -> NewValue:
    """The new value of an argument the widening rules reported (`min_value`, `value_set`, ...)."""
    return NewValue(key, _dumps(canonical_argument(key, value)))


def waiver_matches(written: Any, changed: tuple[NewValue, ...]) -> bool:
    """Whether a waiver's `new_value:` names exactly these new values (a mapping, or the one value)."""
    if isinstance(written, Mapping):
        keys = {str(key) for key in written}
        return keys == {item.key for item in changed} and all(item.matches(written[item.key]) for item in changed)
    return len(changed) == 1 and changed[0].matches(written)


def _plain_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else json.dumps(key)


def flow_yaml(changed: tuple[NewValue, ...]) -> str:
    """The `new_value:` to write, as a YAML flow mapping: `{value: 120}`, `{expect: "sha256:..."}`."""
    items = (f"{_plain_key(item.key)}: {json.dumps(item.shown, ensure_ascii=False)}" for item in changed)
    return "{" + ", ".join(items) + "}"


# --- what changed, briefly ----------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A value as a message shows it: 56.97, 'shipped', {order_id: 1}, [0, 4.99]."""
    if isinstance(value, str):
        return value if NUMBER.match(value) or value in ("true", "false") else repr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}: {_text(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_text(item) for item in value) + "]"
    return json.dumps(value, default=str)


def _show(value: Any, width: int = 40) -> str:
    text = _text(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _row_label(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    same = next((key for key, value in new.items() if old.get(key, object()) == value), None)
    return f"row {{{same}: {_show(new[same])}}}" if same is not None else "a row"


def _row_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    if set(old) != set(new):
        return f"row {_show(old, 50)} became {_show(new, 50)}"
    fields = [f"{key} {_show(old[key])} -> {_show(new[key])}" for key in new if old[key] != new[key]]
    return f"{_row_label(old, new)}: {', '.join(fields)}"


def _multiset_minus(rows: list[Any], other: list[Any]) -> list[Any]:
    left = list(other)
    kept = []
    for row in rows:
        if row in left:
            left.remove(row)
        else:
            kept.append(row)
    return kept


def _rows_counted(rows: list[Any], verb: str) -> str:
    """`1 row added: {product_id: 101, unit_cost: 1}`, `3 rows removed: {...}, ...`; "" for none."""
    if not rows:
        return ""
    more = ", ..." if len(rows) > 1 else ""
    return f"{len(rows)} row{'s' if len(rows) > 1 else ''} {verb}: {_show(rows[0], 60)}{more}"


def describe_rows(old: Any, new: Any) -> str:
    """`row {order_line_id: 1}: net_amount 56.97 -> 57.97`, or rows added and removed."""
    if isinstance(old, Mapping) and isinstance(new, Mapping) and "sql" in old and "sql" in new:
        return "SQL " + sql_tokens.describe_change(old["sql"], new["sql"])
    if not (isinstance(old, list) and isinstance(new, list)):
        return f"{_show(old)} -> {_show(new)}"
    removed, added = _multiset_minus(old, new), _multiset_minus(new, old)
    if len(removed) == len(added):
        changes = [_row_change(before, after) for before, after in zip(removed, added, strict=True)]
    else:
        changes = [_rows_counted(removed, "removed"), _rows_counted(added, "added")]
        changes = [change for change in changes if change]
    more = f" (and {len(changes) - 2} more)" if len(changes) > 2 else ""
    return "; ".join(changes[:2]) + more


def _describe(key: str, old: Any, new: Any) -> Iterator[str]:
    if key == "given" and isinstance(old, Mapping) and isinstance(new, Mapping):
        for name in [*old, *(name for name in new if name not in old)]:
            if name not in new:
                yield f"given {name} removed"
            elif name not in old:
                yield f"given {name} added"
            elif old[name] != new[name]:
                yield _labelled(f"given {name}", describe_rows(old[name], new[name]))
    elif key == "expect":
        yield _labelled("expect", describe_rows(old, new))
    elif key in SQL_ARGUMENTS | {SINGULAR_SQL} and _sql_difference(old, new):
        yield f"{key} {_sql_difference(old, new)}"
    elif key in SET_ARGUMENTS and isinstance(old, list) and isinstance(new, list):
        lost, gained = _multiset_minus(old, new), _multiset_minus(new, old)
        yield f"{key} " + ", ".join(
            [*([f"lost {_show(lost)}"] if lost else []), *([f"gained {_show(gained)}"] if gained else [])]
        )
    else:
        yield f"{key} {_show(old)} -> {_show(new)}"


def _labelled(label: str, change: str) -> str:
    """`expect row {id: 1}: ...`, `given ref('x'): 1 row added: ...`."""
    return f"{label} {change}" if change.startswith("row ") else f"{label}: {change}"


def _is_tokens(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _sql_difference(old: Any, new: Any) -> str:
    """The first difference of two SQL texts, or of SQL texts at one place in two like structures
    (`measures`, `group_by`); "" when the structures differ."""
    if _is_tokens(old) and _is_tokens(new):
        return sql_tokens.describe_change(old, new)
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        pairs = list(zip(old, new, strict=True))
    elif isinstance(old, Mapping) and isinstance(new, Mapping) and set(old) == set(new):
        pairs = [(old[key], new[key]) for key in old]
    else:
        return ""
    return next((_sql_difference(a, b) for a, b in pairs if a != b), "")


@dataclass(frozen=True)
class Edit:
    key: str
    what: str
    new: NewValue


def edits(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Edit]:
    """Each part of `values` that differs, with what changed and its new value."""
    found = []
    for key in [*old, *(key for key in new if key not in old)]:
        if key not in new:
            found.append(Edit(key, f"{key} {_show(old[key])} removed", NewValue(key, "null")))
        elif key not in old:
            found.append(Edit(key, f"{key} {_show(new[key])} added", NewValue(key, _dumps(new[key]))))
        elif _dumps(old[key]) != _dumps(new[key]):
            what = "; ".join(_describe(key, old[key], new[key]))
            found.append(Edit(key, what, NewValue(key, _dumps(new[key]))))
    return found
