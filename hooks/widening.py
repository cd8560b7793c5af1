"""How a kept check got weaker: lower severity, wider bounds, a bigger value set, a lower `mostly`, ...

Each rule looks at one argument, in data tests (`arguments:`, e.g. dbt_utils.accepted_range,
dbt_expectations) and in expectations (`kwargs:`, and a reconcile's `tolerance`) alike. Only a change
that lets more rows pass is reported; a change the guard cannot order (a bound of another type) is
reported too, since it may. An edit of what a check expects, in any direction (an expected value, SQL,
unit-test rows), is `hooks.check_values`'s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from hooks.check_values import SET_ARGUMENTS, plain
from hooks.declared_checks import Check

# Expectations where a smaller set lets more rows pass.
SHRINK_WIDENS = ("not_be_in_set", "not_in_set", "contain_set", "not_accepted_values")
ERROR_IF = re.compile(r"^\s*(?P<op>!=|<>|>=|>|=)\s*(?P<count>\d+)\s*$")


def show(value: Any) -> str:
    """A value as YAML would show it: 0, -10, 0.99, 'shipped', [1, 2]."""
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, default=str)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _compare(new: Any, old: Any) -> int | None:
    """-1, 0 or 1 for new < = > old; None when the two cannot be ordered."""
    new_number, old_number = _number(new), _number(old)
    if new_number is not None and old_number is not None:
        return (new_number > old_number) - (new_number < old_number)
    if isinstance(new, str) and isinstance(old, str):
        return (new > old) - (new < old)
    return None


def _bounds(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[str]:
    for key, strict, looser, verb in (
        ("min_value", "strict_min", -1, "lowered"),
        ("max_value", "strict_max", 1, "raised"),
    ):
        if old.get(key) is None:
            continue
        if new.get(key) is None:
            yield f"{key} {show(old[key])} removed"
            continue
        order = _compare(new[key], old[key])
        if order is None:
            yield f"{key} changed from {show(old[key])} to {show(new[key])}"
        elif order == looser:
            yield f"{key} {verb} from {show(old[key])} to {show(new[key])}"
        elif order == 0 and old.get(strict) is True and new.get(strict) is not True:
            yield f"{strict} switched off"
    if old.get("inclusive") is False and new.get("inclusive", True) is not False:
        yield "inclusive switched on"


def _mostly(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[str]:
    before, after = old.get("mostly", 1), new.get("mostly", 1)
    if _compare(after, before) == -1:
        yield f"mostly lowered from {show(before)} to {show(after)}"


def _tolerance(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[str]:
    before, after = old.get("tolerance", 0), new.get("tolerance", 0)
    if _compare(after, before) == 1:
        yield f"tolerance raised from {show(before)} to {show(after)}"


def _as_set(value: Any) -> dict[str, Any]:
    items = value if isinstance(value, list) else [value]
    return {json.dumps(plain(item), sort_keys=True, default=str): item for item in items}


def _sets(test: str) -> Callable[[Mapping[str, Any], Mapping[str, Any]], Iterator[str]]:
    shrink_widens = any(marker in test for marker in SHRINK_WIDENS)

    def rule(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[str]:
        for key in SET_ARGUMENTS:
            if old.get(key) is None:
                continue
            if new.get(key) is None:
                yield f"{key} removed"
                continue
            before, after = _as_set(old[key]), _as_set(new[key])
            if "equal_set" in test:
                continue  # neither direction is weaker
            if shrink_widens:
                lost = [value for k, value in before.items() if k not in after]
                if lost:
                    yield f"{key} lost {show(lost)}"
            else:
                added = [value for k, value in after.items() if k not in before]
                if added:
                    yield f"{key} grew by {show(added)}"

    return rule


def _filter(old: Check, new: Check) -> Iterator[str]:
    name = "where" if new.kind == "data test" else "row_condition"
    if new.where and new.where != old.where:
        yield f"{name} filter {'added' if not old.where else 'changed'}: {show(new.where)}"


def _failing_count(error_if: str) -> int | None:
    """The fewest failing rows that make the test an error: `!= 0` -> 1, `> 10` -> 11."""
    match = ERROR_IF.match(error_if or "!= 0")
    if match is None:
        return None
    count = int(match["count"])
    return {"!=": 1 if count == 0 else None, "<>": 1 if count == 0 else None, ">": count + 1, ">=": count}.get(
        match["op"]
    )


def _error_if(old: Check, new: Check) -> Iterator[str]:
    if old.error_if == new.error_if:
        return
    before, after = _failing_count(old.error_if), _failing_count(new.error_if)
    if before is None or after is None or after > before:
        yield f"error_if changed from {show(old.error_if or '!= 0')} to {show(new.error_if or '!= 0')}"


def weakenings(old: Check, new: Check) -> list[str]:
    """What makes `new` let more through than `old` (empty when it is as strict or stricter)."""
    if old.enabled and not new.enabled:
        return ["disabled (enabled: false)"]
    found: list[str] = []
    if old.severity == "error" and new.severity == "warn":
        found.append("severity lowered from error to warn")
    for rule in (_bounds, _mostly, _tolerance, _sets(new.test)):
        found.extend(rule(old.params, new.params))
    found.extend(_filter(old, new))
    if new.kind == "data test":
        found.extend(_error_if(old, new))
    return found
