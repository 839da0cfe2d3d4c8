"""Append-only (L1.5): the database itself refuses UPDATE and DELETE on the stock card and the
other records of what happened, whoever connects to it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from ledger import Ledger
from tests.support import Stock

# table: (a column to tamper with, the value to write into it)
TAMPERING = {
    "stock_event": ("qty_e6", 999_000_000),
    "outbox": ("topic", "tampered"),
    "audit_log": ("actor", "mallory"),
    "cost_layer_entry": ("value_e6", 0),
    "idempotency": ("request_hash", "tampered"),
    "period_snapshot": ("closing_qty_e6", 0),
}


@pytest.fixture
def history(stock: Stock) -> Stock:
    """A ledger with a row in every append-only table: receipts and an issue in September (one
    FIFO, so cost layers have entries), September closed (snapshot, audit, outbox)."""
    september = "2026-09-10T10:00:00Z"
    stock.receive("TEE-M", "10", "4.50", occurred_at=september)
    stock.receive("BOLT-8", "100", "0.10", occurred_at=september)
    stock.issue("BOLT-8", "30", occurred_at="2026-09-12T10:00:00Z")
    stock.ledger.close_period("2026-09", actor="fiona", role="finance")
    return stock


@contextmanager
def raw_connection(ledger: Ledger) -> Iterator[tuple[Any, str]]:
    """A connection of its own to the ledger's database, past the ledger code, and the
    parameter marker its driver uses."""
    if ledger.store.name == "sqlite":
        conn = sqlite3.connect(ledger.store.path, isolation_level=None)  # type: ignore[attr-defined]
        try:
            yield conn, "?"
        finally:
            conn.close()
    else:
        with psycopg.connect(ledger.store.url, autocommit=True) as conn:
            yield conn, "%s"


def rows(conn: Any, table: str) -> list[tuple]:
    return sorted(tuple(row) for row in conn.execute(f"select * from {table}").fetchall())


REFUSED = (sqlite3.DatabaseError, psycopg.Error)


@pytest.mark.parametrize("table", list(TAMPERING))
def test_update_and_delete_are_refused_by_the_database(history: Stock, table: str):
    column, value = TAMPERING[table]
    with raw_connection(history.ledger) as (conn, mark):
        before = rows(conn, table)
        assert before, f"the scenario left no row in {table}"
        first_column = conn.execute(f"select * from {table} limit 0").description[0][0]
        target = before[-1][0]

        with pytest.raises(REFUSED, match="append-only"):
            conn.execute(
                f"update {table} set {column} = {mark} where {first_column} = {mark}",
                (value, target),
            )
        with pytest.raises(REFUSED, match="append-only"):
            conn.execute(f"delete from {table} where {first_column} = {mark}", (target,))
        with pytest.raises(REFUSED, match="append-only"):
            conn.execute(f"delete from {table}")

        assert rows(conn, table) == before


def test_truncate_is_refused_on_postgresql(history: Stock):
    if history.ledger.store.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; an unqualified DELETE is covered above")
    with raw_connection(history.ledger) as (conn, _):
        before = rows(conn, "stock_event")
        with pytest.raises(psycopg.Error, match="append-only"):
            conn.execute("truncate stock_event cascade")
        assert rows(conn, "stock_event") == before


def test_the_ledger_keeps_working_after_a_refused_tampering(history: Stock):
    with raw_connection(history.ledger) as (conn, _), pytest.raises(REFUSED):
        conn.execute("update stock_event set qty_e6 = 0")
    history.issue("TEE-M", "4")
    assert history.on_hand("TEE-M") == "6"
    card = history.ledger.card("TEE-M", "DC1")
    assert [event["qty"] for event in card["events"]] == ["10", "-4"]
