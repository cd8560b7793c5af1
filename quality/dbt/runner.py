"""The one module that runs dbt: `dbtRunner` in-process, bound to a target and an (ephemeral) schema base.

`invoke_dbt` is the one call of `dbtRunner` (the doctor's `dbt debug` and the pre-commit hooks' `dbt parse`
go through it too); dbt is imported on its first call, never when this module is.

`DbtInvoker.run(["build"])` returns a typed `DbtRun`; `res.success` and every node's status are the truth
(a failing unit test raises no exception), and `expect_pass=True` turns any failed node into one
`DbtRunError` listing them with target, schema and model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quality.dbt.project import DbtProject, resource_paths
from quality.dbt.relocation import PLACEHOLDER, NotRelocatable, relocate
from quality.dbt.targets import Target, extensions_hint
from quality.engines.kinds import engine_kind
from quality.errors import DbtRunError, UsageError

if TYPE_CHECKING:
    from dbt.cli.main import dbtRunnerResult

MESSAGE_LINES = 8  # lines of a node's message shown (a unit test's diff, a database error)
SKIPPED_DIRS = frozenset({"target", "logs", "dbt_packages"})
_SNIPPET = re.compile(r"\d+\s*\|")  # dbt's quoted source lines: `5  |   tests: [unique`
_YAML_MARK = re.compile(r'in "<[^>]+>", (line \d+, column \d+)')  # PyYAML's position, as dbt passes it on
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colour codes dbt puts in some node messages
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
# dbt's caches in a target folder: its parse state (the project's whole parsed content, fixture CSVs too) and
# its pickled graph. Never kept in a run folder; the parse state lives in .quality/cache/partial_parse instead.
CACHE_FILES = ("partial_parse.msgpack", "graph.gpickle")
PARSE_STATE_DIR = Path(".quality/cache/partial_parse")  # as quality.harness.workspace's: one folder of parse states
ProgressCallback = Callable[[int, int, str, str], None]  # (done, total, unique_id, status)
# Commands that load the project's manifest. `run` hands them one parsed from the shared partial-parse state
# (a fraction of a full parse), unless a flag of the command changes what dbt parses.
MANIFEST_COMMANDS = frozenset(
    {"build", "run", "test", "seed", "snapshot", "compile", "show", "list", "ls", "run-operation"}
)
PARSE_FLAGS = (
    "--vars",
    "--target",
    "-t",
    "--profile",
    "--project-dir",
    "--profiles-dir",
    "--target-path",
    "--no-partial-parse",
)


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    name: str
    resource_type: str
    status: str
    execution_time: float
    rows_affected: int | None
    message: str | None
    failures: int | None
    schema: str | None
    compiled_path: Path | None
    tested_model: str | None = None  # tests and unit tests: the model they check
    column: str | None = None  # column tests: the column they check

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


@dataclass(frozen=True)
class DbtRun:
    """One dbt command's outcome, with the paths of the artifacts it wrote."""

    args: tuple[str, ...]
    success: bool
    nodes: tuple[NodeResult, ...]
    target_path: Path
    elapsed: float

    @property
    def failed(self) -> list[NodeResult]:
        return [node for node in self.nodes if node.failed]

    @property
    def manifest_path(self) -> Path:
        return self.target_path / "manifest.json"

    @property
    def run_results_path(self) -> Path:
        return self.target_path / "run_results.json"

    def manifest(self) -> dict[str, Any]:
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def count(self, resource_type: str, status: str | None = None) -> int:
        return sum(1 for n in self.nodes if n.resource_type == resource_type and (status is None or n.status == status))


@dataclass
class DbtInvoker:
    """Runs dbt commands for one project, target and schema base; artifacts go to `target_path`."""

    project: DbtProject
    target: Target
    target_path: Path
    schema_base: str | None = None
    raw_schema: str | None = None
    extra_vars: dict[str, Any] = field(default_factory=dict)
    threads: int | None = None
    progress: ProgressCallback | None = None
    env: dict[str, str] = field(default_factory=dict)
    quiet: bool = False
    # Called with every manifest `run` parses for a command (a workspace refuses nodes routed outside its base).
    check_manifest: Callable[[dict[str, Any]], None] | None = None
    _manifest: Any = field(default=None, init=False, repr=False)
    _described_target: str | None = field(default=None, init=False, repr=False)  # the real one, while parsing

    def __post_init__(self) -> None:
        # Absolute: dbt reads a relative --target-path from the project folder, this class from the cwd.
        self.target_path = Path(self.target_path).resolve()

    @property
    def vars(self) -> dict[str, Any]:
        values = dict(self.extra_vars)
        if self.schema_base:
            values["quality_schema_base"] = self.schema_base
        if self.raw_schema:
            values["raw_schema"] = self.raw_schema
        return values

    def parse(self) -> dict[str, Any]:
        """Parse once (kept for later commands, so each build skips dbt's parse); returns manifest.json.

        Without a schema base (a prod manifest), dbt's partial-parse state is kept in PARSE_STATE_DIR, keyed
        by project, target and vars; with one (unique per run) the parse is a full one. Either way the target
        folder keeps no cache."""
        exact = None if self.schema_base else self._state_file(PARSE_STATE_DIR, json.dumps(self.vars, sort_keys=True))
        return self._parse_keeping_state(exact)

    def drop_caches(self) -> None:
        """Remove dbt's caches from the target folder (CACHE_FILES): a run folder keeps artifacts, not caches."""
        for name in CACHE_FILES:
            (self.target_path / name).unlink(missing_ok=True)

    def _state_file(self, state_dir: Path, key: str = "") -> Path:
        text = f"{self.project.root.resolve()}\0{self.target.name}" + (f"\0{key}" if key else "")
        return state_dir / f"partial_parse_{hashlib.sha256(text.encode()).hexdigest()[:16]}.msgpack"

    def _parse_keeping_state(self, state: Path | None) -> dict[str, Any]:
        """`_parse` starting from dbt's partial-parse state in `state` (when given and there), which it then
        updates: moved out of the target folder, atomically (xdist workers share it)."""
        local = self.target_path / CACHE_FILES[0]
        if state is not None and state.is_file():
            local.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(state, local)
        try:
            manifest = self._parse()
            if state is not None and local.is_file():
                state.parent.mkdir(parents=True, exist_ok=True)
                temporary = state.with_name(f"{state.name}.{os.getpid()}.tmp")
                shutil.move(local, temporary)
                temporary.replace(state)
        finally:
            self.drop_caches()
        return manifest

    def _parse(self) -> dict[str, Any]:
        with self._environment():
            result = invoke_dbt(self._args(["parse"]))
        _reraise_interrupt(result.exception)
        if not result.success:
            text = dbt_error_text(result.exception, self.project.root).rstrip(".")
            fix = (
                f"Install the project's packages first: `uv run dbt deps --project-dir {self.project.root}` (packages "
                "from the dbt hub or git need network access; a `local:` package does not), then run again"
                if "dbt deps" in text
                else f"Fix what it names, then run again (`dbt parse` in {self.project.root} shows the full message)"
            )
            raise DbtRunError(
                f"dbt could not parse project {self.project.root} for {self._described_target or self.target.describe()}"
                f": {text}. {fix}."
            )
        self._manifest = result.result
        return json.loads((self.target_path / "manifest.json").read_text(encoding="utf-8"))

    def parse_relocatable(self, state_dir: Path) -> dict[str, Any]:
        """`parse` for an ephemeral schema base that reuses dbt's partial parse from earlier bases.

        dbt re-parses the whole project whenever the vars change, and every ephemeral run has a new
        base. So this parses with a fixed placeholder base, keeping dbt's partial-parse state in
        `state_dir` from one run to the next, and then moves the manifest onto the real base
        (`quality.dbt.relocation`). A project that renders the base anywhere relocation does not reach
        gets an exact parse instead: correct first, fast when it can be.
        """
        base = self.schema_base
        if not base:
            return self.parse()
        with self._placeholder_base(base):
            manifest = self._parse_keeping_state(self._state_file(state_dir))
        try:
            relocate(self._manifest, manifest, base)
        except NotRelocatable:
            return self.parse()
        path = self.target_path / "manifest.json"
        text = path.read_text(encoding="utf-8").replace(PLACEHOLDER, base)  # only in fields relocate checked
        path.write_text(text, encoding="utf-8")
        relocated: dict[str, Any] = json.loads(text)
        return relocated

    @contextmanager
    def _placeholder_base(self, base: str) -> Iterator[None]:
        """Parse-time stand-ins: the placeholder for the base in the vars and in a database file's name."""
        saved = (self.schema_base, self.raw_schema, self.target)
        self._described_target = self.target.describe()  # errors name the real file, not the placeholder's
        self.schema_base = PLACEHOLDER
        if self.raw_schema:
            self.raw_schema = self.raw_schema.replace(base, PLACEHOLDER)
        kind = engine_kind(self.target)
        path = kind.database_file(self.target)
        if path is not None and base in path.name:
            self.target = kind.with_database_file(self.target, path.with_name(path.name.replace(base, PLACEHOLDER)))
        try:
            yield
        finally:
            self.schema_base, self.raw_schema, self.target = saved
            self._described_target = None

    def parse_cached(self, cache_dir: Path) -> dict[str, Any]:
        """manifest.json from a cache keyed by the project's files, profiles, target and vars; parse on a miss.

        The gate needs the prod manifest only to know where each node lives in prod; that rarely changes,
        so a warm gate pays one dbt parse (the audit one), not two.
        """
        path = cache_dir / f"manifest_{self.target.name}_{self._cache_key()}.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
        manifest = self.parse()
        cache_dir.mkdir(parents=True, exist_ok=True)
        week_ago = time.time() - 7 * 24 * 3600
        for stale in cache_dir.glob("manifest_*.json"):
            with contextlib.suppress(OSError):  # another worker may prune it at the same time
                if stale.stat().st_mtime < week_ago:
                    stale.unlink()
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(manifest), encoding="utf-8")
        temporary.replace(path)
        return manifest

    def _cache_key(self) -> str:
        digest = hashlib.sha256()
        for file in parsed_files(self.project.root):
            digest.update(str(file.relative_to(self.project.root)).encode() + b"\0" + file.read_bytes() + b"\0")
        if self.project.profiles_path.is_file():
            digest.update(self.project.profiles_path.read_bytes())
        digest.update(
            json.dumps(
                [self.target.name, str(engine_kind(self.target).database_file(self.target)), self.vars], sort_keys=True
            ).encode()
        )
        for key in sorted(os.environ):  # values only hashed, never stored
            if key.startswith(("DBT_", "DATABRICKS_", "QUALITY_")):
                digest.update(f"{key}={os.environ[key]}".encode())
        return digest.hexdigest()[:16]

    def run(self, args: Sequence[str], *, expect_pass: bool = True) -> DbtRun:
        """Run a dbt command (e.g. ["build", "--select", "tag:ci"]) and return its typed result."""
        started = time.perf_counter()
        parsed_here = self._manifest is None and _loads_manifest(args)
        if parsed_here:  # parsed now, so an edit of the project since the last command is seen
            manifest = self.parse_relocatable(PARSE_STATE_DIR)
            if self.check_manifest is not None:
                self.check_manifest(manifest)
        tracker = _ProgressTracker(self.progress)
        try:
            with self._environment():
                result = invoke_dbt(self._args(list(args)), manifest=self._manifest, callbacks=[tracker])
        finally:
            self.drop_caches()  # dbt writes its graph (and, when it parsed, its parse state) next to the artifacts
            if parsed_here:
                self._manifest = None
        _reraise_interrupt(result.exception)
        run = DbtRun(
            args=tuple(args),
            success=bool(result.success),
            nodes=tuple(_node_results(result.result, self.target_path)),
            target_path=self.target_path,
            elapsed=time.perf_counter() - started,
        )
        if result.exception is not None and not run.nodes:
            raise DbtRunError(
                f"dbt {' '.join(args)} failed on {self.target.describe()} (schema base "
                f"{self.schema_base or 'none'}) before running any node: "
                f"{dbt_error_text(result.exception, self.project.root)}"
                f"{extensions_hint(self.project, self.target, str(result.exception))}"
            )
        if expect_pass and not run.success:
            raise DbtRunError(describe_failures(run, self.target, self.schema_base))
        return run

    def build(
        self,
        *,
        seeds_first: Sequence[str] = (),
        after_seeds: Callable[[], None] | None = None,
        expect_pass: bool = True,
        args: Sequence[str] = (),
    ) -> DbtRun:
        """`dbt build` of the project (`args` narrow it, e.g. to resource types); the seeds named in
        `seeds_first` (read through `source()`, so dbt orders nothing after them) are built with their tests
        first, then `after_seeds` runs, and then the rest, as one `DbtRun`."""
        if not seeds_first:
            return self.run(["build", *args], expect_pass=expect_pass)
        first = self.run(["build", *args, "--select", *seeds_first], expect_pass=False)
        if first.success:
            if after_seeds is not None:
                after_seeds()
            earlier = _results_of(first.run_results_path)
            second = self.run(["build", *args, "--exclude", *seeds_first], expect_pass=False)
            _prepend_results(second.run_results_path, earlier)
            first = DbtRun(
                args=("build", *args),
                success=second.success,
                nodes=first.nodes + second.nodes,
                target_path=self.target_path,
                elapsed=first.elapsed + second.elapsed,
            )
        if expect_pass and not first.success:
            raise DbtRunError(describe_failures(first, self.target, self.schema_base))
        return first

    def _args(self, command: list[str]) -> list[str]:
        args = [
            *command,
            "--project-dir",
            str(self.project.root),
            "--profiles-dir",
            str(self._profiles_dir()),
            "--target",
            self.target.name,
            "--target-path",
            str(self.target_path),
            "--log-path",
            str(self.target_path / "logs"),
        ]
        if self.vars:
            args += ["--vars", json.dumps(self.vars)]
        if self.threads:
            args += ["--threads", str(self.threads)]
        if self.quiet:
            args.append("--quiet")
        # No ANSI codes in dbt.log, nor on a console that is not a terminal or asks for none (NO_COLOR).
        args.append("--no-use-colors-file")
        if os.environ.get("NO_COLOR") or not sys.stdout.isatty():
            args.append("--no-use-colors")
        return args

    def _profiles_dir(self) -> Path:
        """For DuckDB, a generated profiles.yml pinning the database file this invoker owns.

        That lets the harness give each run and xdist worker its own file on any project, whatever its
        profile says (a DuckDB output holds no secret). Databricks targets use the project's own profiles.
        The engine kind says which (`EngineKind.pinned_profile_output`).
        """
        output = engine_kind(self.target).pinned_profile_output(self.target)
        if output is None:
            return self.project.profiles_dir
        profiles = {self.project.profile: {"target": self.target.name, "outputs": {self.target.name: output}}}
        directory = self.target_path / "profiles"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "profiles.yml").write_text(json.dumps(profiles, indent=2), encoding="utf-8")
        return directory

    @contextmanager
    def _environment(self) -> Iterator[None]:
        overrides = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1", **self.env}
        saved = {key: os.environ.get(key) for key in overrides}
        os.environ.update(overrides)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def invoke_dbt(
    args: Sequence[str], *, manifest: Any = None, callbacks: list[Callable[[Any], None]] | None = None
) -> dbtRunnerResult:
    """One dbt command in this process: `dbtRunner(manifest, callbacks).invoke(args)`, dbt's own result.

    The only place the harness and its hooks call dbtRunner. `manifest`: a parsed one, so dbt skips its
    parse; `callbacks`: dbt event callbacks. dbt is imported here, on the first call (an ImportError when
    it is not installed); whatever fails inside the command comes back in the result."""
    from dbt.cli.main import dbtRunner

    return dbtRunner(manifest=manifest, callbacks=callbacks).invoke(list(args))


class _ProgressTracker:
    """A dbt event callback counting finished nodes (node x of y)."""

    def __init__(self, progress: ProgressCallback | None) -> None:
        self.progress = progress
        self.total = 0
        self.done = 0

    def __call__(self, event: Any) -> None:
        if self.progress is None:
            return
        data = event.data
        total = getattr(data, "total", 0)
        if total:
            self.total = max(self.total, int(total))
        if event.info.name == "NodeFinished":
            self.done += 1
            info = data.node_info
            self.progress(self.done, max(self.total, self.done), info.unique_id, info.node_status)


def _loads_manifest(args: Sequence[str]) -> bool:
    """Whether dbt would parse the project for `args` exactly as the invoker's own parse does."""
    if not args or args[0] not in MANIFEST_COMMANDS:
        return False
    return not any(arg == flag or arg.startswith(f"{flag}=") for arg in args for flag in PARSE_FLAGS)


def _node_results(result: Any, target_path: Path) -> Iterator[NodeResult]:
    for item in getattr(result, "results", None) or []:
        node = getattr(item, "node", None)
        if node is None:
            continue
        response = getattr(item, "adapter_response", None) or {}
        compiled = getattr(node, "compiled_path", None)
        yield NodeResult(
            unique_id=node.unique_id,
            name=node.name,
            resource_type=str(node.resource_type),
            status=str(item.status),
            execution_time=float(item.execution_time or 0.0),
            rows_affected=response.get("rows_affected") if isinstance(response, dict) else None,
            message=_ANSI.sub("", item.message) if isinstance(item.message, str) else item.message,
            failures=item.failures,
            schema=getattr(node, "schema", None),
            compiled_path=(target_path.parent / compiled) if compiled else None,
            tested_model=_tested_model(node),
            column=getattr(node, "column_name", None),
        )


def _results_of(path: Path) -> list[Any]:
    try:
        results: list[Any] = json.loads(path.read_text(encoding="utf-8")).get("results", [])
    except (OSError, ValueError):
        return []
    return results


def _prepend_results(path: Path, earlier: list[Any]) -> None:
    """run_results.json of a build done in two dbt commands holds both commands' nodes."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    document["results"] = [*earlier, *document.get("results", [])]
    path.write_text(json.dumps(document), encoding="utf-8")


def _reraise_interrupt(error: BaseException | None) -> None:
    """dbtRunner returns Ctrl-C / SIGTERM as a failed result: it is an interrupt, not a failed build."""
    if isinstance(error, KeyboardInterrupt):
        raise error


def _tested_model(node: Any) -> str | None:
    """The model a test checks: a unit test's tested node (never one of its given inputs), else the test's
    attached node, else its one model dependency."""
    attached = (
        getattr(node, "tested_node_unique_id", None)
        or getattr(node, "attached_node", None)
        or getattr(node, "model", None)
    )
    if attached:
        return str(attached).split(".")[-1] if "." in str(attached) else str(attached)
    depends = [n for n in getattr(getattr(node, "depends_on", None), "nodes", []) if n.startswith("model.")]
    return depends[0].split(".")[-1] if len(depends) == 1 else None


def describe_failures(
    run: DbtRun, target: Target, schema_base: str | None, more: Mapping[str, list[str]] | None = None
) -> str:
    """Every failed node: where, its status and message (`more`: further lines per unique id)."""
    lines = [
        f"dbt {' '.join(run.args)} failed on {target.describe()}, schema base {schema_base or '(target default)'}: "
        f"{len(run.failed)} node(s) failed."
    ]
    for node in run.failed:
        detail = _detail(node)
        if node.resource_type in {"test", "unit_test"}:
            on = f"model {node.tested_model}" if node.tested_model else "several models"
            where = f"{node.name} on {on}" + (f", column {node.column}" if node.column else "")
        else:
            where = f"{node.schema}.{node.name}" if node.schema else node.name
        lines.append(f"  - {node.resource_type} {where} [{node.status}]: {detail[0] if detail else 'no message'}")
        lines += [f"      {line}" for line in detail[1:]]
        lines += [f"    {line}" for line in (more or {}).get(node.unique_id, [])]
        if node.compiled_path:
            lines.append(f"    compiled SQL: {node.compiled_path}")
    lines.append("Fix the model or the data, then run again.")
    return "\n".join(lines)


def _detail(node: NodeResult) -> list[str]:
    """A failed node's message as lines: a unit test's differing rows (expected and actual) when its message
    holds dbt's diff (quality.dbt.failure_rows), else the message's first MESSAGE_LINES non-blank lines."""
    if node.resource_type == "unit_test":
        from quality.dbt.failure_rows import explain

        explained = explain(node.message)
        if explained is not None:
            return explained
    return [line for line in (node.message or "").strip().splitlines() if line.strip()][:MESSAGE_LINES]


def dbt_error_text(error: BaseException | None, project_root: Path) -> str:
    """A dbt exception in one paragraph that keeps the file and line dbt names (not only "Parsing Error").

    The quoted source lines and rulers are left out; PyYAML's `in "<unicode string>", line 6, column 13`
    becomes `at line 6, column 13` on the line it explains. A YAML file dbt names relative to its
    resource folder (`schema.yml`) is named by its path in the project.
    """
    if error is None:
        return "no error message"
    parts: list[str] = []
    for raw in str(error).splitlines():
        line = raw.strip()
        if not line or set(line) <= {"-"} or _SNIPPET.match(line) or line == "Raw Error:":
            continue
        mark = _YAML_MARK.fullmatch(line)
        if mark and parts:
            parts[-1] += f" at {mark[1]}"
        else:
            parts.append(line)
    if not parts:
        return type(error).__name__
    located = _project_file(getattr(error, "path", None), project_root)
    if located is not None and str(located) not in " ".join(parts):
        parts[0] += f" in {located}"
    head, *rest = parts[:MESSAGE_LINES]
    return f"{head}: {'; '.join(rest)}" if rest else head


def _project_file(path: object, project_root: Path) -> Path | None:
    """The one project file whose path ends with `path` (dbt names YAML files relative to their folder)."""
    if not isinstance(path, str) or not path:
        return None
    tail = Path(path)
    matches = [
        file
        for file in project_root.rglob(tail.name)
        if file.is_file()
        and file.relative_to(project_root).parts[0] not in SKIPPED_DIRS
        and file.parts[-len(tail.parts) :] == tail.parts
    ]
    return matches[0] if len(matches) == 1 else None


# What dbt reads when it parses a project (besides the profile): its configuration files and these folders.
_PROJECT_FILES = ("dbt_project.yml", "packages.yml", "dependencies.yml", "package-lock.yml", "selectors.yml")
_PATH_KEYS = {
    "model-paths": ["models"],
    "seed-paths": ["seeds"],
    "snapshot-paths": ["snapshots"],
    "macro-paths": ["macros"],
    "test-paths": ["tests"],
    "analysis-paths": ["analyses"],
    "docs-paths": [],
    "function-paths": ["functions"],
}


def parsed_files(root: Path) -> list[Path]:
    """The files a dbt parse of the project reads: its config files, resource folders and installed packages.

    Not the whole folder: a project at the root of a repository would otherwise hash the venv, the
    warehouse file and the run artifacts, which change on every run.
    """
    import yaml

    try:
        config = yaml.safe_load((root / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        config = {}
    folders = {"dbt_packages"}
    for key, default in _PATH_KEYS.items():
        folders.update(resource_paths(config, key, default))
    files = [root / name for name in _PROJECT_FILES if (root / name).is_file()]
    for folder in sorted(folders):
        directory = root / folder
        if directory.is_dir() and directory.resolve().is_relative_to(root.resolve()):
            files += [
                file
                for file in directory.rglob("*")
                if file.is_file() and not any(part.startswith(".") for part in file.relative_to(root).parts)
            ]
    return sorted(set(files))


def parse_dbt_vars(text: str | None, *, option: str) -> dict[str, Any]:
    """dbt's `--vars` value (a YAML or JSON mapping, e.g. `{load_source_data: true}`) as a dict; {} for none."""
    import yaml

    if text is None or not text.strip():
        return {}
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise UsageError(
            f"{option} {text!r} is not YAML ({str(error).splitlines()[0]}); write a mapping, e.g. "
            "'{load_source_data: true}', as for dbt's --vars."
        ) from None
    if not isinstance(value, dict):
        raise UsageError(
            f"{option} {text!r} is not a mapping of var names to values; write e.g. '{{load_source_data: true}}', "
            "as for dbt's --vars."
        )
    reserved = sorted({"quality_schema_base", "raw_schema"} & set(value))
    if reserved:
        raise UsageError(
            f"{option} sets {', '.join(reserved)}, which the harness sets for every ephemeral build; leave "
            f"{'it' if len(reserved) == 1 else 'them'} out."
        )
    return {str(key): item for key, item in value.items()}
