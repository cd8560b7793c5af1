"""DatabricksEngine's SQL, parameters and connector arguments, against a tiny recording connection.

The real connector cannot reach anything offline, so `connect=` injects a fake that records every
statement with its parameters and answers queries from a table of canned rows.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import make_url

from quality.engines.base import Engine
from quality.engines.databricks import DatabricksEngine, quote_identifier
from quality.errors import FixtureError, QualityError, TargetError
from tests.fakes import FakeWorkspace

HOST = "adb-1234567890123456.7.azuredatabricks.net"
HTTP_PATH = "/sql/1.0/warehouses/abc123def456"
TOKEN = "dapi0123456789abcdef0123456789abcdef"  # pragma: allowlist secret
CLIENT_SECRET = "dose-0123456789-secret"  # pragma: allowlist secret


class FakeCursor:
    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection
        self.rows: list[tuple[Any, ...]] = []

    def execute(self, operation: str, parameters: Any = None) -> None:
        self.connection.statements.append((operation, parameters))
        self.rows = next((rows for prefix, rows in self.connection.answers if operation.startswith(prefix)), [])

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def close(self) -> None:
        self.connection.cursors_closed += 1


class FakeConnection:
    """Records (sql, params); `answers` maps a statement prefix to the rows its query returns."""

    def __init__(self, answers: Sequence[tuple[str, list[tuple[Any, ...]]]] = ()) -> None:
        self.answers = list(answers)
        self.statements: list[tuple[str, list[Any] | None]] = []
        self.cursors_closed = 0
        self.closed = False

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def close(self) -> None:
        self.closed = True


class RecordingConnect:
    """Stands in for `databricks.sql.connect`: keeps its keyword arguments, returns the fake connection."""

    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> FakeConnection:
        self.calls.append(kwargs)
        return self.connection


def make_engine(connection: FakeConnection | None = None, **kwargs: Any) -> tuple[DatabricksEngine, RecordingConnect]:
    connect = RecordingConnect(connection or FakeConnection())
    options: dict[str, Any] = {"token": TOKEN, **kwargs}
    return DatabricksEngine(HOST, HTTP_PATH, "main", connect=connect, **options), connect


def statements(engine_connect: RecordingConnect) -> list[tuple[str, list[Any] | None]]:
    return engine_connect.connection.statements


def test_the_engine_satisfies_the_engine_protocol() -> None:
    engine: Engine = make_engine()[0]

    assert (engine.name, engine.database) == ("databricks", "main")


class TestConnection:
    def test_connects_lazily_once_with_bounded_timeouts(self) -> None:
        engine, connect = make_engine()
        assert connect.calls == []

        engine.execute("SELECT 1")
        engine.execute("SELECT 2")

        assert connect.calls == [
            {
                "server_hostname": HOST,
                "http_path": HTTP_PATH,
                "catalog": "main",
                "user_agent_entry": "dbt-quality-harness",
                "_port": 443,
                "_socket_timeout": 60.0,
                "_retry_stop_after_attempts_count": 8,
                "_retry_stop_after_attempts_duration": 300.0,
                "access_token": TOKEN,
            }
        ]
        assert connect.connection.cursors_closed == 2

    def test_timeouts_and_port_come_from_the_arguments(self) -> None:
        connect = RecordingConnect(FakeConnection())
        engine = DatabricksEngine(
            f"https://{HOST}:8443/",
            HTTP_PATH,
            "main",
            token=TOKEN,
            socket_timeout_s=5,
            retry_attempts=2,
            retry_duration_s=20,
            connect=connect,
        )

        engine.execute("SELECT 1")

        limits = {k: v for k, v in connect.calls[0].items() if k.startswith("_")}
        assert limits == {
            "_port": 8443,
            "_socket_timeout": 5,
            "_retry_stop_after_attempts_count": 2,
            "_retry_stop_after_attempts_duration": 20,
        }

    def test_oauth_passes_a_credentials_provider_and_no_token(self) -> None:
        engine, connect = make_engine(token=None, client_id="sp-id", client_secret=CLIENT_SECRET)

        engine.execute("SELECT 1")

        arguments = connect.calls[0]
        assert "access_token" not in arguments
        assert callable(arguments["credentials_provider"])

    def test_oauth_credentials_provider_logs_in_through_databricks_sdk(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        for name in [n for n in os.environ if n.startswith("DATABRICKS_")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("HOME", str(tmp_path))
        with FakeWorkspace() as workspace:
            workspace.serve_oauth_m2m("sp-id", CLIENT_SECRET, access_token="m2m-access")
            engine = DatabricksEngine(workspace.url, HTTP_PATH, "main", client_id="sp-id", client_secret=CLIENT_SECRET)

            header_factory = engine.connect_arguments()["credentials_provider"]()

            assert header_factory() == {"Authorization": "Bearer m2m-access"}

    def test_close_closes_the_session_once(self) -> None:
        engine, connect = make_engine()
        engine.execute("SELECT 1")

        engine.close()
        engine.close()

        assert connect.connection.closed is True

    def test_a_failed_connect_is_a_target_error_without_the_token(self) -> None:
        def failing_connect(**kwargs: Any) -> FakeConnection:
            raise RuntimeError(f"Error during request to server: Bearer {kwargs['access_token']} rejected")

        engine = DatabricksEngine(HOST, HTTP_PATH, "main", token=TOKEN, connect=failing_connect)

        with pytest.raises(TargetError) as raised:
            engine.execute("SELECT 1")

        assert str(raised.value) == (
            f"cannot open a SQL session on Databricks at {HOST} (RuntimeError: Error during request to server: "
            "Bearer *** rejected). Check DATABRICKS_HOST, DATABRICKS_HTTP_PATH (/sql/1.0/warehouses/abc123def456) "
            "and the credentials, and that the SQL warehouse exists and this identity may use it."
        )

    def test_missing_catalog_is_refused(self) -> None:
        with pytest.raises(TargetError, match="set DBT_CATALOG"):
            DatabricksEngine(HOST, HTTP_PATH, "", token=TOKEN)


class TestNames:
    def test_quote_identifier_doubles_backticks(self) -> None:
        assert quote_identifier("we`ird name") == "`we``ird name`"

    def test_three_part_relation_name(self) -> None:
        engine = make_engine()[0]

        assert engine.relation_ref("ci_20261125t131000_ab12cd_raw", "orders") == (
            "`main`.`ci_20261125t131000_ab12cd_raw`.`orders`"
        )


class TestSchemas:
    def test_create_and_drop_cascade(self) -> None:
        engine, connect = make_engine()

        engine.create_schema("ci_x")
        engine.drop_schema("ci_x")

        assert statements(connect) == [
            ("CREATE SCHEMA IF NOT EXISTS `main`.`ci_x`", None),
            ("DROP SCHEMA IF EXISTS `main`.`ci_x` CASCADE", None),
        ]

    def test_list_schemas_shows_schemas_in_the_catalog(self) -> None:
        connection = FakeConnection([("SHOW SCHEMAS", [("marts",), ("default",), ("ci_x",)])])
        engine, connect = make_engine(connection)

        assert engine.list_schemas() == ["ci_x", "default", "marts"]
        assert statements(connect) == [("SHOW SCHEMAS IN `main`", None)]

    def test_list_relations_reads_information_schema_with_a_lowered_schema(self) -> None:
        rows = [("orders", "MANAGED"), ("stg_orders", "VIEW"), ("ext", "EXTERNAL")]
        engine, connect = make_engine(FakeConnection([("SELECT table_name, table_type", rows)]))

        assert engine.list_relations("CI_X") == [("orders", "table"), ("stg_orders", "view"), ("ext", "table")]
        assert statements(connect) == [
            (
                "SELECT table_name, table_type FROM `main`.information_schema.tables "
                "WHERE table_schema = ? ORDER BY table_name",
                ["ci_x"],
            )
        ]

    def test_relation_exists(self) -> None:
        engine, connect = make_engine(FakeConnection([("SELECT 1", [(1,)])]))

        assert engine.relation_exists("ci_x", "Orders") is True
        assert statements(connect) == [
            (
                "SELECT 1 FROM `main`.information_schema.tables WHERE table_schema = ? AND table_name = ?",
                ["ci_x", "orders"],
            )
        ]


class TestLoadFrame:
    def test_typed_table_then_batched_inserts_with_plain_parameters(self) -> None:
        engine, connect = make_engine(max_params_per_insert=8)
        frame = pd.DataFrame(
            {
                "id": [1, 2, 3],
                "amount": [1.5, np.nan, 3.0],
                "name": ["a", None, "c"],
                "ordered_at": pd.to_datetime(["2026-01-02 03:04:05", "2026-01-03 00:00:00", None]),
            }
        )

        assert engine.load_frame("ci_raw", "orders", frame) == 3

        relation = "`main`.`ci_raw`.`orders`"
        assert statements(connect) == [
            ("CREATE SCHEMA IF NOT EXISTS `main`.`ci_raw`", None),
            (
                f"CREATE OR REPLACE TABLE {relation} "
                "(`id` BIGINT, `amount` DOUBLE, `name` STRING, `ordered_at` TIMESTAMP) USING DELTA",
                None,
            ),
            (
                f"INSERT INTO {relation} (`id`, `amount`, `name`, `ordered_at`) VALUES (?, ?, ?, ?), (?, ?, ?, ?)",
                [1, 1.5, "a", dt.datetime(2026, 1, 2, 3, 4, 5), 2, None, None, dt.datetime(2026, 1, 3)],
            ),
            (
                f"INSERT INTO {relation} (`id`, `amount`, `name`, `ordered_at`) VALUES (?, ?, ?, ?)",
                [3, 3.0, "c", None],
            ),
        ]
        params = statements(connect)[2][1]
        assert params is not None
        assert [type(value) for value in params[:4]] == [int, float, str, dt.datetime]

    def test_column_types_from_values_of_object_columns(self) -> None:
        engine, connect = make_engine()
        frame = pd.DataFrame(
            {
                "flag": [True, False],
                "day": [dt.date(2026, 1, 1), None],
                "nullable_int": pd.array([7, None], dtype="Int64"),
                "empty": [None, None],
            }
        )

        engine.load_frame("s", "t", frame, replace=False)

        assert statements(connect)[1:] == [
            (
                "CREATE TABLE IF NOT EXISTS `main`.`s`.`t` "
                "(`flag` BOOLEAN, `day` DATE, `nullable_int` BIGINT, `empty` STRING) USING DELTA",
                None,
            ),
            (
                "INSERT INTO `main`.`s`.`t` (`flag`, `day`, `nullable_int`, `empty`) VALUES (?, ?, ?, ?), (?, ?, ?, ?)",
                [True, dt.date(2026, 1, 1), 7, None, False, None, None, None],
            ),
        ]

    def test_an_empty_frame_creates_the_table_only(self) -> None:
        engine, connect = make_engine()

        assert engine.load_frame("s", "t", pd.DataFrame({"id": pd.Series([], dtype="int64")})) == 0
        assert [sql for sql, _ in statements(connect)] == [
            "CREATE SCHEMA IF NOT EXISTS `main`.`s`",
            "CREATE OR REPLACE TABLE `main`.`s`.`t` (`id` BIGINT) USING DELTA",
        ]


class TestLoadCsv:
    def test_iso_dates_become_dates_and_empty_fields_null(self, tmp_path: Path) -> None:
        path = tmp_path / "orders.csv"
        path.write_text("order_id,ordered_on,status,note\n1,2026-01-02,shipped,NA\n2,2026-01-03,,\n")
        engine, connect = make_engine()

        assert engine.load_csv("ci_raw", "orders", path) == 2

        assert statements(connect)[1:] == [
            (
                "CREATE OR REPLACE TABLE `main`.`ci_raw`.`orders` "
                "(`order_id` BIGINT, `ordered_on` DATE, `status` STRING, `note` STRING) USING DELTA",
                None,
            ),
            (
                "INSERT INTO `main`.`ci_raw`.`orders` (`order_id`, `ordered_on`, `status`, `note`) "
                "VALUES (?, ?, ?, ?), (?, ?, ?, ?)",
                [1, dt.date(2026, 1, 2), "shipped", "NA", 2, dt.date(2026, 1, 3), None, None],
            ),
        ]

    def test_a_malformed_file_names_file_and_line_and_loads_nothing(self, tmp_path: Path) -> None:
        path = tmp_path / "orders.csv"
        path.write_text("order_id,status\n1,shipped\n2,shipped,extra\n")
        engine, connect = make_engine()

        with pytest.raises(FixtureError) as raised:
            engine.load_csv("ci_raw", "orders", path)

        assert str(raised.value).startswith(f"{path}:3: expected 2 fields")
        assert statements(connect) == []


class TestDeltaVersions:
    def test_table_versions_reads_describe_history_of_delta_tables(self) -> None:
        connection = FakeConnection(
            [
                ("SELECT table_name FROM", [("dim_customers",), ("fct_orders",)]),
                ("DESCRIBE HISTORY `main`.`marts`.`dim_customers`", [(4, "2026-01-01", "WRITE")]),
                ("DESCRIBE HISTORY `main`.`marts`.`fct_orders`", [(12, "2026-01-01", "MERGE")]),
            ]
        )
        engine, connect = make_engine(connection)

        assert engine.table_versions("marts") == {"dim_customers": 4, "fct_orders": 12}
        assert statements(connect) == [
            (
                "SELECT table_name FROM `main`.information_schema.tables WHERE table_schema = ? "
                "AND table_type IN ('MANAGED', 'EXTERNAL') AND data_source_format = 'DELTA' ORDER BY table_name",
                ["marts"],
            ),
            ("DESCRIBE HISTORY `main`.`marts`.`dim_customers` LIMIT 1", None),
            ("DESCRIBE HISTORY `main`.`marts`.`fct_orders` LIMIT 1", None),
        ]

    def test_delta_restore(self) -> None:
        engine, connect = make_engine()

        engine.delta_restore("marts", "fct_orders", 11)

        assert statements(connect) == [("RESTORE TABLE `main`.`marts`.`fct_orders` TO VERSION AS OF 11", None)]

    @pytest.mark.parametrize("version", [-1, "11; DROP TABLE x", True])
    def test_delta_restore_refuses_what_is_not_a_version(self, version: Any) -> None:
        engine, connect = make_engine()

        with pytest.raises(QualityError, match="a Delta version is an integer >= 0"):
            engine.delta_restore("marts", "fct_orders", version)
        assert statements(connect) == []

    def test_transaction_is_a_no_op_around_the_statements(self) -> None:
        engine, connect = make_engine()

        with engine.transaction():
            engine.execute("SELECT 1")

        assert statements(connect) == [("SELECT 1", None)]


class TestSecrets:
    def test_sqlalchemy_url_carries_the_token_for_the_dialect(self) -> None:
        engine = make_engine(token="dapi+with/odd=chars")[0]

        url = engine.sqlalchemy_url("ci_marts")

        assert url == (
            f"databricks://token:dapi%2Bwith%2Fodd%3Dchars@{HOST}:443"  # pragma: allowlist secret
            "?http_path=%2Fsql%2F1.0%2Fwarehouses%2Fabc123def456&catalog=main&schema=ci_marts"
        )
        parsed = make_url(url)
        assert (parsed.password, parsed.query["http_path"], parsed.query["schema"]) == (
            "dapi+with/odd=chars",
            HTTP_PATH,
            "ci_marts",
        )

    def test_redacted_url_hides_the_token(self) -> None:
        engine = make_engine()[0]

        assert engine.redacted_url() == (
            f"databricks://token:***@{HOST}:443?http_path=%2Fsql%2F1.0%2Fwarehouses%2Fabc123def456&catalog=main"
        )

    def test_repr_and_str_never_show_secrets(self) -> None:
        pat = make_engine()[0]
        oauth = make_engine(token=None, client_id="sp-id", client_secret=CLIENT_SECRET)[0]

        assert repr(pat) == (f"DatabricksEngine(host='{HOST}', http_path='{HTTP_PATH}', catalog='main', auth='pat')")
        assert str(oauth) == (
            f"DatabricksEngine(host='{HOST}', http_path='{HTTP_PATH}', catalog='main', auth='oauth-m2m')"
        )

    def test_oauth_url_has_no_credentials_and_connect_args_carry_them(self) -> None:
        engine = make_engine(token=None, client_id="sp-id", client_secret=CLIENT_SECRET)[0]

        assert CLIENT_SECRET not in engine.sqlalchemy_url()
        assert engine.sqlalchemy_url().startswith(f"databricks://{HOST}:443?")
        connect_args = engine.sqlalchemy_connect_args()
        assert sorted(connect_args) == [
            "_port",
            "_retry_stop_after_attempts_count",
            "_retry_stop_after_attempts_duration",
            "_socket_timeout",
            "credentials_provider",
        ]
