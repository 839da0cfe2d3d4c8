"""The extract's workflow tables: typed from the ledger's DDL (ids, exact decimals, flags,
times), credentials never copied, bad time text refused by name, and a full refresh that
leaves the raw tables the ledger cannot rebuild alone."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import duckdb
import pytest

from ledger.storage import schema
from pipelines.extract import (
    DECIMAL_TYPE,
    ExtractError,
    Table,
    declared_types,
    drop_raw,
    extracted_workflow_tables,
    replace_workflow_table,
)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(":memory:") as connection:
        connection.execute("create schema raw")
        yield connection


def ledger_columns(table: str) -> list[str]:
    """The columns the ledger really creates, under export.table's names (no `_e6`)."""
    with sqlite3.connect(":memory:") as ledger:
        for statement in schema.render("integer", "integer"):
            ledger.execute(statement)
        described = ledger.execute(f"pragma table_info({table})").fetchall()
    return [row[1].removesuffix("_e6") for row in described]


def test_every_column_of_every_extracted_table_has_a_declared_type():
    for table in extracted_workflow_tables():
        assert sorted(declared_types(table)) == sorted(ledger_columns(table)), table


def test_ids_are_bigint_amounts_exact_flags_boolean_times_timestamps():
    line = declared_types("transfer_shipment_line")
    assert line["shipment_id"] == line["line_no"] == "bigint"
    assert line["shipped_qty"] == line["goods_value"] == DECIMAL_TYPE
    hold = declared_types("reservation")
    assert hold["is_overcommitted"] == "boolean"
    assert hold["expires_at"] == hold["created_at"] == "timestamp"
    assert hold["ref_id"] == hold["channel"] == "varchar"
    assert declared_types("expected_receipt_line")["lot_expires_on"] == "date"
    assert declared_types("role_grant")["valid_from"] == "timestamp"
    assert declared_types("reservation_history")["at"] == "timestamp"
    assert declared_types("transfer_request")["suggestion_id"] == "varchar"


def test_api_tokens_are_never_copied_to_the_warehouse():
    names = extracted_workflow_tables()
    assert "api_token" not in names
    assert {"transfer_request", "reservation", "count_line", "goods_receipt"} <= set(names)


def test_a_workflow_table_lands_typed_even_when_empty(con: duckdb.DuckDBPyConnection):
    columns = tuple(ledger_columns("count_entry"))
    replace_workflow_table(con, "count_entry", Table(columns, []))
    types = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'ledger_count_entry'"
        ).fetchall()
    )
    assert types["counted_qty"] == "DECIMAL(18,6)"
    assert types["within_tolerance"] == "BOOLEAN"
    assert types["recorded_at"] == "TIMESTAMP"
    assert types["attempt"] == "BIGINT"


def test_rows_keep_exact_decimals_and_utc_times(con: duckdb.DuckDBPyConnection):
    columns = tuple(ledger_columns("count_entry"))
    row = dict.fromkeys(columns)
    row.update(
        session_id=1, line_no=2, attempt=1, counted_qty=Decimal("7.125"),
        system_qty=Decimal("8"), within_tolerance=1, counter="sam", role="store_keeper",
        idempotency_key="k", recorded_at="2026-10-15T10:00:00.250000Z",
    )  # fmt: skip
    replace_workflow_table(con, "count_entry", Table(columns, [tuple(row.values())]))
    found = con.execute(
        "select counted_qty, within_tolerance, recorded_at from raw.ledger_count_entry"
    ).fetchone()
    assert found == (Decimal("7.125"), True, datetime.fromisoformat("2026-10-15T10:00:00.250000"))


def test_time_text_not_in_the_ledgers_form_fails_naming_table_and_column(
    con: duckdb.DuckDBPyConnection,
):
    columns = tuple(ledger_columns("transfer_receipt"))
    row = dict.fromkeys(columns)
    row.update(
        receipt_id=1, shipment_id=1, transfer_id=1, facility_id=1, received_by="sid",
        received_role="store_keeper", occurred_at="15/10/2026 10:00",
        posted_at="2026-10-15T10:00:00.000000Z",
    )  # fmt: skip
    with pytest.raises(ExtractError, match=r"raw\.ledger_transfer_receipt\.occurred_at"):
        replace_workflow_table(con, "transfer_receipt", Table(columns, [tuple(row.values())]))


def test_full_refresh_drops_only_what_the_extract_loads(con: duckdb.DuckDBPyConnection):
    for name in ("ledger_events", "extract_state", "facilities", "ledger_transfer_request"):
        con.execute(f"create table raw.{name} (x integer)")
    con.execute("create table raw.rejects (feed varchar)")
    con.execute("create table raw.transfer_lanes (lead_time_days integer)")
    drop_raw(con)
    left = con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw' order by 1"
    ).fetchall()
    assert left == [("rejects",), ("transfer_lanes",)]
