"""The endpoint's answers on the wire: Arrow column types named as Databricks' Statement Execution API names
them, the manifest, and the result inline as Arrow IPC (ARROW_STREAM) or as strings (JSON_ARRAY)."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from quality.emulator import wire


@pytest.mark.parametrize(
    ("arrow_type", "type_name", "type_text"),
    [
        (pa.bool_(), "BOOLEAN", "BOOLEAN"),
        (pa.int8(), "BYTE", "TINYINT"),
        (pa.int16(), "SHORT", "SMALLINT"),
        (pa.int32(), "INT", "INT"),
        (pa.int64(), "LONG", "BIGINT"),
        (pa.float32(), "FLOAT", "FLOAT"),
        (pa.float64(), "DOUBLE", "DOUBLE"),
        (pa.string(), "STRING", "STRING"),
        (pa.large_string(), "STRING", "STRING"),
        (pa.binary(), "BINARY", "BINARY"),
        (pa.large_binary(), "BINARY", "BINARY"),
        (pa.date32(), "DATE", "DATE"),
        (pa.null(), "NULL", "VOID"),
    ],
)
def test_simple_types_get_databricks_names_and_no_extra_fields(
    arrow_type: pa.DataType, type_name: str, type_text: str
) -> None:
    assert wire.sea_type(arrow_type) == (type_name, type_text, {})


def test_a_decimal_carries_its_precision_and_scale() -> None:
    assert wire.sea_type(pa.decimal128(12, 3)) == ("DECIMAL", "DECIMAL(12,3)", {"type_precision": 12, "type_scale": 3})
    assert wire.sea_type(pa.decimal128(38, 0)) == ("DECIMAL", "DECIMAL(38,0)", {"type_precision": 38, "type_scale": 0})


def test_a_timestamp_with_a_time_zone_is_timestamp_and_without_one_timestamp_ntz() -> None:
    assert wire.sea_type(pa.timestamp("us", tz="UTC")) == ("TIMESTAMP", "TIMESTAMP", {})
    assert wire.sea_type(pa.timestamp("us", tz="Europe/Rome")) == ("TIMESTAMP", "TIMESTAMP", {})
    assert wire.sea_type(pa.timestamp("us")) == ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ", {})


def test_nested_types_spell_their_element_types() -> None:
    assert wire.sea_type(pa.list_(pa.int64())) == ("ARRAY", "ARRAY<BIGINT>", {})
    assert wire.sea_type(pa.large_list(pa.string())) == ("ARRAY", "ARRAY<STRING>", {})
    assert wire.sea_type(pa.map_(pa.string(), pa.decimal128(5, 2))) == ("MAP", "MAP<STRING, DECIMAL(5,2)>", {})
    assert wire.sea_type(pa.struct([("a", pa.int32()), ("b", pa.list_(pa.date32()))])) == (
        "STRUCT",
        "STRUCT<a: INT, b: ARRAY<DATE>>",
        {},
    )


def test_durations_are_day_to_second_intervals_and_unknown_types_strings() -> None:
    assert wire.sea_type(pa.duration("us")) == (
        "INTERVAL",
        "INTERVAL DAY TO SECOND",
        {"type_interval_type": "DAY TO SECOND"},
    )
    assert wire.sea_type(pa.time64("us")) == ("STRING", "STRING", {})


def sample() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "amount": pa.array([Decimal("1.50"), None], pa.decimal128(10, 2)),
            "at": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5), None], pa.timestamp("us", tz="UTC")),
        }
    )


def test_the_manifest_lists_columns_with_positions_and_one_chunk() -> None:
    assert wire.manifest(sample(), wire.ARROW_STREAM) == {
        "format": "ARROW_STREAM",
        "schema": {
            "column_count": 3,
            "columns": [
                {"name": "id", "type_name": "LONG", "type_text": "BIGINT", "position": 0},
                {
                    "name": "amount",
                    "type_name": "DECIMAL",
                    "type_text": "DECIMAL(10,2)",
                    "position": 1,
                    "type_precision": 10,
                    "type_scale": 2,
                },
                {"name": "at", "type_name": "TIMESTAMP", "type_text": "TIMESTAMP", "position": 2},
            ],
        },
        "total_row_count": 2,
        "total_chunk_count": 1,
        "chunks": [{"chunk_index": 0, "row_offset": 0, "row_count": 2}],
        "truncated": False,
    }


def test_arrow_stream_results_are_inline_base64_ipc_of_the_same_table() -> None:
    result = wire.result(sample(), wire.ARROW_STREAM)

    assert {key: value for key, value in result.items() if key != "attachment"} == {
        "chunk_index": 0,
        "row_offset": 0,
        "row_count": 2,
    }
    decoded = pa.ipc.open_stream(base64.b64decode(result["attachment"])).read_all()
    assert decoded.equals(sample())


def test_json_array_results_carry_every_value_as_a_string_and_null_as_none() -> None:
    table = pa.table(
        {
            "flag": [True, False],
            "n": [1, None],
            "x": [1.5, 2.0],
            "d": [dt.date(2024, 2, 29), None],
            "at": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, 600), None], pa.timestamp("us")),
            "amount": pa.array([Decimal("1.50"), Decimal("-0.01")], pa.decimal128(10, 2)),
            "items": [[1, 2], []],
            "pair": [{"a": 1, "b": "x"}, None],
        }
    )

    result: dict[str, Any] = wire.result(table, wire.JSON_ARRAY)

    assert result == {
        "chunk_index": 0,
        "row_offset": 0,
        "row_count": 2,
        "data_array": [
            ["true", "1", "1.5", "2024-02-29", "2024-01-02 03:04:05.000600", "1.50", "[1, 2]", '{"a": 1, "b": "x"}'],
            ["false", None, "2.0", None, None, "-0.01", "[]", None],
        ],
    }
