from __future__ import annotations

import pytest

from flink_jobs.sql_template import render_sql


def test_braced_placeholders_are_filled_and_json_paths_kept():
    sql = "SELECT JSON_VALUE(payload, '$.charge_id') FROM ${table} WHERE note = '$5'"
    assert render_sql(sql, {"table": "t"}) == (
        "SELECT JSON_VALUE(payload, '$.charge_id') FROM t WHERE note = '$5'"
    )


def test_a_placeholder_without_a_value_is_an_error():
    with pytest.raises(KeyError, match="missing"):
        render_sql("SELECT * FROM ${missing}", {})
