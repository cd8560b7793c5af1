"""What "changed since prod" means for slim CI and `quality diff`: dbt state selectors, one list for both.

Not `state:modified.relation`: the harness points sources at `<base>_raw` through a var, which dbt reports
as a relation change of every source (measured: 6 of 6 sources, and so every model); a model's own schema
or alias change still shows up as a configs change.
"""

from __future__ import annotations

CHANGED = (
    "state:new",
    "state:modified.body",
    "state:modified.configs",
    "state:modified.persisted_descriptions",
    "state:modified.macros",
    "state:modified.contract",
)


def changed_and_children() -> list[str]:
    """Selector arguments: every changed node and everything downstream of it."""
    return [f"{method}+" for method in CHANGED]
