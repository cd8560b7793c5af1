"""Our pre-commit hooks: one module per hook with `main(argv) -> int`, listed in .pre-commit-hooks.yaml.

Nothing here imports dbt or Great Expectations at import time (hooks.manifest imports dbt only when a
parse is really needed). See docs/pre-commit.md.
"""
