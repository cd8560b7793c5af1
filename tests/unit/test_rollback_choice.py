"""Which run a plain `quality rollback` undoes: exactly the newest publish record's, never an older one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quality.errors import QualityError
from quality.wap.rollback import last_published_run

OLD, NEW, LATER = "20261130t100000_aaaaaa", "20261130t110000_bbbbbb", "20261130t120000_cccccc"


def _run(root: Path, run_id: str, **files: dict[str, object]) -> Path:
    folder = root / run_id
    folder.mkdir(parents=True)
    for name, payload in files.items():
        (folder / f"{name}.json").write_text(json.dumps(payload), encoding="utf-8")
    return folder


def _published(root: Path, run_id: str, target: str = "local") -> Path:
    return _run(root, run_id, publish={"run_id": run_id, "target": target, "steps": []})


def test_the_newest_publish_record_of_the_target_is_chosen(tmp_path: Path) -> None:
    _published(tmp_path, OLD)
    newest = _published(tmp_path, NEW)
    _published(tmp_path, LATER, target="prod")
    _run(tmp_path, "20261130t130000_dddddd", report={"target": "local", "status": "failed", "published": []})

    assert last_published_run("local", tmp_path) == newest


def test_a_rolled_back_newest_publish_refuses_and_names_the_run_and_the_older_one(tmp_path: Path) -> None:
    _published(tmp_path, OLD)
    (_published(tmp_path, NEW) / "rollback.json").write_text(json.dumps({"at": "2026-11-30T11:30:00"}), "utf-8")

    with pytest.raises(QualityError) as refused:
        last_published_run("local", tmp_path)

    assert str(refused.value).startswith(f"the last publish, run {NEW}, was already rolled back at 2026-11-30T11:30:00")
    assert f"pass --run-id <older run> (the next older publish is {OLD})" in str(refused.value)


def test_a_newer_run_that_published_without_a_record_refuses(tmp_path: Path) -> None:
    _published(tmp_path, OLD)
    _run(tmp_path, NEW, report={"target": "local", "status": "published", "published": [{"kind": "table"}]})

    with pytest.raises(QualityError, match=rf"^run\(s\) {NEW} newer than the last publish record \({OLD}\)"):
        last_published_run("local", tmp_path)
