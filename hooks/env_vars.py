"""dbt's `env_var('NAME', default)` call in a profile's value: what the profiles-safety hook and the engine
kinds read (below both, so that the hook can ask the kinds registry and a kind can name the variable)."""

from __future__ import annotations

import re

ENV_VAR_CALL = re.compile(r"""env_var\(\s*(['"])(?P<name>[^'"]+)\1\s*(?:,\s*(?P<default>[^)]*?))?\s*\)""")
