"""The Statement Execution API's result shapes: manifest (schema, counts) and inline result data.

Results are answered inline: Arrow IPC in `result.attachment` when the client asked for ARROW_STREAM
(as databricks-sql-connector does with cloud fetch on), else string values in `result.data_array`
(JSON_ARRAY). Column types carry Databricks' SEA type names (`LONG`, `SHORT`, `DECIMAL`, ...).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
from typing import Any

import pyarrow as pa

ARROW_STREAM = "ARROW_STREAM"
JSON_ARRAY = "JSON_ARRAY"


def sea_type(arrow_type: pa.DataType) -> tuple[str, str, dict[str, Any]]:
    """(type_name, type_text, extra fields) of an Arrow column type, as Databricks names it."""
    simple = {
        pa.bool_(): ("BOOLEAN", "BOOLEAN"),
        pa.int8(): ("BYTE", "TINYINT"),
        pa.int16(): ("SHORT", "SMALLINT"),
        pa.int32(): ("INT", "INT"),
        pa.int64(): ("LONG", "BIGINT"),
        pa.float32(): ("FLOAT", "FLOAT"),
        pa.float64(): ("DOUBLE", "DOUBLE"),
        pa.string(): ("STRING", "STRING"),
        pa.large_string(): ("STRING", "STRING"),
        pa.utf8(): ("STRING", "STRING"),
        pa.binary(): ("BINARY", "BINARY"),
        pa.large_binary(): ("BINARY", "BINARY"),
        pa.date32(): ("DATE", "DATE"),
        pa.null(): ("NULL", "VOID"),
    }
    if arrow_type in simple:
        name, text = simple[arrow_type]
        return name, text, {}
    if pa.types.is_decimal(arrow_type):
        text = f"DECIMAL({arrow_type.precision},{arrow_type.scale})"
        return "DECIMAL", text, {"type_precision": arrow_type.precision, "type_scale": arrow_type.scale}
    if pa.types.is_timestamp(arrow_type):
        return ("TIMESTAMP", "TIMESTAMP", {}) if arrow_type.tz else ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ", {})
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return "ARRAY", f"ARRAY<{sea_type(arrow_type.value_type)[1]}>", {}
    if pa.types.is_map(arrow_type):
        return "MAP", f"MAP<{sea_type(arrow_type.key_type)[1]}, {sea_type(arrow_type.item_type)[1]}>", {}
    if pa.types.is_struct(arrow_type):
        fields = ", ".join(f"{f.name}: {sea_type(f.type)[1]}" for f in arrow_type)
        return "STRUCT", f"STRUCT<{fields}>", {}
    if pa.types.is_duration(arrow_type) or pa.types.is_interval(arrow_type):
        return "INTERVAL", "INTERVAL DAY TO SECOND", {"type_interval_type": "DAY TO SECOND"}
    return "STRING", "STRING", {}


def manifest(table: pa.Table, result_format: str) -> dict[str, Any]:
    columns = []
    for position, field in enumerate(table.schema):
        name, text, extra = sea_type(field.type)
        columns.append({"name": field.name, "type_name": name, "type_text": text, "position": position, **extra})
    return {
        "format": result_format,
        "schema": {"column_count": len(columns), "columns": columns},
        "total_row_count": table.num_rows,
        "total_chunk_count": 1,
        "chunks": [{"chunk_index": 0, "row_offset": 0, "row_count": table.num_rows}],
        "truncated": False,
    }


def result(table: pa.Table, result_format: str) -> dict[str, Any]:
    base = {"chunk_index": 0, "row_offset": 0, "row_count": table.num_rows}
    if result_format == ARROW_STREAM:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return {**base, "attachment": base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii")}
    return {**base, "data_array": [[_json_value(v) for v in row.values()] for row in table.to_pylist()]}


def _json_value(value: Any) -> str | None:
    """JSON_ARRAY carries every value as a string, as Databricks renders it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | decimal.Decimal):
        return str(value)
    if isinstance(value, list | dict | tuple):
        return json.dumps(value, default=str)
    return str(value)
