"""Errors of the observability path: unreadable run folders, exporters that cannot be reached."""

from __future__ import annotations

from quality.errors import QualityError


class RunArtifactsError(QualityError):
    """A run folder lacks the files metrics are read from, or one of them is not valid JSON."""


class ExporterConfigError(QualityError):
    """An exporter was asked for without what it needs (a .prom path, an API key, a URL)."""


class ExportError(QualityError):
    """A metrics or alert destination refused or could not be reached."""
