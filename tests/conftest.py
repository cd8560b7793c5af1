"""Test-wide settings: pytester for plugin tests; dbt never phones home."""

import os

pytest_plugins = ["pytester"]

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
