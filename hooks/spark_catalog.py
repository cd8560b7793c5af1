"""The names Databricks SQL knows: built-in functions and data types, read from `hooks/data/*.txt`.

Each data file holds one lower-case name a line; `#` starts a comment. Two files are generated from a
local Apache Spark by `hooks.spark_functions_list` (see its docstring for the command); the others are
kept by hand from the Databricks SQL reference:

- `spark_functions.txt`      generated: Spark's `SHOW SYSTEM FUNCTIONS`
- `spark_types.txt`          generated: the type names Spark's SQL parser accepts
- `databricks_functions.txt` by hand: Databricks-only built-ins (ai_*, h3_*, st_*, read_files, ...)
- `sql_grammar_functions.txt` by hand: forms Spark's grammar parses as calls (cast, extract, timestampadd, ...)
- `databricks_types.txt`     by hand: Databricks-only types (geography, geometry, ...)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quality.emulator.conformance.replay import Unverifiable

DATA_DIR = Path(__file__).resolve().parent / "data"
SPARK_FUNCTIONS = "spark_functions.txt"
SPARK_TYPES = "spark_types.txt"
DATABRICKS_FUNCTIONS = "databricks_functions.txt"
GRAMMAR_FUNCTIONS = "sql_grammar_functions.txt"
DATABRICKS_TYPES = "databricks_types.txt"


@dataclass(frozen=True)
class Catalog:
    """What a Databricks SQL statement may call and cast to, all names lower-case."""

    functions: frozenset[str]
    types: frozenset[str]
    # built-ins the local endpoint (Sail) answers otherwise than Spark for some inputs, with one such case
    # each (quality/emulator/conformance/differences.json): a green local run does not prove their result
    unverifiable: Mapping[str, list[Unverifiable]] = field(default_factory=dict)


def parse_names(text: str) -> list[str]:
    """The names of a data file's text: comments and blank lines dropped, lower-cased, in file order."""
    names = (line.split("#", 1)[0].strip().lower() for line in text.splitlines())
    return [name for name in names if name]


def read_names(name: str, data_dir: Path = DATA_DIR) -> frozenset[str]:
    return frozenset(parse_names((data_dir / name).read_text(encoding="utf-8")))


def render_names(header: Iterable[str], names: Iterable[str]) -> str:
    """A data file: `# ` before each header line, then the sorted unique names."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header)
    return comment + "".join(f"{name}\n" for name in sorted(set(names)))


@cache
def load_catalog(data_dir: Path = DATA_DIR) -> Catalog:
    functions = read_names(SPARK_FUNCTIONS, data_dir) | read_names(DATABRICKS_FUNCTIONS, data_dir)
    types = read_names(SPARK_TYPES, data_dir) | read_names(DATABRICKS_TYPES, data_dir)
    return Catalog(
        functions=functions | read_names(GRAMMAR_FUNCTIONS, data_dir), types=types, unverifiable=unverifiable()
    )


def unverifiable(path: Path | None = None) -> dict[str, list[Unverifiable]]:
    """Function name -> the cases where the local endpoint's answer is not Spark's and a local run is green."""
    from quality.emulator.conformance.replay import load_recorded, not_verifiable_locally

    return not_verifiable_locally(load_recorded(path) if path else load_recorded())
