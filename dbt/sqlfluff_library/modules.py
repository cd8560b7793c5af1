"""dbt's `modules` context object (lint only)."""

import datetime

__all__ = ["datetime"]
