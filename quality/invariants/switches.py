"""Per-model settings of the invariants: `config: meta: quality: invariants:` in the model's YAML.

    config:
      meta:
        quality:
          invariants:
            off: [scd2_no_identical_versions]     # invariant names, or a family: scd2, date_spine, ...
                                                  # (YAML 1.1 reads `off:` as false: accepted as `off`)
            reason: the source re-sends unchanged rows with a new updated_at
            tolerance: 0.01                       # measures_reconcile: absolute difference allowed per total

A switch-off without a reason, or naming an invariant that does not exist, is an error of the project.
"""

from __future__ import annotations

from typing import Any

from quality.errors import QualityError
from quality.invariants.model import FAMILIES, INVARIANTS

KNOWN_SETTINGS = frozenset({"off", "reason", "tolerance", "scd2"})


class InvariantConfigError(QualityError):
    """The invariants' settings of a model are wrong (e.g. switched off without a reason)."""


def settings_of(node: dict[str, Any]) -> dict[str, Any]:
    """config.meta.quality.invariants (or meta.quality.invariants) of a manifest node, checked."""
    for meta in (node.get("config", {}).get("meta") or {}, node.get("meta") or {}):
        quality = meta.get("quality") if isinstance(meta, dict) else None
        if isinstance(quality, dict) and "invariants" in quality:
            settings = _off_as_written(quality["invariants"])
            check_settings(node.get("name", "?"), settings)
            return dict(settings)
    return {}


def _off_as_written(settings: Any) -> Any:
    """YAML 1.1 (dbt's loader) reads an unquoted `off:` key as the boolean false, which the manifest's JSON
    writes as "false": both mean `off`."""
    if not isinstance(settings, dict):
        return settings
    return {("off" if key in (False, "false") else key): value for key, value in settings.items()}


def check_settings(model: str, settings: Any) -> None:
    where = f"model {model}: config.meta.quality.invariants"
    if not isinstance(settings, dict):
        raise InvariantConfigError(f"{where} must be a mapping (off, reason, tolerance, scd2), not {settings!r}.")
    unknown = sorted(set(settings) - KNOWN_SETTINGS)
    if unknown:
        raise InvariantConfigError(f"{where} has unknown key(s) {', '.join(unknown)}; known: {sorted(KNOWN_SETTINGS)}.")
    off = switched_off(settings)
    bad = sorted(name for name in off if name not in INVARIANTS)
    if bad:
        known = ", ".join([*sorted(FAMILIES), *sorted(INVARIANTS)])
        raise InvariantConfigError(f"{where}.off names unknown invariant(s) {', '.join(bad)}; known: {known}.")
    if off and not str(settings.get("reason") or "").strip():
        raise InvariantConfigError(
            f"{where}.off switches off {', '.join(sorted(off))} without a reason: add `reason: <why this model "
            "may break it>` next to `off`, so that reviewers see why the check does not run."
        )
    tolerance = settings.get("tolerance", 0)
    if not isinstance(tolerance, int | float) or isinstance(tolerance, bool) or tolerance < 0:
        raise InvariantConfigError(f"{where}.tolerance must be a number >= 0, not {tolerance!r}.")


def switched_off(settings: dict[str, Any]) -> set[str]:
    """The invariant names switched off (families expanded)."""
    off = settings.get("off") or []
    names = [off] if isinstance(off, str) else [str(name) for name in off]
    expanded: set[str] = set()
    for name in names:
        expanded.update(FAMILIES.get(name, (name,)))
    return expanded
