"""Concurrent reservations of the last units never oversell (L3.5), on SQLite and PostgreSQL.

Every client is its own OS process (the "spawn" start method) with its own `Ledger` opened from
the URL, all released at once by a barrier, so only the database's locking stands between them.
"""

from __future__ import annotations

import multiprocessing
import queue
from typing import Any

import pytest

from ledger import Ledger, LedgerError, reservations
from tests.support import Stock

SPAWN = multiprocessing.get_context("spawn")
WAIT = 60.0  # seconds any single wait may take before the test fails rather than hangs
CLIENTS = 20
LAST_UNITS = 10
AT = "2026-10-15T10:00:00Z"

# ("reserved", reservation id) | ("rejected", LedgerError code) | ("crashed", error text)
Outcome = tuple[Any, ...]


def reserve_one(url: str, client: int, start: Any, results: Any) -> None:
    """Open a ledger, wait for every other client, then reserve one unit for its own cart."""
    request = {
        "idempotency_key": f"race-{client}", "sku": "TEE-M", "facility": "DC1", "qty": "1",
        "channel": "ecommerce", "actor": "alice", "role": "store_keeper",
        "reference": {"document_type": "cart", "document_id": f"C-{client}", "line": "1"},
    }  # fmt: skip
    try:
        with Ledger.open(url) as ledger:
            start.wait(WAIT)
            try:
                held = reservations.reserve(ledger, request, at=AT)
            except LedgerError as error:
                outcome: Outcome = ("rejected", error.code)
            else:
                outcome = ("reserved", held["reservation"]["reservation_id"])
    except Exception as error:  # anything but a LedgerError is a bug
        outcome = ("crashed", f"{type(error).__qualname__}: {error}")
    results.put((client, outcome))


def race(url: str) -> list[Outcome]:
    start = SPAWN.Barrier(CLIENTS)
    results = SPAWN.Queue()
    processes = [
        SPAWN.Process(target=reserve_one, args=(url, client, start, results), daemon=True)
        for client in range(CLIENTS)
    ]
    for process in processes:
        process.start()
    collected: dict[int, Outcome] = {}
    try:
        for _ in processes:
            client, outcome = results.get(timeout=WAIT)
            collected[client] = outcome
    except queue.Empty:
        pytest.fail(f"clients {sorted(set(range(CLIENTS)) - set(collected))} hung")
    finally:
        for process in processes:
            process.join(WAIT)
            if process.is_alive():
                process.kill()
                process.join(WAIT)
    assert [process.exitcode for process in processes] == [0] * CLIENTS
    return [collected[client] for client in range(CLIENTS)]


def test_twenty_clients_racing_for_the_last_ten_units_never_oversell(stock: Stock):
    """15 on hand, 5 already promised to an earlier order: the last 10 are what is left to
    promise, and 20 carts try to take one each at the same moment."""
    stock.receive("TEE-M", "15", "5.00")
    earlier = {
        "idempotency_key": "earlier", "sku": "TEE-M", "facility": "DC1", "qty": "5",
        "channel": "wholesale", "actor": "alice", "role": "store_keeper",
        "reference": {"document_type": "order", "document_id": "SO-1", "line": "1"},
    }  # fmt: skip
    reservations.reserve(stock.ledger, earlier, at=AT)
    assert reservations.atp(stock.ledger, "TEE-M", "DC1")["atp"] == str(LAST_UNITS)

    outcomes = race(stock.ledger.store.url)

    crashes = [outcome[1] for outcome in outcomes if outcome[0] == "crashed"]
    assert crashes == []
    reserved = [outcome[1] for outcome in outcomes if outcome[0] == "reserved"]
    refused = [outcome[1] for outcome in outcomes if outcome[0] == "rejected"]
    assert len(reserved) == LAST_UNITS
    assert len(set(reserved)) == LAST_UNITS
    assert refused == ["insufficient_available"] * (CLIENTS - LAST_UNITS)
    assert reservations.atp(stock.ledger, "TEE-M", "DC1") == {
        "sku": "TEE-M", "facility": "DC1", "on_hand": "15", "reserved": "15", "allocated": "0",
        "committed": "0", "atp": "0",
    }  # fmt: skip
    with stock.ledger.store.read() as tx:
        holds = tx.all("select held_qty_e6, status, is_overcommitted from reservation")
    assert len(holds) == 1 + LAST_UNITS
    assert sum(row[0] for row in holds) == 15_000_000
    assert not any(row[2] for row in holds)
    reserved_messages = [m for m in stock.ledger.outbox() if m["topic"] == "inventory-reserved"]
    assert len(reserved_messages) == 1 + LAST_UNITS
