"""An engine kind: what one engine is and can do, known from a target before any connection is open.

`Engine` (base.py) is a connection; `EngineKind` is the engine itself, chosen by a profile output's `type`
(`quality.engines.kinds.engine_kind(target)`). Whatever differs between engines outside SQL sent through a
connection is a class-level capability or a method here: how a profile output becomes a `Target`, where an
ephemeral workspace's data live, whether a warehouse is a local database file (reopened read-only, reaped,
replaced by a generator's own file), which GX data source validates it, which GX expectations it cannot run
and how they are emulated, what dbt keeps open in-process after a build, how its SQL quotes a name and which
sqlglot dialect parses it, which macro implementations dbt dispatches to on it, whether it is the embedded
engine or the one prod runs on, and which profile `type`s name its workspace host. The harness asks the kind and
never compares engine names; a new engine is a subclass in `quality/engines/` registered with
`quality.engines.kinds.register_kind`.

The defaults describe a remote warehouse: no database file, every workspace in the target's own catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from quality.engines.connectivity import Say
from quality.engines.target import Target
from quality.errors import HarnessError

if TYPE_CHECKING:
    from quality.engines.base import Engine

# Per-workspace database files of file-backed engines (one writer per file): `<EPHEMERAL_DIR>/<base>.<ext>`.
EPHEMERAL_DIR = Path(".quality/ephemeral")
FidelityRole = Literal["reference", "candidate"]


class EngineKind:
    """One engine's capabilities (class attributes) and its engine-specific steps (methods)."""

    name: ClassVar[str]  # the profile output's `type` (the dbt adapter); also Target.engine and Engine.name
    # The scheme of Engine.sqlalchemy_url() and the name of the SQLAlchemy dialect GX reports for it.
    sqlalchemy_dialect: ClassVar[str]
    url_example: ClassVar[str]  # how such a URL is written, for messages (e.g. `duckdb:///<path>`)
    # The warehouse is one local database file named in the profile: each ephemeral workspace gets a file
    # of its own (`workspace_target`), a generator may write to a file of its own, and leftovers are reaped.
    file_backed: ClassVar[bool] = False
    # `quality gate` loads pytest's raw fixture folder by default (a local warehouse, not a shared one).
    gate_loads_raw_folder: ClassVar[bool] = False
    # Sources written with a literal schema get stand-ins in a workspace that owns its database file.
    stands_in_literal_sources: ClassVar[bool] = False
    # `quality doctor` opens an existing warehouse read-only, so that it never writes or holds a writer lock.
    inspects_read_only: ClassVar[bool] = False
    # `quality fidelity`: the engine the results are compared from (reference) or checked on (candidate).
    fidelity_role: ClassVar[FidelityRole | None] = None
    # `quality compile` renders this engine's SQL with no connection (quality/dbt/offline_compile.py).
    compiles_offline: ClassVar[bool] = False
    # GX expectations GX cannot evaluate on this dialect: run as an equivalent `unexpected_rows` query
    # (quality/expectations/pushdown.py), with `regex_match_sql` for the regex ones.
    emulated_expectations: ClassVar[frozenset[str]] = frozenset()
    # Python distributions the engine needs (reported by `quality doctor`).
    distributions: ClassVar[tuple[str, ...]] = ()
    # The sqlglot dialect the engine's SQL (dbt's compiled code, the harness's own statements) parses in.
    sqlglot_dialect: ClassVar[str]
    # The harness's embedded engine: in this process, on a local file; what `quality init`'s `local` output
    # builds on, and what a manifest that names no adapter was built on. One kind is.
    embedded: ClassVar[bool] = False
    # Prod runs on this engine: a change reviewed on another engine may edit a macro only this one runs
    # (quality/wap/review/unseen.py). One kind does.
    runs_prod: ClassVar[bool] = False
    # The macro prefixes dbt's `adapter.dispatch` tries on this engine's adapter, in order (`<adapter>__x`,
    # a parent adapter's, `default__x`); empty: not known, so the data change review names no unseen macro.
    dispatch_prefixes: ClassVar[tuple[str, ...]] = ()
    # profiles.yml output `type`s whose `host` is this engine's workspace, which a committed profile reads
    # from env_var() like a secret (the profiles-safety hook, hooks/profiles_safety.py).
    workspace_host_types: ClassVar[frozenset[str]] = frozenset()
    # How messages name the engine and, for a file-backed one, the output key that names its file, that key
    # written with env_var() (for fixes) and its files' suffix.
    label: ClassVar[str]
    file_setting: ClassVar[str | None] = None
    file_setting_example: ClassVar[str] = ""
    file_suffix: ClassVar[str] = ""

    # --- the profile ---------------------------------------------------------------------------------------
    def check_output(self, raw: dict[str, Any], rendered: dict[str, Any], *, where: str) -> None:
        """Refuse a profile output this engine would fail on later with a worse message (`raw`: as written)."""

    def target_fields(self, output: dict[str, Any]) -> dict[str, Any]:
        """The engine's own `Target` fields from its rendered profile output (e.g. `duckdb_path`)."""
        raise NotImplementedError

    def extensions_hint(self, target: Target, names: str, where: str) -> str:
        """What to do when the engine failed on the extensions `names` the profile lists (at `where`)."""
        return ""

    def listed_extensions(self, target: Target) -> Any:
        """Extensions the profile has the dbt adapter install on connecting (none by default)."""
        return None

    # --- connections ---------------------------------------------------------------------------------------
    def open(self, target: Target, *, read_only: bool, say: Say) -> Engine | None:
        """A connection to the target's warehouse; None when the target lacks the settings to make one."""
        raise NotImplementedError

    def warehouse_exists(self, target: Target) -> bool:
        """Whether there is a warehouse to inspect yet (a file-backed one may not be created)."""
        return True

    def release_in_process_connections(self) -> None:
        """Close what the engine's dbt adapter keeps open in this process after a dbt command."""

    # --- database files and workspaces ---------------------------------------------------------------------
    def database_file(self, target: Target) -> Path | None:
        """The local file the target's warehouse is, if it is one."""
        return None

    def with_database_file(self, target: Target, path: Path) -> Target:
        """The target pointed at another database file (file-backed engines only)."""
        raise HarnessError(f"{target.describe()} is not a database file; it cannot be pointed at {path}.")

    def database_file_named(self, folder: Path, stem: str) -> Path | None:
        """The (absolute) database file called `stem` in `folder`, for a file-backed engine; None for others."""
        return None

    def workspace_file(self, base: str) -> Path | None:
        """The (absolute) database file of its own an ephemeral workspace `base` gets, if the engine has files."""
        return None

    def workspace_target(self, target: Target, base: str, file: Path | None = None) -> Target | None:
        """The target an ephemeral workspace `base` builds on when it gets a database file of its own (`file`
        when the caller provides one, else `workspace_file(base)`); None: the workspace lives in the target's
        own warehouse, its base name keeping it apart."""
        path = file.resolve() if file is not None else self.workspace_file(base)
        if not self.file_backed or path is None:
            return None
        return self.with_database_file(target, path)

    def remove_files(self, target: Target) -> list[str]:
        """Delete the target's database file and its companions (e.g. a WAL); returns the names removed."""
        return []

    def ephemeral_files(self) -> dict[str, list[Path]]:
        """Workspace files left under EPHEMERAL_DIR, by the base name they belong to (for `quality reap`)."""
        return {}

    def pinned_profile_output(self, target: Target) -> dict[str, Any] | None:
        """A profile output pinning the target's own database file, written into a generated profiles.yml so
        that dbt builds on the workspace's file whatever the project's profile says; None: the project's
        own profiles are used (they may hold secrets, and are never rewritten)."""
        return None

    # --- SQL ---------------------------------------------------------------------------------------------
    def quote_identifier(self, name: str) -> str:
        """`name` as an identifier of the engine's SQL (double quotes, inner ones doubled, by default)."""
        return '"' + name.replace('"', '""') + '"'

    # --- Great Expectations --------------------------------------------------------------------------------
    def gx_datasource(
        self, context: Any, url: str, creator: Callable[[], Any] | None, timeout_s: float, *, name: str
    ) -> Any:
        """Register the warehouse at `url` in the GX `context` as SQL data source `name`. `creator`: the
        run's Engine's own connections (None for a bare URL); `timeout_s` bounds connecting."""
        raise NotImplementedError

    def regex_match_sql(self, column: str, pattern: str) -> str:
        """SQL true when `column` contains a match of the regex literal `pattern` (for emulated expectations)."""
        raise NotImplementedError
