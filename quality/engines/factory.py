"""Open the engine a target names."""

from __future__ import annotations

from quality.engines.base import Engine
from quality.engines.connectivity import DEFAULT_TIMEOUT_S as DEFAULT_TIMEOUT_S
from quality.engines.connectivity import Say, say_on_stderr
from quality.engines.connectivity import connect_timeout_s as connect_timeout_s
from quality.engines.kinds import find_kind
from quality.engines.target import Target
from quality.errors import TargetError


def open_engine(target: Target, *, read_only: bool = False, say: Say = say_on_stderr) -> Engine:
    """A connection to the target's warehouse, opened by the target's engine kind (`EngineKind.open`): a
    DuckDB file, or Databricks SQL after a bounded preflight.

    On Databricks the REST preflight and the SQL session open share one deadline, QUALITY_CONNECT_TIMEOUT
    (`connect_timeout_s()`), and `say` hears every few seconds that it still waits.
    `read_only=True` gives a `ReadOnlyEngine` on every engine: only reads are ever sent (refused in the
    client otherwise); a DuckDB file is also opened read-only.
    """
    engine = _open(target, read_only=read_only, say=say)
    if not read_only:
        return engine
    from quality.engines.read_only import ReadOnlyEngine

    return ReadOnlyEngine(engine)


def _open(target: Target, *, read_only: bool, say: Say) -> Engine:
    kind = find_kind(target.engine)
    engine = kind.open(target, read_only=read_only, say=say) if kind is not None else None
    if engine is None:
        raise TargetError(f"{target.describe()} has no connection settings the harness understands.")
    return engine
