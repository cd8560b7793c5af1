"""Date dimensions built from a spine: every day between both ends once, the declared ends present, and
day-of-week columns that say the true weekday.

A model is a date dimension when its code generates a spine (dbt's `date_spine` or a project macro of that
name, `generate_series`, `sequence`, `range`, `explode`/`unnest` over dates) and it has a date column, or when
a date column declared unique comes with day-of-week style columns. The spine's ends are read from the
`date_spine(...)` call (ISO dates, or `var('name')` resolved from the project's vars) or from ISO dates in
the compiled spine call; an end date may be exclusive (dbt_utils) or inclusive (most project macros).
Weekday numbering is detected from the column's name and values: ISO 1-7 (Monday=1; required when the name
says `iso`), Spark's dayofweek 1-7 (Sunday=1), 0-6 (Sunday=0), 0-6 (Monday=0), day names, or weekend flags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from itertools import pairwise
from typing import Any

from quality.engines.base import Engine
from quality.invariants.model import EXAMPLES, Check, Finding, Node, is_temporal, quote, ref
from quality.invariants.project import Project

SPINE_MACRO = re.compile(r"\bdate_spine\s*\(", re.IGNORECASE)
SPINE_SQL = re.compile(r"\b(generate_series|sequence|range|explode|unnest)\s*\(", re.IGNORECASE)
WEEKDAY = re.compile(r"(day_?of_?(the_)?week|weekday|week_day|(^|_)dow($|_)|isodow)")
WEEKEND = re.compile(r"weekend")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
VAR = re.compile(r"""var\(\s*['"](\w+)['"]\s*(?:,\s*['"]([^'"]*)['"])?\s*\)""")
SAMPLE_DAYS = 14  # two full weeks: every weekday twice
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# numbering -> value of an ISO weekday (1 = Monday ... 7 = Sunday)
NUMBERINGS = {
    "ISO (Monday=1 ... Sunday=7)": lambda iso: iso,
    "Spark dayofweek (Sunday=1 ... Saturday=7)": lambda iso: iso % 7 + 1,
    "Sunday=0 ... Saturday=6": lambda iso: iso % 7,
    "Monday=0 ... Sunday=6": lambda iso: iso - 1,
}


@dataclass(frozen=True)
class Calendar:
    node: Node
    day: str  # the spine's date column
    bounds: tuple[date, date] | None  # declared start and end of the spine
    weekday_columns: tuple[str, ...]


def plan(project: Project) -> list[Check]:
    calendars = [find_calendar(project, node) for node in project.of_type("model")]
    return [check for calendar in calendars if calendar is not None for check in calendar_checks(calendar)]


def calendar_checks(calendar: Calendar) -> list[Check]:
    node, day = calendar.node, calendar.day
    owners = (node.relation.unique_id,)
    rule = f"one row per day between the first and last {day}, none missing or doubled"
    checks = [Check("date_spine_contiguous", node.name, (day,), rule, partial(_contiguous, calendar=calendar), owners)]
    if calendar.bounds is not None:
        rule = f"{day} runs from the spine's start {calendar.bounds[0]} to its end {calendar.bounds[1]}"
        checks.append(Check("date_spine_bounds", node.name, (day,), rule, partial(_bounds, calendar=calendar), owners))
    for column in calendar.weekday_columns:
        evaluate = partial(_weekday, calendar=calendar, column=column)
        rule = f"{column} names the true weekday of {day}"
        checks.append(Check("date_spine_weekday", node.name, (day, column), rule, evaluate, owners))
    return checks


def find_calendar(project: Project, node: Node) -> Calendar | None:
    columns = project.columns(node.relation.unique_id)
    days = [name for name, kind in columns.items() if is_temporal(kind)]
    weekday = tuple(
        name
        for name, kind in columns.items()
        if (WEEKDAY.search(name) or WEEKEND.search(name)) and not is_temporal(kind)
    )
    spine = bool(SPINE_MACRO.search(node.raw_code) or SPINE_SQL.search(node.compiled_code))
    unique_days = [name for name in days if name in node.unique_columns]
    if not days or not (spine or (unique_days and weekday)):
        return None
    day = (unique_days or _by_name(days))[0]
    return Calendar(node, day, spine_bounds(node, project.vars), weekday)


def _by_name(days: list[str]) -> list[str]:
    """Date columns, the likeliest spine column first (date_day, date, day ... before week/month starts)."""
    return sorted(days, key=lambda name: (any(w in name for w in ("week", "month", "year", "quarter")), 0))


def spine_bounds(node: Node, project_vars: dict[str, Any]) -> tuple[date, date] | None:
    """The first and last ISO date given to the spine call (vars resolved), if both can be read."""
    found: list[str] = []
    macro = SPINE_MACRO.search(node.raw_code)
    if macro is not None:
        call = _call_text(node.raw_code, macro.end())
        call = VAR.sub(lambda m: str(project_vars.get(m.group(1), m.group(2) or "")), call)
        found = ISO_DATE.findall(call)
    if len(found) < 2 and (sql := SPINE_SQL.search(node.compiled_code)) is not None:
        found = ISO_DATE.findall(_call_text(node.compiled_code, sql.end()))
    if len(found) < 2:
        return None
    try:
        return date.fromisoformat(found[0]), date.fromisoformat(found[-1])
    except ValueError:
        return None


def _call_text(code: str, start: int) -> str:
    """The argument text of a call whose opening parenthesis ends at `start`."""
    depth = 1
    for index in range(start, len(code)):
        depth += {"(": 1, ")": -1}.get(code[index], 0)
        if depth == 0:
            return code[start:index]
    return code[start:]


def _as_date(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value  # type: ignore[no-any-return]


def _contiguous(engine: Engine, calendar: Calendar) -> Finding | None:
    day = quote(engine, calendar.day)
    relation = ref(engine, calendar.node.relation)
    total, distinct = engine.query(f"select count(*), count(distinct {day}) from {relation}")[0]
    days = [_as_date(row[0]) for row in engine.query(f"select distinct {day} from {relation} where {day} is not null")]
    days.sort()
    problems: list[dict[str, Any]] = []
    if total != distinct:
        doubled = engine.query(
            f"select {day}, count(*) from {relation} group by {day} having count(*) > 1 order by {day} limit {EXAMPLES}"
        )
        problems += [{"day": _as_date(row[0]), "rows": row[1]} for row in doubled]
    for previous, following in pairwise(days):
        if (following - previous).days > 1:
            problems.append({"missing_from": previous + timedelta(days=1), "missing_to": following - timedelta(days=1)})
    if not problems:
        return None
    missing = sum(1 for p in problems if "missing_from" in p)
    count = (int(total) - int(distinct)) + missing
    rule = f"one row per day between the first and last {calendar.day}, none missing or doubled"
    return Finding("date_spine_contiguous", calendar.node.name, (calendar.day,), count, problems[:EXAMPLES], rule)


def _bounds(engine: Engine, calendar: Calendar) -> Finding | None:
    assert calendar.bounds is not None
    day = quote(engine, calendar.day)
    first, last = engine.query(f"select min({day}), max({day}) from {ref(engine, calendar.node.relation)}")[0]
    first, last = _as_date(first), _as_date(last)
    start, end = calendar.bounds
    if first == start and last in {end, end - timedelta(days=1)}:
        return None
    example = {"first": first, "last": last, "spine_start": start, "spine_end": end}
    rule = f"{calendar.day} runs from the spine's start {start} to its end {end} (or the day before, if exclusive)"
    return Finding("date_spine_bounds", calendar.node.name, (calendar.day,), 1, [example], rule)


def _weekday(engine: Engine, calendar: Calendar, column: str) -> Finding | None:
    day, value = quote(engine, calendar.day), quote(engine, column)
    rows = engine.query(
        f"select {day}, {value} from {ref(engine, calendar.node.relation)} where {day} is not null "
        f"order by {day} limit {SAMPLE_DAYS}"
    )
    sample = [(_as_date(row[0]), row[1]) for row in rows if row[1] is not None]
    if not sample:
        return None
    wrong, rule = judge_weekdays(column, sample)
    if not wrong:
        return None
    examples = [
        {calendar.day: d, "is_a": DAY_NAMES[d.isoweekday() - 1].capitalize(), column: v} for d, v in wrong[:EXAMPLES]
    ]
    return Finding("date_spine_weekday", calendar.node.name, (calendar.day, column), len(wrong), examples, rule)


def judge_weekdays(column: str, sample: list[tuple[date, Any]]) -> tuple[list[tuple[date, Any]], str]:
    """The sampled rows whose value is not the day's weekday under any convention the column may follow."""
    if all(isinstance(v, bool) for _, v in sample) or WEEKEND.search(column):
        wrong = [(d, v) for d, v in sample if bool(v) != (d.isoweekday() >= 6)]
        return wrong, f"{column} is true on Saturdays and Sundays only"
    if all(isinstance(v, str) and not v.strip().isdigit() for _, v in sample):
        wrong = [(d, v) for d, v in sample if not DAY_NAMES[d.isoweekday() - 1].startswith(str(v).strip().lower()[:3])]
        return wrong, f"{column} is the English name of the day"
    numberings = {name: f for name, f in NUMBERINGS.items() if "iso" not in column or name.startswith("ISO")}
    best: list[tuple[date, Any]] = sample
    for name, number in numberings.items():
        wrong = [(d, v) for d, v in sample if not _equals(v, number(d.isoweekday()))]
        if not wrong:
            return [], name
        best = min(best, wrong, key=len)
    return best, f"{column} numbers weekdays consistently as one of: {'; '.join(numberings)}"


def _equals(value: Any, expected: int) -> bool:
    try:
        return int(value) == expected
    except (TypeError, ValueError):
        return False
