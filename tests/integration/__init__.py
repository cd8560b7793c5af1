"""Integration tests. The asserts of their shared setup (a published prod, the mini project's gate) are
rewritten as a test module's are, so that a failing one shows its values."""

import pytest

pytest.register_assert_rewrite("tests.integration.real_project", "tests.integration.mini_project")
