"""The verdict on a pytest run from its junit report and exit code (stdlib only: runs before any install).

`python3 .ci/junit_verdict.py REPORT STATUS` exits 1 when pytest collected no test (STATUS 5), when a test that
runs against the local Databricks endpoint was skipped (the skip reason of `needs_local_endpoint` in
tests/integration/local_databricks.py begins with ENDPOINT_SKIP: such a test runs as any user, so a skip
means the environment hid it), or when STATUS is 0 but no test ran and passed; else it exits STATUS.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as tree
from pathlib import Path

ENDPOINT_SKIP = "the local Databricks endpoint cannot run here"


def verdict(report: Path, status: int) -> int:
    if status == 5:
        print("CI failure: pytest collected no tests", file=sys.stderr)
        return 1
    try:
        root = tree.parse(report).getroot()
    except (OSError, tree.ParseError) as error:
        print(f"CI failure: no readable junit report at {report} ({error})", file=sys.stderr)
        return status or 1
    suites = [root] if root.tag == "testsuite" else list(root)
    skipped = [
        f"{case.get('classname')}::{case.get('name')}: {skip.get('message', '')}"
        for suite in suites
        for case in suite.iter("testcase")
        for skip in case.findall("skipped")
        if ENDPOINT_SKIP in skip.get("message", "")
    ]
    if skipped:
        for line in skipped:
            print(f"  skipped: {line}", file=sys.stderr)
        print(
            f"CI failure: {len(skipped)} tests that run against the local Databricks endpoint were skipped "
            "(listed above)",
            file=sys.stderr,
        )
        return 1
    counts = ("tests", "skipped", "failures", "errors")
    passed = sum(int(s.get(counts[0], 0)) - sum(int(s.get(c, 0)) for c in counts[1:]) for s in suites)
    if status == 0 and passed <= 0:  # every test skipped or deselected also exits 0
        print("CI failure: no test ran and passed (all skipped or deselected)", file=sys.stderr)
        return 1
    if status == 0:
        print(f"CI: {passed} tests passed")
    return status


if __name__ == "__main__":
    raise SystemExit(verdict(Path(sys.argv[1]), int(sys.argv[2])))
