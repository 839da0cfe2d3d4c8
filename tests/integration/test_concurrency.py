"""Concurrent writers in separate OS processes: no overselling, no gaps, no double posting and
no partial batches, on SQLite and on PostgreSQL.

Every worker is its own process (the "spawn" start method) with its own `Ledger` opened from
the URL, so only the database's locking stands between the writers.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import signal
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from ledger import Ledger, LedgerError
from tests.support import DEFAULTS, Stock

SPAWN = multiprocessing.get_context("spawn")
WAIT = 60.0  # seconds any single wait may take before the test fails rather than hangs
WORKERS = 6
ISSUES_EACH = 15
BATCH = 2000

# ("posted", replayed, event ids) | ("rejected", LedgerError code) | ("crashed", error text)
Outcome = tuple[Any, ...]


# -- what the worker processes run (top level, so "spawn" can pickle them) ---------------------


def describe(error: BaseException) -> str:
    return f"{type(error).__module__}.{type(error).__qualname__}: {error}"


def post_each(
    url: str, worker: int, requests: list[dict[str, Any]], start: Any, results: Any
) -> None:
    """Open a ledger, wait for every other worker, then post `requests` one by one."""
    outcomes: list[Outcome] = []
    try:
        with Ledger.open(url) as ledger:
            start.wait(WAIT)
            for request in requests:
                try:
                    result = ledger.post(request)
                except LedgerError as error:
                    outcomes.append(("rejected", error.code))
                except Exception as error:  # anything but a LedgerError is a ledger bug
                    outcomes.append(("crashed", describe(error)))
                else:
                    outcomes.append(("posted", result.replayed, event_ids(result)))
    except Exception as error:
        outcomes.append(("crashed", describe(error)))
    results.put((worker, outcomes))


def post_batch_then_stall(
    url: str, requests: list[dict[str, Any]], stall_at: str, calling: Any, inside: Any
) -> None:
    """Post one large batch. With stall_at "mid-flush" or "before-commit" the write stops there,
    inside its open transaction, and announces it, so the parent can kill it at that point."""

    def stall() -> None:
        inside.set()
        time.sleep(WAIT)

    with Ledger.open(url) as ledger:
        store = ledger.store
        write = store.write

        @contextlib.contextmanager
        def stalling_write(*args: Any, **kwargs: Any) -> Iterator[Any]:
            with write(*args, **kwargs) as tx:
                if stall_at == "mid-flush":
                    many = tx.many

                    def many_then_stall(sql: str, rows: Any) -> None:
                        many(sql, rows)
                        if sql.lstrip().startswith("insert into stock_event"):
                            stall()

                    tx.many = many_then_stall  # type: ignore[method-assign]
                yield tx
                if stall_at == "before-commit":
                    stall()

        store.write = stalling_write  # type: ignore[method-assign]
        calling.set()
        ledger.post_many(requests)


# -- helpers in the test process ----------------------------------------------------------------


def request(key: str, **fields: Any) -> dict[str, Any]:
    return {**DEFAULTS, "idempotency_key": key, "facility": "DC1", **fields}


def issue(key: str, sku: str) -> dict[str, Any]:
    return request(key, kind="issue", sku=sku, qty="1")


def receipt(key: str, sku: str, bin: str, qty: str = "1", cost: str = "1.25") -> dict[str, Any]:
    return request(key, kind="receipt", sku=sku, bin=bin, qty=qty, unit_cost=cost, currency="EUR")


def run_together(url: str, batches: list[list[dict[str, Any]]]) -> list[list[Outcome]]:
    """One process per batch, all released at once; each worker's outcomes in request order."""
    start = SPAWN.Barrier(len(batches))
    results = SPAWN.Queue()
    processes = [
        SPAWN.Process(target=post_each, args=(url, n, batch, start, results), daemon=True)
        for n, batch in enumerate(batches)
    ]
    for process in processes:
        process.start()
    collected: dict[int, list[Outcome]] = {}
    try:
        for _ in processes:
            worker, outcomes = results.get(timeout=WAIT)
            collected[worker] = outcomes
    except queue.Empty:
        pytest.fail(f"workers {sorted(set(range(len(batches))) - set(collected))} hung")
    finally:
        for process in processes:
            process.join(WAIT)
            if process.is_alive():
                process.kill()
                process.join(WAIT)
    assert [process.exitcode for process in processes] == [0] * len(processes)
    return [collected[n] for n in range(len(batches))]


def event_ids(result: Any) -> list[int]:
    return [event["event_id"] for event in result.events]


def assert_no_crashes(outcomes: list[Outcome]) -> None:
    crashes = sorted({outcome[1] for outcome in outcomes if outcome[0] == "crashed"})
    assert crashes == [], "writers got errors other than LedgerError:\n" + "\n".join(crashes)


def assert_ids_and_outbox_gap_free(ledger: Ledger) -> None:
    """Event ids and outbox sequence numbers are 1..N, and every event is published once, in
    commit (= event id) order, which is what incremental extraction relies on."""
    with ledger.store.read() as tx:
        ids = [row[0] for row in tx.all("select event_id from stock_event order by event_id")]
    assert ids == list(range(1, len(ids) + 1))
    messages = ledger.outbox()
    assert [message["seq"] for message in messages] == list(range(1, len(messages) + 1))
    published = [m["payload"]["event_id"] for m in messages if m["topic"] == "stock_event"]
    assert published == ids


def assert_balances_match_events(ledger: Ledger) -> None:
    """Every stored position holds exactly the sum of its events, and every cost position the
    sum of its positions; idempotency records point at their own events."""
    with ledger.store.read() as tx:
        drifted_positions = tx.all(
            "select b.position_id, b.qty_e6, b.value_e6, b.last_event_id, sum(e.qty_e6), "
            "sum(e.cost_delta_e6), max(e.event_id) from stock_balance b "
            "left join stock_event e on e.position_id = b.position_id "
            "group by b.position_id, b.qty_e6, b.value_e6, b.last_event_id "
            "having b.qty_e6 <> coalesce(sum(e.qty_e6), 0) "
            "or b.value_e6 <> coalesce(sum(e.cost_delta_e6), 0) "
            "or b.last_event_id <> max(e.event_id)"
        )
        drifted_costs = tx.all(
            "select c.facility_id, c.variant_id, c.qty_e6, c.value_e6, sum(b.qty_e6), "
            "sum(b.value_e6) from cost_position c left join stock_balance b "
            "on b.facility_id = c.facility_id and b.variant_id = c.variant_id "
            "group by c.facility_id, c.variant_id, c.qty_e6, c.value_e6 "
            "having c.qty_e6 <> coalesce(sum(b.qty_e6), 0) "
            "or c.value_e6 <> coalesce(sum(b.value_e6), 0)"
        )
        mismatched_keys = tx.all(
            "select i.key, i.first_event_id, i.last_event_id, count(e.event_id) from idempotency i "
            "left join stock_event e on e.idempotency_key = i.key "
            "group by i.key, i.first_event_id, i.last_event_id "
            "having count(e.event_id) <> i.last_event_id - i.first_event_id + 1 "
            "or min(e.event_id) <> i.first_event_id or max(e.event_id) <> i.last_event_id"
        )
        unrecorded_keys = tx.all(
            "select distinct e.idempotency_key from stock_event e "
            "left join idempotency i on i.key = e.idempotency_key where i.key is null"
        )
    assert drifted_positions == []
    assert drifted_costs == []
    assert mismatched_keys == []
    assert unrecorded_keys == []


def count_events(ledger: Ledger, key_like: str) -> int:
    """Events whose idempotency key matches the SQL LIKE pattern `key_like`."""
    with ledger.store.read() as tx:
        row = tx.one("select count(*) from stock_event where idempotency_key like ?", (key_like,))
    assert row is not None
    return int(row[0])


def bin_qty(ledger: Ledger, sku: str, bin: str) -> str:
    """On hand in one DC1 bin, across buckets and owners."""
    positions = [
        Decimal(position["qty"])
        for facility in ledger.balance(sku, "DC1")["facilities"]
        for position in facility["positions"]
        if position["bin"] == bin
    ]
    return str(sum(positions, Decimal(0)))


# -- 1. racing issues against positions that cannot cover them all ----------------------------

RECEIPTS = {
    "TEE-M": [("50", "5.00")],  # moving average
    "BOLT-8": [("30", "1.00"), ("20", "2.50")],  # FIFO, two layers at different costs
}
ISSUE_COSTS = {
    "TEE-M": ["-5.00"] * 50,
    "BOLT-8": ["-1.00"] * 30 + ["-2.50"] * 20,
}


def test_racing_issues_sell_exactly_the_stock_on_hand(stock: Stock, ledger_url: str):
    """Six processes each try 15 single-unit issues of both SKUs (interleaved) from DC1, where
    each SKU has 50 on hand and negative stock is not allowed: 90 attempts per SKU, 50 win."""
    for sku, receipts in RECEIPTS.items():
        for qty, cost in receipts:
            stock.receive(sku, qty, cost)
        assert stock.on_hand(sku) == "50"

    batches = [
        [issue(f"race-{sku}-{worker}-{n}", sku) for n in range(ISSUES_EACH) for sku in RECEIPTS]
        for worker in range(WORKERS)
    ]
    per_worker = run_together(ledger_url, batches)

    by_sku: dict[str, list[Outcome]] = {sku: [] for sku in RECEIPTS}
    for batch, outcomes in zip(batches, per_worker, strict=True):
        for sent, outcome in zip(batch, outcomes, strict=True):
            by_sku[sent["sku"]].append(outcome)
    assert_no_crashes([outcome for outcomes in by_sku.values() for outcome in outcomes])
    for sku, outcomes in by_sku.items():
        assert_sold_out_exactly_once(stock, sku, outcomes)
    assert_ids_and_outbox_gap_free(stock.ledger)
    assert_balances_match_events(stock.ledger)


def assert_sold_out_exactly_once(stock: Stock, sku: str, outcomes: list[Outcome]) -> None:
    posted = [outcome for outcome in outcomes if outcome[0] == "posted"]
    rejected = [outcome[1] for outcome in outcomes if outcome[0] == "rejected"]
    assert len(posted) == 50, sku
    assert rejected == ["insufficient_stock"] * (WORKERS * ISSUES_EACH - 50), sku
    assert not any(replayed for _, replayed, _ in posted)

    assert stock.on_hand(sku) == "0"
    valuation = stock.ledger.valuation(sku, "DC1")
    assert (valuation["qty"], valuation["value"], valuation["layers"]) == ("0", "0.00", [])
    card = stock.ledger.card(sku, "DC1")
    assert (card["closing_qty"], card["closing_value"]) == ("0", "0.00")
    assert all(Decimal(event["qty_after"]) >= 0 for event in card["events"])
    issues = sorted(
        (event for event in card["events"] if event["kind"] == "issue"),
        key=lambda event: event["event_id"],
    )
    assert sorted(event["event_id"] for event in issues) == sorted(
        event_id for _, _, ids in posted for event_id in ids
    )
    # One after another: each issue saw the one before it, and FIFO drained the older,
    # cheaper layer first.
    assert [event["qty_after"] for event in issues] == [str(left) for left in range(49, -1, -1)]
    assert [event["cost_delta"] for event in issues] == ISSUE_COSTS[sku]


# -- 2. the same request retried by several processes at the same moment ----------------------

SHARED_KEYS = 10
NEW_POSITIONS = [
    (sku, bin)
    for sku in ("TEE-L", "BOLT-8", "RICE-KG", "TEE-M")
    for bin in ("A1", "A2", "RECV")
    if (sku, bin) != ("TEE-M", "A1")
]


def test_concurrent_retries_of_one_key_post_it_once(stock: Stock, ledger_url: str):
    """Six processes send the same requests with the same keys at the same time, like a client
    retrying on every connection it has: issues from stock on hand, and receipts that each
    open a position nobody has yet (so the racers also collide on creating it)."""
    stock.receive("TEE-M", "100", "5.00")
    shared: list[dict[str, Any]] = []
    for n in range(SHARED_KEYS):
        shared.append(issue(f"retry-issue-{n}", "TEE-M"))
        shared.append(receipt(f"retry-receipt-{n}", *NEW_POSITIONS[n]))

    per_worker = run_together(ledger_url, [shared] * WORKERS)

    assert_no_crashes([outcome for outcomes in per_worker for outcome in outcomes])
    for position, sent in enumerate(shared):
        answers = [outcomes[position] for outcomes in per_worker]
        assert {answer[0] for answer in answers} == {"posted"}, (sent["idempotency_key"], answers)
        assert sorted(replayed for _, replayed, _ in answers) == [False] + [True] * (WORKERS - 1)
        assert len({tuple(ids) for _, _, ids in answers}) == 1, (sent["idempotency_key"], answers)
        assert count_events(stock.ledger, sent["idempotency_key"]) == 1

    assert count_events(stock.ledger, "retry-%") == len(shared)
    assert bin_qty(stock.ledger, "TEE-M", "A1") == str(100 - SHARED_KEYS)
    for sku, bin in NEW_POSITIONS[:SHARED_KEYS]:
        assert bin_qty(stock.ledger, sku, bin) == "1", (sku, bin)
    assert_ids_and_outbox_gap_free(stock.ledger)
    assert_balances_match_events(stock.ledger)


# -- 3. a writer killed in the middle of a large batch ----------------------------------------


def wait_for(event: Any, process: Any, what: str) -> None:
    """Wait until `process` sets `event`; fail at once if it dies first, or after WAIT."""
    deadline = time.monotonic() + WAIT
    while not event.wait(0.05):
        assert process.is_alive(), (
            f"the writer died (exit {process.exitcode}) before it could {what}"
        )
        assert time.monotonic() < deadline, f"the writer did not {what} within {WAIT} s"


def big_batch() -> list[dict[str, Any]]:
    places = [(sku, bin) for sku in ("TEE-M", "TEE-L", "BOLT-8") for bin in ("A1", "A2", "RECV")]
    return [
        receipt(f"batch-{n:04d}", *places[n % len(places)], qty="2", cost=f"1.{n % 7}0")
        for n in range(BATCH)
    ]


@pytest.mark.parametrize("stall_at", ["mid-flush", "before-commit", "nowhere"])
def test_writer_killed_mid_batch_leaves_all_or_nothing(
    stock: Stock, ledger_url: str, stall_at: str
):
    """stall_at "mid-flush": killed after the batch's events were inserted, before the rest of
    the flush; "before-commit": killed with everything written but not committed; "nowhere":
    killed a moment after it started, wherever it happens to be (either outcome is fine)."""
    stock.receive("TEE-M", "5", "1.00")  # one existing position the batch adds to
    batch = big_batch()
    calling, inside = SPAWN.Event(), SPAWN.Event()
    writer = SPAWN.Process(
        target=post_batch_then_stall,
        args=(ledger_url, batch, stall_at, calling, inside),
        daemon=True,
    )
    writer.start()
    try:
        wait_for(calling, writer, "call post_many")
        if stall_at == "nowhere":
            time.sleep(0.25)
        else:
            wait_for(inside, writer, f"stall {stall_at}")
        writer.kill()
        writer.join(WAIT)
    finally:
        if writer.is_alive():
            writer.kill()
            writer.join(WAIT)
    ledger = stock.ledger

    written = count_events(ledger, "batch-%")
    if stall_at == "nowhere":
        assert written in (0, BATCH)
    else:
        assert writer.exitcode == -signal.SIGKILL  # died inside the transaction
        assert written == 0
    assert_balances_match_events(ledger)
    assert_ids_and_outbox_gap_free(ledger)

    retried = ledger.post_many(batch)
    assert all(not isinstance(result, LedgerError) for result in retried), retried[:3]
    assert sum(not result.replayed for result in retried) == BATCH - written
    again = ledger.post_many(batch)
    assert all(result.replayed for result in again)
    assert [event_ids(result) for result in again] == [event_ids(result) for result in retried]

    assert count_events(ledger, "batch-%") == BATCH
    assert_balances_match_events(ledger)
    assert_ids_and_outbox_gap_free(ledger)
    expected_tee_m = 5 + 2 * len([r for r in batch if r["sku"] == "TEE-M"])
    assert stock.on_hand("TEE-M") == str(expected_tee_m)
