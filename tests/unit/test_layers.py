"""The folders of `quality/` import one way, by flow stage: a folder imports only the layers below its own.

    cli.py                         the `quality` command (loads `commands/` by name)
    commands/                      one module per CLI command
    deploy/                        the Databricks Jobs deployer (`quality deploy`)
    wap/  fidelity/                write-audit-publish (gate, rollback, smoke, diff, review); cross-engine fidelity
    harness/  onboarding/          the pytest side (plugin, workspaces, shared build); `quality init`, doctor
    dbt/  expectations/  invariants/   the dbt side; GX suites; invariants implied by the project
    engines/  emulator/  observability/   DuckDB and Databricks; the local endpoint; run records, artifacts
    errors.py  interrupts.py  python_support.py   the base every layer may use

`docs/architecture.md` draws the same table. The edges come from `test_import_graph.import_graph`, so a
deferred (function-level) import or a `TYPE_CHECKING` one counts like any other.
"""

from __future__ import annotations

import pytest

from tests.unit.test_import_graph import import_graph, modules

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "interrupts", "python_support", ""),
    ("engines", "emulator", "observability"),
    ("dbt", "expectations", "invariants"),
    ("harness", "onboarding"),
    ("wap", "fidelity"),
    ("deploy",),
    ("commands",),
    ("cli",),
)
"""Bottom first. `""` is the package's own `__init__`. A folder may import its own layer's modules only
within itself: two folders of one layer are independent of each other."""

DEFERRED_UPWARD: dict[tuple[str, str], str] = {
    ("deploy", "cli"): "a deployed job's entry point runs the `quality` command it was deployed with",
}
"""The one import that runs up, on purpose, with its reason."""


def layer_of(module: str) -> tuple[int, str]:
    """(layer index, top folder or module under `quality`) of a module of the package."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    for index, members in enumerate(LAYERS):
        if top in members:
            return index, top
    raise AssertionError(f"{module}: `quality/{top}` is in no layer of LAYERS; add it where it belongs")


def test_every_folder_of_the_package_has_a_layer() -> None:
    for module in modules():
        if module.startswith("quality"):
            layer_of(module)


def test_folders_import_only_layers_below_their_own() -> None:
    upward: list[str] = []
    for module, targets in import_graph().items():
        if not module.startswith("quality"):
            continue
        layer, top = layer_of(module)
        for target in targets:
            if not target.startswith("quality"):
                continue
            target_layer, target_top = layer_of(target)
            if target_top == top or target_layer < layer or (top, target_top) in DEFERRED_UPWARD:
                continue
            upward.append(f"{module} -> {target}")
    assert not upward, "imports that run sideways or up a layer:\n" + "\n".join(sorted(upward))


@pytest.mark.parametrize("edge", sorted(DEFERRED_UPWARD))
def test_each_allowed_upward_import_still_exists(edge: tuple[str, str]) -> None:
    source, target = edge
    graph = import_graph()
    assert any(
        module.startswith(f"quality.{source}") and any(t.startswith(f"quality.{target}") for t in targets)
        for module, targets in graph.items()
    ), f"quality.{source} no longer imports quality.{target}: drop it from DEFERRED_UPWARD"


def _reach(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module `start` imports, directly or through others."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_quality_uses_only_hook_modules_that_import_nothing_of_quality() -> None:
    """`hooks/` sits above `quality/` (a hook may run dbt through `quality/dbt/runner.py`); `quality/` may still
    use a hook's plain library module (SQL tokens, the Spark use finder, profiles.yml patterns), as long as
    nothing that module reaches imports `quality/` back."""
    graph = import_graph()
    upward = [
        f"{module} -> {hook} -> {sorted(m for m in _reach(graph, hook) if m.startswith('quality'))}"
        for module, targets in graph.items()
        if module.startswith("quality")
        for hook in targets
        if hook.startswith("hooks") and any(m.startswith("quality") for m in _reach(graph, hook))
    ]
    assert not upward, "quality/ imports hook modules that import quality/ back:\n" + "\n".join(sorted(upward))
