"""Spark's answer where Sail's differs: calls rewritten, before Sail sees them, into SQL Sail runs as Spark does.

Each rule is measured by the conformance corpus (`conformance/`, replayed in the test suite): it exists
because Spark and Sail gave different answers to the same call, and the replay proves the rewrite gives
Spark's. What no rule covers is listed in `conformance/differences.json` and docs/fidelity.md.

The statement is edited as text, call by call (sqlglot's Spark tokenizer finds the calls and their
arguments), so everything else reaches Sail exactly as written. A call qualified by a schema (`s.left(x)`)
is a user's function and is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot.dialects.spark import Spark
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

Rule = Callable[[list[str]], str | None]

_DAY_OF_WEEK = {"dow", "dayofweek"}  # Spark: Sunday 1 ... Saturday 7; Sail: 0 ... 6
_ISO_DAY_OF_WEEK = {"dow_iso", "dayofweek_iso"}  # Spark: Monday 1 ... Sunday 7; Sail calls it isodow
_FIELD = re.compile(r"^\s*['\"]?(?P<field>\w+)['\"]?\s*$")
_EXTRACT = re.compile(r"^\s*(?P<field>\w+)\s+from\s+(?P<source>.+)$", re.I | re.S)


def _day_of_week(field: str, source: str) -> str | None:
    if field.lower() in _DAY_OF_WEEK:
        return f"dayofweek({source})"
    if field.lower() in _ISO_DAY_OF_WEEK:
        return f"extract(isodow FROM {source})"
    return None


def _extract(arguments: list[str]) -> str | None:
    match = _EXTRACT.match(arguments[0]) if len(arguments) == 1 else None
    return _day_of_week(match.group("field"), match.group("source")) if match else None


def _date_part(arguments: list[str]) -> str | None:
    field = _FIELD.match(arguments[0]) if len(arguments) == 2 else None
    return _day_of_week(field.group("field"), arguments[1]) if field else None


def _weekday(arguments: list[str]) -> str | None:
    """Spark: Monday 0 ... Sunday 6 (Sail: Sunday -1)."""
    return f"((dayofweek({arguments[0]}) + 5) % 7)" if len(arguments) == 1 else None


def _left_or_right(name: str) -> Rule:
    def rule(arguments: list[str]) -> str | None:
        """Spark: a length of 0 or less gives '' (Sail counts from the other end)."""
        if len(arguments) != 2:
            return None
        text, length = arguments
        return f"(CASE WHEN ({length}) <= 0 THEN substring({text}, 1, 0) ELSE {name}({text}, {length}) END)"

    return rule


def _substring(arguments: list[str]) -> str | None:
    """Spark: a NULL position gives NULL (Sail: the whole string); a negative length gives '' (Sail: error)."""
    if len(arguments) == 2:
        text, position = arguments
        return f"(CASE WHEN ({position}) IS NULL THEN NULL ELSE substring({text}, {position}) END)"
    if len(arguments) == 3:
        text, position, length = arguments
        return (
            f"(CASE WHEN ({position}) IS NULL OR ({length}) IS NULL THEN NULL "
            f"ELSE substring({text}, {position}, greatest({length}, 0)) END)"
        )
    return None


def _log(arguments: list[str]) -> str | None:
    """Spark: one-argument log is the natural logarithm (Sail: an error); a base or value of 0 or less
    gives NULL (Sail: NaN or -0.0)."""
    if len(arguments) == 1:
        return f"ln({arguments[0]})"
    if len(arguments) == 2:
        base, value = arguments
        return f"(CASE WHEN ({base}) <= 0 OR ({value}) <= 0 THEN NULL ELSE log({base}, {value}) END)"
    return None


RULES: dict[str, Rule] = {
    "extract": _extract,
    "date_part": _date_part,
    "datepart": _date_part,
    "weekday": _weekday,
    "left": _left_or_right("left"),
    "right": _left_or_right("right"),
    "substr": _substring,
    "substring": _substring,
    "log": _log,
}
_CANDIDATE = re.compile(rf"\b(?:{'|'.join(RULES)})\s*\(", re.I)


def rewrite(statement: str) -> str:
    """`statement` with every call a rule covers rewritten to give Spark's answer on Sail."""
    if not _CANDIDATE.search(statement):
        return statement
    try:
        tokens = Spark().tokenize(statement)
    except TokenError:
        return statement
    return _rewrite(statement, tokens)


def _rewrite(text: str, tokens: list[Token]) -> str:
    pieces: list[str] = []
    done = 0  # how much of `text` is in `pieces`
    index = 0
    while index < len(tokens):
        call = _call_at(tokens, index)
        if call is None:
            index += 1
            continue
        closing, arguments = call
        inner = [rewrite(text[start:end].strip()) for start, end in arguments]
        replaced = RULES[tokens[index].text.lower()](inner)
        if replaced is not None:
            pieces += [text[done : tokens[index].start], replaced]
            done = tokens[closing].end + 1
            index = closing + 1
        else:
            index += 1
    return "".join([*pieces, text[done:]])


def _call_at(tokens: list[Token], index: int) -> tuple[int, list[tuple[int, int]]] | None:
    """(index of the closing parenthesis, argument spans) when tokens[index] starts a call a rule covers."""
    token = tokens[index]
    if token.text.lower() not in RULES or index + 1 >= len(tokens):
        return None
    if tokens[index + 1].token_type != TokenType.L_PAREN:
        return None
    if index > 0 and tokens[index - 1].token_type == TokenType.DOT:
        return None  # a qualified name: a function of the user's
    depth, start, spans = 0, tokens[index + 1].end + 1, []
    for position in range(index + 1, len(tokens)):
        kind = tokens[position].token_type
        depth += (kind == TokenType.L_PAREN) - (kind == TokenType.R_PAREN)
        if depth == 1 and kind == TokenType.COMMA:
            spans.append((start, tokens[position].start))
            start = tokens[position].end + 1
        elif depth == 0:
            spans.append((start, tokens[position].start))
            return position, spans
    return None
