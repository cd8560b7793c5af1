"""Errors of the deploy path: each one paragraph naming what went wrong on Databricks and how to fix it."""

from __future__ import annotations

from quality.errors import QualityError, TargetError


class DeployConfigError(TargetError):
    """Something the deploy needs is missing before any job is touched: an env var, a secret, a git ref."""


class DeployAuthError(TargetError):
    """The workspace refused the credentials (HTTP 401/403)."""


class DeployError(QualityError):
    """The Jobs API answered with an error the user has to act on."""


class JobOwnershipError(DeployError):
    """A job with the deploy's name exists but is not ours to reset (no managed-by tag, or several of them)."""


class DeployLockedError(DeployError):
    """Another run of the deploy job is active: one deploy at a time."""


class JobRunFailed(DeployError):
    """The deploy run ended in a state other than SUCCESS."""


class JobRunTimedOut(DeployError):
    """The deploy run did not finish within the time the caller allowed."""
