"""Fixtures for the hook tests: temporary git repositories holding a small dbt project, and a real,
offline `pre-commit` (dbt-checkpoint from the local mirror through git URL rewriting, one warm
PRE_COMMIT_HOME shared by the session)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hooks.project_files import write_project

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT_URL = "https://github.com/dbt-checkpoint/dbt-checkpoint"
MIRROR = (PROJECT_ROOT / ".." / "shared" / "mirrors" / "dbt-checkpoint.git").resolve()
# Persistent, git-ignored caches: repeated sessions reuse the hook environments and compiled bytecode.
CACHE_DIR = PROJECT_ROOT / ".quality" / "pre-commit-cache"
GATE_FILES = (
    ".pre-commit-config.yaml",
    ".sqlfluff",
    ".sqlfluffignore",
    ".dbt-checkpoint.yaml",
    ".secrets.baseline",
    ".gitignore",
    "pyproject.toml",
)
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Hook Tests",
    "GIT_AUTHOR_EMAIL": "hooks@example.invalid",
    "GIT_COMMITTER_NAME": "Hook Tests",
    "GIT_COMMITTER_EMAIL": "hooks@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    result = subprocess.run(
        ["git", *args], cwd=repo, env=dict(env) if env else None, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def copy_repository(destination: Path) -> None:
    """Every file git would see in this repository (tracked or not ignored), so the copy is what a commit would hold."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = PROJECT_ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def init_repo(repo: Path, env: Mapping[str, str] | None = None) -> Path:
    git(repo, "init", "--quiet", "--initial-branch", "main", env=env)
    return repo


def commit_all(repo: Path, message: str = "chore: snapshot", env: Mapping[str, str] | None = None) -> None:
    git(repo, "add", "--all", env=env)
    git(repo, "commit", "--quiet", "--no-verify", "--allow-empty", "-m", message, env=env)


@pytest.fixture
def git_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Git identity from the environment and a throw-away HOME, so no test reads or writes the real one."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name, value in GIT_IDENTITY.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def repo(tmp_path: Path, git_env: None, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with the small dbt project under `dbt/`, committed; the working directory."""
    write_project(tmp_path / "dbt")
    init_repo(tmp_path)
    commit_all(tmp_path, "feat: initial project")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@dataclass(frozen=True)
class PreCommit:
    """Runs the real `pre-commit` of the project venv, offline, with the session's warm PRE_COMMIT_HOME."""

    env: Mapping[str, str]

    def run(self, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", *args],
            cwd=repo,
            env=dict(self.env),
            capture_output=True,
            text=True,
            check=False,
        )

    def git(self, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=repo, env=dict(self.env), capture_output=True, text=True, check=False)


def offline_env(pre_commit_home: Path, home: Path) -> dict[str, str]:
    """The environment for an offline pre-commit: mirror by URL rewrite, private home, project venv first."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GIT_", "PRE_COMMIT"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(GIT_IDENTITY)
    env.update(
        {
            "HOME": str(home),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PRE_COMMIT_HOME": str(pre_commit_home),
            "PYTHONPYCACHEPREFIX": str(CACHE_DIR / "pycache"),
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.{MIRROR}.insteadOf",
            "GIT_CONFIG_VALUE_0": CHECKPOINT_URL,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
            "NO_COLOR": "1",
        }
    )
    return env


@pytest.fixture(scope="session")
def pre_commit(tmp_path_factory: pytest.TempPathFactory) -> PreCommit:
    if not MIRROR.is_dir():
        pytest.fail(f"the dbt-checkpoint mirror is missing at {MIRROR}: see docs/pre-commit.md, 'Offline'")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    return PreCommit(offline_env(CACHE_DIR / "home", tmp_path_factory.mktemp("pre-commit-user-home")))


def copy_gate(destination: Path) -> None:
    """The project's pre-commit configuration and hook code, as a repository using it would hold them."""
    for name in GATE_FILES:
        if (PROJECT_ROOT / name).is_file():
            shutil.copy2(PROJECT_ROOT / name, destination / name)
    shutil.copytree(PROJECT_ROOT / "hooks", destination / "hooks", ignore=shutil.ignore_patterns("__pycache__"))


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory, pre_commit: PreCommit) -> Path:
    """A committed repository with the gate and the small dbt project that passes every hook; built once,
    warmed once (hook environments installed, manifest parsed), then copied for each test."""
    repo = tmp_path_factory.mktemp("template")
    copy_gate(repo)
    write_project(repo / "dbt")
    init_repo(repo, pre_commit.env)
    commit_all(repo, "feat: initial project", pre_commit.env)
    result = pre_commit.run(repo, "run", "--all-files")
    assert result.returncode == 0, f"the clean test project must pass the whole gate:\n{result.stdout}{result.stderr}"
    return repo


@pytest.fixture
def gate_repo(template_repo: Path, tmp_path: Path) -> Path:
    """A fresh copy of the warm template repository for one test."""
    repo = tmp_path / "repo"
    shutil.copytree(template_repo, repo, symlinks=True)
    return repo


def write(repo: Path, relative: str, text: str) -> Path:
    path = repo / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def output_of(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def run_hook(
    pre_commit: PreCommit, repo: Path, hook: str, files: Sequence[str], *extra: str
) -> subprocess.CompletedProcess[str]:
    """`pre-commit run <hook> --files ...` after staging everything (pre-commit reads the index)."""
    pre_commit.git(repo, "add", "--all")
    return pre_commit.run(repo, "run", hook, *extra, "--files", *files)
