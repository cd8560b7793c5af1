"""Run folders are pruned to the newest QUALITY_KEEP_RUNS runs, so artifacts/ stops growing without bound;
a run that published keeps its records, because `quality rollback` and prod_smoke read them."""

from __future__ import annotations

from pathlib import Path

import pytest

from quality.errors import UsageError
from quality.observability.artifacts import (
    DEFAULT_KEEP_RUNS,
    SHARED_DIR,
    keep_runs_setting,
    keep_size_setting,
    list_runs,
    prune_runs,
    share_identical,
)


def _folders(root: Path, *names: str) -> None:
    for name in names:
        (root / name / "target").mkdir(parents=True)
        (root / name / "target" / "manifest.json").write_text("{}", encoding="utf-8")


def _left(root: Path) -> list[str]:
    return sorted(path.name for path in root.iterdir())


def test_only_the_newest_runs_are_kept_counting_the_workers_of_one_run_once(tmp_path: Path) -> None:
    _folders(
        tmp_path,
        "dev_20261101t100000_aaaaaa",
        "ci_20261102t100000_bbbbbb_gw0",
        "ci_20261102t100000_bbbbbb_gw1",
        "dev_20261103t100000_cccccc",
        "prod_manifest_local",  # not a run: never touched
    )
    removed = prune_runs(tmp_path, 1, current="dddddd")  # this run made no folder: all places are the others'
    assert sorted(path.name for path in removed) == [
        "ci_20261102t100000_bbbbbb_gw0",
        "ci_20261102t100000_bbbbbb_gw1",
        "dev_20261101t100000_aaaaaa",
    ]
    assert _left(tmp_path) == ["dev_20261103t100000_cccccc", "prod_manifest_local"]


def test_the_current_run_takes_one_of_the_places_and_is_never_removed(tmp_path: Path) -> None:
    _folders(tmp_path, "20261101t100000_aaaaaa", "20261102t100000_bbbbbb", "20261103t100000_cccccc")
    prune_runs(tmp_path, 2, current="aaaaaa")
    assert _left(tmp_path) == ["20261101t100000_aaaaaa", "20261103t100000_cccccc"]
    prune_runs(tmp_path, 0, current="aaaaaa")
    assert _left(tmp_path) == ["20261101t100000_aaaaaa"]


def test_a_pruned_run_that_published_keeps_only_its_records(tmp_path: Path) -> None:
    _folders(tmp_path, "20261101t100000_aaaaaa", "20261102t100000_bbbbbb")
    published = tmp_path / "20261101t100000_aaaaaa"
    for name in ("publish.json", "report.json", "run_results.json"):
        (published / name).write_text("{}", encoding="utf-8")
    (published / "data_docs").mkdir()
    prune_runs(tmp_path, 1, current="bbbbbb")
    assert _left(published) == ["publish.json", "report.json"]


def _sized(root: Path, name: str, size: int, *, published: bool = False) -> None:
    (root / name / "target").mkdir(parents=True)
    (root / name / "target" / "manifest.json").write_bytes(b"x" * size)
    if published:
        (root / name / "publish.json").write_bytes(b"{}")


def test_beyond_the_size_limit_the_oldest_runs_go_first_and_the_current_one_stays(tmp_path: Path) -> None:
    for day, run in enumerate(("aaaaaa", "bbbbbb", "cccccc", "dddddd"), start=1):
        _sized(tmp_path, f"2026110{day}t100000_{run}", 1000)
    _sized(tmp_path, "prod_manifest_local", 5000)  # not a run: neither counted nor removed
    removed = prune_runs(tmp_path, 20, current="aaaaaa", max_bytes=2500)  # the count alone keeps all four
    assert sorted(path.name for path in removed) == ["20261102t100000_bbbbbb", "20261103t100000_cccccc"]
    assert _left(tmp_path) == ["20261101t100000_aaaaaa", "20261104t100000_dddddd", "prod_manifest_local"]
    prune_runs(tmp_path, 20, current="aaaaaa", max_bytes=0)
    assert _left(tmp_path) == ["20261101t100000_aaaaaa", "prod_manifest_local"]


def test_a_size_limit_counts_what_a_published_run_keeps(tmp_path: Path) -> None:
    _sized(tmp_path, "20261101t100000_aaaaaa", 3000, published=True)
    _sized(tmp_path, "20261102t100000_bbbbbb", 1000)
    _sized(tmp_path, "20261103t100000_cccccc", 1000)
    prune_runs(tmp_path, 20, current="cccccc", max_bytes=2100)
    assert _left(tmp_path) == ["20261101t100000_aaaaaa", "20261102t100000_bbbbbb", "20261103t100000_cccccc"]
    assert _left(tmp_path / "20261101t100000_aaaaaa") == ["publish.json"]  # 3002 bytes -> 2, so bbbbbb fits


def test_keep_size_comes_from_the_value_then_the_environment_then_500mb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QUALITY_KEEP_SIZE", raising=False)
    assert keep_size_setting() == 500_000_000
    monkeypatch.setenv("QUALITY_KEEP_SIZE", "2GB")
    assert keep_size_setting() == 2_000_000_000
    assert keep_size_setting("1.5 mb") == 1_500_000
    assert keep_size_setting("0") == 0


def test_a_keep_size_that_is_no_size_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUALITY_KEEP_SIZE", "big")
    with pytest.raises(UsageError, match=r"QUALITY_KEEP_SIZE='big': give the most disk space run folders may take"):
        keep_size_setting()


def test_a_missing_root_prunes_nothing(tmp_path: Path) -> None:
    assert prune_runs(tmp_path / "nope", 1, current="aaaaaa") == []


def test_keep_runs_comes_from_the_value_then_the_environment_then_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("QUALITY_KEEP_RUNS", raising=False)
    assert keep_runs_setting() == DEFAULT_KEEP_RUNS == 20
    monkeypatch.setenv("QUALITY_KEEP_RUNS", "5")
    assert keep_runs_setting() == 5
    assert keep_runs_setting("0") == 0


def test_a_keep_runs_that_is_no_count_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUALITY_KEEP_RUNS", "-1")
    with pytest.raises(UsageError) as error:
        keep_runs_setting()
    assert str(error.value) == (
        "QUALITY_KEEP_RUNS='-1': give the number of run folders to keep, e.g. 20 (0 keeps only the current run)."
    )


def test_a_pytest_session_prunes_its_artifacts_dir_at_the_end(pytester: pytest.Pytester) -> None:
    root = pytester.path / "artifacts" / "pytest"
    _folders(root, "dev_20261101t100000_aaaaaa", "dev_20261102t100000_bbbbbb", "dev_20261103t100000_cccccc")
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--keep-runs", "2")
    result.assert_outcomes(passed=1)
    assert _left(root) == ["dev_20261102t100000_bbbbbb", "dev_20261103t100000_cccccc"]


def test_a_pytest_session_prunes_its_artifacts_dir_by_size_too(pytester: pytest.Pytester) -> None:
    root = pytester.path / "artifacts" / "pytest"
    for day in (1, 2, 3):
        _sized(root, f"dev_2026110{day}t100000_aaaaa{day}", 1000)
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--keep-size", "1.5KB")
    result.assert_outcomes(passed=1)
    assert _left(root) == ["dev_20261103t100000_aaaaa3"]


def test_a_bad_keep_runs_is_a_pytest_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--keep-runs", "many")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*QUALITY_KEEP_RUNS='many': give the number of run folders to keep*"])


def test_a_bad_keep_size_is_a_pytest_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--keep-size", "lots")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*QUALITY_KEEP_SIZE='lots': give the most disk space*"])


def _static(root: Path, run: str, image: bytes) -> Path:
    folder = root / run / "data_docs" / "static"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "scroller.gif").write_bytes(image)
    (folder / "styles.css").write_text(f"/* {run} */", encoding="utf-8")  # differs per run: never shared
    return folder


def test_files_identical_across_runs_are_stored_once_and_pruned_with_the_last_run_linking_them(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    image = bytes(range(256)) * 64
    first = _static(runs, "20261206t100000_aaaaaa", image)
    second = _static(runs, "20261206t110000_bbbbbb", image)

    assert share_identical(first, runs) == 0, "the first run's file becomes the shared copy"
    assert share_identical(second, runs) == len(image)
    assert (first / "images" / "scroller.gif").samefile(second / "images" / "scroller.gif")
    assert (second / "images" / "scroller.gif").read_bytes() == image
    assert not (first / "styles.css").samefile(second / "styles.css")
    assert [path.name for path in list_runs(runs)] == ["20261206t100000_aaaaaa", "20261206t110000_bbbbbb"]
    assert sorted(path.name for path in runs.iterdir()) == ["20261206t100000_aaaaaa", "20261206t110000_bbbbbb"]

    prune_runs(runs, 1, current="bbbbbb")
    stored = [path for path in (tmp_path / SHARED_DIR).rglob("*") if path.is_file()]
    assert len(stored) == 2, "the image and the kept run's own styles"
    assert all(path.stat().st_nlink == 2 for path in stored), "the kept run still links them"
    prune_runs(runs, 0, current="cccccc")
    assert not [path for path in (tmp_path / SHARED_DIR).rglob("*") if path.is_file()], "no run links them any more"
