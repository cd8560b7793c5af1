"""Invariants a dbt project implies, generated from its manifest and compiled SQL (not hand-written).

Kinds: `scd2` (snapshots and SCD2 dimensions), `date_spine` (calendar dimensions), `derived_columns` (a
column computed the same way in two models agrees between them), `measures` (sums and pass-throughs of
an upstream column reconcile with it). `planner` plans them, `execute` runs them through an Engine;
`switches` reads a model's `config.meta.quality.invariants` (switch-offs need a reason).
"""

from quality.invariants.execute import InvariantReport, check_invariants, run_invariants
from quality.invariants.planner import Plan, engine_columns, plan_invariants

__all__ = ["InvariantReport", "Plan", "check_invariants", "engine_columns", "plan_invariants", "run_invariants"]
