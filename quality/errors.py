"""The harness's own errors: each carries one readable paragraph naming the problem and the fix."""

from __future__ import annotations


class QualityError(Exception):
    """An error the harness explains to its user; the CLI prints it and exits 1 (no traceback)."""


class TargetError(QualityError):
    """A target cannot be resolved or reached: missing env var, unreachable host, refused token."""


class SchemaGuardError(QualityError):
    """A schema name that could touch production was offered where an ephemeral one is required."""


class EngineBusyError(QualityError):
    """The embedded database file is held by another process."""


class FixtureError(QualityError):
    """A raw fixture file is malformed; the message names file and line."""


class DbtRunError(QualityError):
    """A dbt command failed; the message lists the failed nodes with target and schema."""


class ExpectationConfigError(QualityError):
    """A Great Expectations suite declared in a model's YAML is invalid (unknown column or expectation)."""


class HarnessError(QualityError):
    """The harness itself failed (e.g. a GX metric raised), as opposed to the data failing a check."""


class GateFailed(QualityError):
    """The write-audit-publish gate refused to publish: tests or expectations failed; prod untouched."""


class PublishError(QualityError):
    """Publishing to prod failed part-way; the message says what was undone (or what is left to undo)."""


class UsageError(QualityError):
    """The command was called wrongly (a missing argument, a value out of range): exit 2, as usage errors do."""
