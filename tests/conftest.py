"""Test-wide settings: pytester for plugin tests; dbt never phones home."""

import os

# Imported here, before any in-process `pytester.runpytest()`: a module first imported inside such a run is
# dropped from sys.modules when it ends, and importing PyYAML again then pairs new Python classes with the
# C extension's old ones (libyaml's parser builds the old ScalarNode, the new resolver does not know it:
# "could not determine a constructor for the tag None" in every later YAML load of the process).
import yaml  # noqa: F401

pytest_plugins = ["pytester"]

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
