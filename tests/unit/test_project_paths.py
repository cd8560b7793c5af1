"""The folders of a dbt project as dbt resolves them, pre-1.0 key names (`source-paths`, `data-paths`) included."""

from __future__ import annotations

from pathlib import Path

import pytest

from hooks.dbt_layout import load_project as load_hook_project
from quality.dbt.project import resource_paths
from quality.dbt.runner import parsed_files

OLD_STYLE = """name: shop
version: '0.1'
profile: shop
source-paths: ["src"]
data-paths: ["data"]
"""


@pytest.mark.parametrize(
    ("config", "key", "expected"),
    [
        ({"model-paths": ["models"], "source-paths": ["src"]}, "model-paths", ["models"]),  # the new key wins
        ({"source-paths": ["src"]}, "model-paths", ["src"]),
        ({"data-paths": ["data"]}, "seed-paths", ["data"]),
        ({"seed-paths": [], "data-paths": ["data"]}, "seed-paths", []),  # as written, as dbt reads it
        ({}, "seed-paths", ["seeds"]),
        ({"test-paths": "tests"}, "test-paths", ["tests"]),  # not a list: dbt's default
        (None, "model-paths", ["models"]),
    ],
)
def test_resource_paths_read_the_deprecated_keys_as_dbt_does(config: object, key: str, expected: list[str]) -> None:
    default = {"model-paths": ["models"], "seed-paths": ["seeds"], "test-paths": ["tests"]}[key]
    assert resource_paths(config, key, default) == expected


def test_the_parse_cache_key_covers_models_and_seeds_under_their_old_folder_keys(tmp_path: Path) -> None:
    """The gate caches the prod manifest by the files dbt parses: a seed in `data/` or a model in `src/` is one."""
    (tmp_path / "dbt_project.yml").write_text(OLD_STYLE, encoding="utf-8")
    for name in ("src/orders.sql", "data/raw_orders.csv", "data/schema.yml", "models/stray.sql"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n", encoding="utf-8")

    files = {path.relative_to(tmp_path).as_posix() for path in parsed_files(tmp_path)}

    assert {"src/orders.sql", "data/raw_orders.csv", "data/schema.yml"} <= files
    assert "models/stray.sql" not in files  # `source-paths` replaces the default, as in dbt


def test_hooks_read_the_old_folder_keys_as_the_new_ones(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text(OLD_STYLE, encoding="utf-8")
    project = load_hook_project(tmp_path)
    assert project.model_paths == ("src",)
    assert project.config["seed-paths"] == ["data"]
