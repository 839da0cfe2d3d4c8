"""Receiving, QC and recall (L5.1, L5.2; scenarios 1 and 8): expected receipts received in parts,
over and under, quarantine released only by a QC decision with a reason, and recall holds that
take a lot out of availability until released — on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import queue
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger, LedgerError, receiving
from tests.support import Stock, dump_tables

AT = "2026-10-15T10:00:00Z"
LATER = "2026-10-16T09:00:00Z"
CONTROLLER = {"actor": "ian", "role": "inventory_controller"}  # DC1 only
KEEPER = {"actor": "sam", "role": "store_keeper"}  # DC1 only
REASONS = [
    {"type": "reason_code", "code": "qc_hold", "description": "Held for QC",
     "kinds": ["reclassification"]},
    {"type": "reason_code", "code": "recall_hold", "description": "Recall hold",
     "kinds": ["reclassification"]},
    {"type": "reason_code", "code": "recall_release", "description": "Recall released",
     "kinds": ["reclassification"]},
]  # fmt: skip
_keys = itertools.count(1)


@pytest.fixture
def stock(stock: Stock) -> Stock:
    """The standard world with the QC-hold and recall reason codes configured."""
    stock.ledger.apply(REASONS, actor="setup", role="sysadmin")
    return stock


def key(prefix: str) -> str:
    return f"{prefix}-{next(_keys)}"


def expect(
    ledger: Ledger, lines: list[dict[str, Any]], reference: str = "ASN-1001", **fields: Any
) -> dict[str, Any]:
    request = {
        **CONTROLLER, "idempotency_key": key("asn"), "facility": "DC1", "reference": reference,
        "vendor": "ACME", "lines": lines, **fields,
    }  # fmt: skip
    return receiving.register_receipt(ledger, request)


def goods(lines: list[dict[str, Any]], reference: str = "ASN-1001", **fields: Any) -> dict:
    """A goods receipt request against `reference`, by the store keeper."""
    return {
        **KEEPER, "idempotency_key": key("grn"), "facility": "DC1", "receipt": reference,
        "occurred_at": AT, "lines": lines, **fields,
    }  # fmt: skip


def qc(**fields: Any) -> dict[str, Any]:
    """A QC release request, by the inventory controller."""
    return {
        **CONTROLLER, "idempotency_key": key("qc"), "facility": "DC1", "sku": "TEE-M",
        "reason_code": "qc_release", "occurred_at": AT, **fields,
    }  # fmt: skip


def tee_shirts(qty: str = "60", **fields: Any) -> list[dict[str, Any]]:
    return [{"sku": "TEE-M", "qty": qty, "unit_cost": "4.50", "currency": "EUR", **fields}]


def lines_of(result: dict[str, Any]) -> dict[int, dict[str, str]]:
    return {line["line"]: line for line in result["lines"]}


def facility_totals(stock: Stock, sku: str, facility: str = "DC1") -> dict[str, Any]:
    for entry in stock.ledger.balance(sku, facility)["facilities"]:
        return entry
    return {}


def assert_rejected(
    ledger: Ledger,
    call: Callable[[], Any],
    code: str,
    field: str | None = None,
    *,
    refused: str | None = None,
) -> LedgerError:
    """`call` is rejected with `code` (naming `field`) and the ledger is unchanged, row for row —
    but for a refusal by access control, which the audit trail keeps as one 'refused' row of the
    workflow action `refused` (L8.4)."""
    before = dump_tables(ledger)
    with pytest.raises(LedgerError) as caught:
        call()
    error = caught.value
    assert error.code == code, error.message
    if field is not None:
        assert error.field == field, error.message
        assert error.message.startswith(f"{field}:"), error.message
    after = dump_tables(ledger)
    if refused is not None:
        earlier = before.pop("audit_log")
        added = [row for row in after.pop("audit_log") if row not in earlier]
        assert [(row[4], row[6]) for row in added] == [(refused, "refused")]
        for tables in (before, after):  # PostgreSQL's audit sequence moves with the audit row
            tables["ledger_counter"] = [r for r in tables["ledger_counter"] if r[0] != "audit_log"]
    assert after == before
    return error


def audit_actions(ledger: Ledger) -> list[tuple[str, str, str, str]]:
    with ledger.store.read() as tx:
        rows = tx.all("select actor, role, action, outcome from audit_log order by audit_id")
    return [tuple(row) for row in rows if row[2].split(".")[0] in ("receiving", "qc", "recall")]


# -- scenario 1 ------------------------------------------------------------------------------


def test_scenario_1_partial_receipt_with_damage_and_qc(stock: Stock):
    """A partial shipment arrives with one damaged carton; QC quarantines the damaged items and
    releases the rest: available equals the released quantity, the damaged stock is isolated,
    and the stock card and audit trail record every step with actor, reason and source."""
    ledger = stock.ledger
    expect(ledger, tee_shirts("60"), qc_required=True)

    # 40 of 60 arrive: three good cartons to the dock, the crushed carton straight to QUAR.
    received = receiving.receive(
        ledger,
        goods([{"line": 1, "qty": "30", "bin": "RECV"}, {"line": 1, "qty": "10", "bin": "QUAR"}]),
    )
    assert received["status"] == "partially_received"
    assert lines_of(received)[1] == {
        "line": 1, "sku": "TEE-M", "lot": None, "expected": "60", "received": "40",
        "outstanding": "20", "over": "0", "short": "0",
    }  # fmt: skip
    assert facility_totals(stock, "TEE-M") | {"positions": None} == {
        "facility": "DC1", "positions": None, "on_hand": "40", "owned": "40", "quarantine": "40",
    }  # fmt: skip

    receiving.release_from_quarantine(ledger, qc(bin="RECV", qty="30", receipt="ASN-1001"))
    receiving.release_from_quarantine(
        ledger,
        qc(bin="QUAR", qty="10", to_bucket="damaged", reason_code="damage", comment="crushed"),
    )

    totals = facility_totals(stock, "TEE-M")
    assert (totals["available"], totals["damaged"], totals["on_hand"]) == ("30", "10", "40")
    assert "quarantine" not in totals
    positions = {(p["bin"], p["bucket"]): p["qty"] for p in totals["positions"]}
    assert positions == {("RECV", "available"): "30", ("QUAR", "damaged"): "10"}
    # Isolated: only the released 30 can leave the dock.
    error = assert_rejected(
        ledger, lambda: stock.issue("TEE-M", "31", bin="RECV"), "insufficient_stock", "qty"
    )
    assert error.detail["available"] == "30"

    card = ledger.card("TEE-M", "DC1")["events"]
    assert [(e["kind"], e["bin"], e["bucket"], e["qty"], e["reason_code"]) for e in card] == [
        ("receipt", "RECV", "quarantine", "30", None),
        ("receipt", "QUAR", "quarantine", "10", None),
        ("reclassification", "RECV", "quarantine", "-30", "qc_release"),
        ("reclassification", "RECV", "available", "30", "qc_release"),
        ("reclassification", "QUAR", "quarantine", "-10", "damage"),
        ("reclassification", "QUAR", "damaged", "10", "damage"),
    ]
    assert {(e["actor"], e["role"]) for e in card[:2]} == {("sam", "store_keeper")}
    assert {(e["actor"], e["role"]) for e in card[2:]} == {("ian", "inventory_controller")}
    assert {(e["source"]["document_type"], e["source"]["document_id"]) for e in card[:2]} == {
        ("asn", "ASN-1001")
    }
    assert {e["source"]["document_type"] for e in card[2:]} == {"qc_decision"}
    assert card[-1]["comment"] == "crushed"
    assert audit_actions(ledger) == [
        ("ian", "inventory_controller", "receiving.expect", "applied"),
        ("sam", "store_keeper", "receiving.receive", "applied"),
        ("ian", "inventory_controller", "qc.release", "applied"),
        ("ian", "inventory_controller", "qc.release", "applied"),
    ]


# -- partial, over and under receipts --------------------------------------------------------


def test_partial_receipts_add_up_until_the_receipt_is_received(stock: Stock):
    ledger = stock.ledger
    bolts = {"sku": "BOLT-8", "qty": "100", "unit_cost": "0.10", "currency": "EUR"}
    registered = expect(ledger, [*tee_shirts("60"), bolts])
    assert registered["status"] == "open"
    first = receiving.receive(ledger, goods([{"line": 1, "qty": "60"}, {"line": 2, "qty": "40"}]))
    assert first["status"] == "partially_received"
    assert lines_of(first)[2]["outstanding"] == "60"
    second = receiving.receive(ledger, goods([{"line": 2, "qty": "60"}], document_id="GRN-2"))
    assert second["status"] == "received"
    assert [(n, line["received"], line["outstanding"]) for n, line in lines_of(second).items()] == [
        (1, "60", "0"),
        (2, "100", "0"),
    ]
    # Without QC the receipt lands available in the receiving bin, at the expected unit cost.
    assert facility_totals(stock, "BOLT-8")["available"] == "100"
    assert {e["unit_cost"] for e in first["events"] if e["sku"] == "BOLT-8"} == {"0.1"}
    shown = receiving.show_receipt(ledger, "DC1", "ASN-1001")
    assert [g["document_id"] for g in shown["goods_receipts"]] == [None, "GRN-2"]
    assert [line["qty"] for line in shown["goods_receipts"][0]["lines"]] == ["60", "40"]


def test_an_over_receipt_within_tolerance_is_recorded_as_over(stock: Stock):
    ledger = stock.ledger
    expect(ledger, tee_shirts("100"), over_tolerance_pct="10")
    line = {"line": 1, "qty": "106", "unit_cost": "4.40", "currency": "EUR"}
    result = receiving.receive(ledger, goods([line]))
    assert result["status"] == "received"
    assert (
        lines_of(result)[1].items() >= {"received": "106", "over": "6", "outstanding": "0"}.items()
    )
    # The line's own cost wins over the expected one.
    assert result["events"][0]["unit_cost"] == "4.4"
    assert stock.on_hand("TEE-M") == "106"


def test_an_over_receipt_beyond_tolerance_is_refused_and_changes_nothing(stock: Stock):
    ledger = stock.ledger
    expect(ledger, tee_shirts("100"), over_tolerance_pct="10")
    receiving.receive(ledger, goods([{"line": 1, "qty": "100"}]))
    error = assert_rejected(
        ledger,
        lambda: receiving.receive(ledger, goods([{"line": 1, "qty": "11"}])),
        "over_receipt",
        "lines[0].qty",
    )
    assert error.detail == {"expected": "100", "received": "111", "allowed": "110"}
    # Without a tolerance, any quantity beyond the expected one is refused.
    expect(ledger, tee_shirts("5"), reference="ASN-1002")
    assert_rejected(
        ledger,
        lambda: receiving.receive(ledger, goods([{"line": 1, "qty": "6"}], reference="ASN-1002")),
        "over_receipt",
        "lines[0].qty",
    )


def test_an_under_receipt_is_closed_short_with_a_reason(stock: Stock):
    ledger = stock.ledger
    expect(ledger, tee_shirts("60"))
    receiving.receive(ledger, goods([{"line": 1, "qty": "45"}]))
    close = {**KEEPER, "idempotency_key": key("close"), "facility": "DC1", "receipt": "ASN-1001"}
    assert_rejected(
        ledger, lambda: receiving.close_receipt(ledger, close), "reason_required", "reason"
    )
    closed = receiving.close_receipt(ledger, {**close, "reason": "supplier_short"})
    assert (closed["status"], closed["close_reason"]) == ("closed_short", "supplier_short")
    assert (
        lines_of(closed)[1].items() >= {"received": "45", "short": "15", "outstanding": "0"}.items()
    )
    # A closed receipt takes nothing more.
    assert_rejected(
        ledger,
        lambda: receiving.receive(ledger, goods([{"line": 1, "qty": "15"}])),
        "invalid_transition",
        "receipt",
    )


def test_a_fully_received_receipt_closes_without_a_reason(stock: Stock):
    ledger = stock.ledger
    expect(ledger, tee_shirts("10"))
    receiving.receive(ledger, goods([{"line": 1, "qty": "10"}]))
    request = {**KEEPER, "idempotency_key": key("close"), "facility": "DC1", "receipt": "ASN-1001"}
    assert receiving.close_receipt(ledger, request)["status"] == "closed"


def test_receipts_land_only_in_receiving_or_quarantine(stock: Stock):
    ledger = stock.ledger
    expect(ledger, tee_shirts("10"), qc_required=True)
    error = assert_rejected(
        ledger,
        lambda: receiving.receive(ledger, goods([{"line": 1, "qty": "5", "bin": "A1"}])),
        "validation_error",
        "lines[0].bin",
    )
    assert "receiving or quarantine" in error.message
    assert_rejected(
        ledger,
        lambda: receiving.receive(ledger, goods([{"line": 1, "qty": "5", "bucket": "available"}])),
        "validation_error",
        "lines[0].bucket",
    )
    assert_rejected(
        ledger,
        lambda: receiving.receive(ledger, goods([{"line": 2, "qty": "5"}])),
        "unknown_receipt_line",
        "lines[0].line",
    )


def test_a_lot_tracked_receipt_needs_a_lot(stock: Stock):
    ledger = stock.ledger
    expect(ledger, [{"sku": "MILK-1L", "qty": "12", "unit_cost": "0.80", "currency": "EUR"}])
    assert_rejected(
        ledger,
        lambda: receiving.receive(ledger, goods([{"line": 1, "qty": "12"}])),
        "validation_error",
        "lines[0].lot",
    )
    result = receiving.receive(ledger, goods([{"line": 1, "qty": "12", "lot": "L-9"}]))
    assert result["events"][0]["lot"] == "L-9"


# -- QC: reason and role ----------------------------------------------------------------------


@pytest.fixture
def quarantined(stock: Stock) -> Stock:
    """30 TEE-M received into quarantine at DC1's dock, waiting for QC."""
    expect(stock.ledger, tee_shirts("30"), qc_required=True)
    receiving.receive(stock.ledger, goods([{"line": 1, "qty": "30"}]))
    return stock


def test_qc_release_needs_a_reason(quarantined: Stock):
    ledger = quarantined.ledger
    assert_rejected(
        ledger,
        lambda: receiving.release_from_quarantine(ledger, qc(qty="5", reason_code=None)),
        "reason_required",
        "reason_code",
    )
    assert_rejected(
        ledger,
        lambda: receiving.release_from_quarantine(ledger, qc(qty="5", reason_code="shrink")),
        "reason_not_allowed",
        "reason_code",
    )


def test_a_store_keeper_cannot_release_from_qc(quarantined: Stock):
    ledger = quarantined.ledger
    error = assert_rejected(
        ledger,
        lambda: receiving.release_from_quarantine(ledger, qc(qty="5", **KEEPER)),
        "forbidden",
        "role",
        refused="qc.release",
    )
    assert error.status == 403


def test_a_facility_not_granted_is_refused(stock: Stock):
    """sam keeps the store at DC1 only."""
    ledger = stock.ledger
    assert_rejected(
        ledger,
        lambda: expect(ledger, tee_shirts("10"), facility="ST1", **KEEPER),
        "forbidden",
        "actor",
        refused="receiving.expect",
    )


def test_an_expired_grant_is_refused(quarantined: Stock):
    """ivy's inventory_controller grant at DC1 ended on 2026-01-01."""
    ledger = quarantined.ledger
    error = assert_rejected(
        ledger,
        lambda: receiving.release_from_quarantine(
            ledger, qc(qty="5", actor="ivy", role="inventory_controller")
        ),
        "forbidden",
        "actor",
        refused="qc.release",
    )
    assert "expired" in error.message


def test_qc_cannot_release_more_than_is_quarantined(quarantined: Stock):
    ledger = quarantined.ledger
    assert_rejected(
        ledger,
        lambda: receiving.release_from_quarantine(ledger, qc(qty="31")),
        "insufficient_stock",
        "qty",
    )


# -- idempotency -----------------------------------------------------------------------------


def test_a_retried_receipt_is_answered_and_a_reused_key_is_a_conflict(stock: Stock):
    ledger = stock.ledger
    expect(ledger, tee_shirts("60"))
    request = goods([{"line": 1, "qty": "20"}])
    first = receiving.receive(ledger, request)
    before = dump_tables(ledger)
    again = receiving.receive(ledger, json.loads(json.dumps(request)))
    assert dump_tables(ledger) == before
    assert again["replayed"] is True
    assert {**again, "replayed": False} == first
    assert stock.on_hand("TEE-M") == "20"
    changed = {**request, "lines": [{"line": 1, "qty": "21"}]}
    error = assert_rejected(
        ledger, lambda: receiving.receive(ledger, changed), "idempotency_conflict"
    )
    assert error.status == 409


def test_an_expected_receipt_is_registered_once(stock: Stock):
    ledger = stock.ledger
    expect(ledger, tee_shirts("60"))
    assert_rejected(ledger, lambda: expect(ledger, tee_shirts("50")), "receipt_exists", "reference")


# -- scenario 8 ------------------------------------------------------------------------------


def milk(stock: Stock, lot: str, qty: str, bin_: str) -> None:
    stock.receive("MILK-1L", qty, "0.80", bin=bin_, lot=lot, lot_expires_on="2026-10-25")


def recall_request(**fields: Any) -> dict[str, Any]:
    return {
        **CONTROLLER, "idempotency_key": key("recall"), "facility": "DC1", "sku": "MILK-1L",
        "lot": "L-17", "policy_reference": "FSA-2026-117", "occurred_at": LATER,
        "comment": "supplier stop-sale", **fields,
    }  # fmt: skip


def test_scenario_8_recall_quarantine_and_release(stock: Stock):
    """A lot is recalled: it is quarantined in every bin of the facility and no longer available
    (not even to FEFO issues), QC cannot release it, and the recall's release returns exactly what
    it held; the stock card records both with the policy reference."""
    ledger = stock.ledger
    milk(stock, "L-17", "7", "A1")
    milk(stock, "L-17", "5", "A2")
    milk(stock, "L-18", "10", "A1")
    # 2 of L-17 are already on a QC hold: not the recall's to hold or to release.
    stock.post(
        kind="reclassification", sku="MILK-1L", facility="DC1", bin="A2", lot="L-17", qty="2",
        to_bucket="quarantine", reason_code="qc_hold",
    )  # fmt: skip

    held = receiving.recall(ledger, recall_request())
    assert held["status"] == "active"
    assert [(h["bin"], h["owner"], h["qty"]) for h in held["held"]] == [
        ("A1", "RET", "7"),
        ("A2", "RET", "3"),
    ]
    totals = facility_totals(stock, "MILK-1L")
    assert (totals["available"], totals["quarantine"]) == ("10", "12")
    lots = {(p["lot"], p["bucket"]) for p in totals["positions"]}
    assert ("L-17", "available") not in lots
    # Availability excludes the lot: an issue by FEFO finds only L-18, an issue of L-17 nothing.
    assert_rejected(ledger, lambda: stock.issue("MILK-1L", "11"), "insufficient_stock", "qty")
    assert_rejected(
        ledger, lambda: stock.issue("MILK-1L", "1", lot="L-17"), "insufficient_stock", "qty"
    )
    # QC may release the 2 it held itself, not the recalled units.
    error = assert_rejected(
        ledger,
        lambda: receiving.release_from_quarantine(
            ledger, qc(sku="MILK-1L", bin="A2", lot="L-17", qty="3")
        ),
        "recall_hold",
        "qty",
    )
    assert error.status == 409

    released = receiving.release_recall(
        ledger,
        {**CONTROLLER, "idempotency_key": key("release"), "recall": held["recall_id"],
         "occurred_at": "2026-10-18T09:00:00Z", "comment": "cleared by lab"},
    )  # fmt: skip
    assert released["status"] == "released"
    totals = facility_totals(stock, "MILK-1L")
    assert (totals["available"], totals["quarantine"]) == ("20", "2")

    card = [e for e in ledger.card("MILK-1L", "DC1")["events"] if e["reason_code"]]
    recall_events = [e for e in card if e["reason_code"].startswith("recall")]
    assert [(e["reason_code"], e["bin"], e["bucket"], e["qty"]) for e in recall_events] == [
        ("recall_hold", "A1", "available", "-7"),
        ("recall_hold", "A1", "quarantine", "7"),
        ("recall_hold", "A2", "available", "-3"),
        ("recall_hold", "A2", "quarantine", "3"),
        ("recall_release", "A1", "quarantine", "-7"),
        ("recall_release", "A1", "available", "7"),
        ("recall_release", "A2", "quarantine", "-3"),
        ("recall_release", "A2", "available", "3"),
    ]
    for event in recall_events:
        assert event["source"] == {
            "document_type": "recall", "document_id": "FSA-2026-117",
            "line": str(held["recall_id"]),
        }  # fmt: skip
        assert "FSA-2026-117" in event["comment"]
        assert (event["actor"], event["lot"]) == ("ian", "L-17")
    assert recall_events[0]["comment"].endswith("supplier stop-sale")
    assert recall_events[-1]["comment"].endswith("cleared by lab")

    again = {**CONTROLLER, "idempotency_key": key("release"), "recall": held["recall_id"],
             "occurred_at": "2026-10-18T09:00:00Z"}  # fmt: skip
    assert_rejected(
        ledger, lambda: receiving.release_recall(ledger, again), "invalid_transition", "recall"
    )
    shown = receiving.show_recall(ledger, held["recall_id"])
    assert shown["status"] == "released"
    assert all(line["release_event_id"] for line in shown["held"])
    assert [a[2] for a in audit_actions(ledger)] == ["recall.hold", "recall.release"]


def test_a_recall_of_a_lot_not_held_is_refused(stock: Stock):
    ledger = stock.ledger
    milk(stock, "L-17", "5", "A1")
    stock.issue("MILK-1L", "5", lot="L-17")
    assert_rejected(
        ledger, lambda: receiving.recall(ledger, recall_request()), "lot_not_held", "lot"
    )
    assert_rejected(
        ledger, lambda: receiving.recall(ledger, recall_request(lot="L-99")), "unknown_lot", "lot"
    )
    assert_rejected(
        ledger,
        lambda: receiving.recall(ledger, recall_request(policy_reference=None)),
        "validation_error",
        "policy_reference",
    )


def test_a_store_keeper_cannot_recall(stock: Stock):
    ledger = stock.ledger
    milk(stock, "L-17", "5", "A1")
    assert_rejected(
        ledger,
        lambda: receiving.recall(ledger, recall_request(**KEEPER)),
        "forbidden",
        "role",
        refused="recall.hold",
    )


def test_a_retried_recall_is_answered_once(stock: Stock):
    ledger = stock.ledger
    milk(stock, "L-17", "5", "A1")
    request = recall_request()
    first = receiving.recall(ledger, request)
    assert receiving.recall(ledger, request) == {**first, "replayed": True}
    assert facility_totals(stock, "MILK-1L")["quarantine"] == "5"
    assert_rejected(
        ledger,
        lambda: receiving.recall(ledger, {**request, "policy_reference": "FSA-2026-118"}),
        "idempotency_conflict",
    )


# -- concurrency and the command line --------------------------------------------------------

SPAWN = multiprocessing.get_context("spawn")
WAIT = 60.0


def receive_in_process(url: str, request: dict[str, Any], start: Any, results: Any) -> None:
    """A worker process: wait for the other, then receive; report the outcome."""
    try:
        with Ledger.open(url) as ledger:
            start.wait(WAIT)
            try:
                receiving.receive(ledger, request)
                results.put("received")
            except LedgerError as error:
                results.put(error.code)
    except Exception as error:
        results.put(f"crashed: {error!r}")


def test_concurrent_receipts_never_exceed_the_tolerance(stock: Stock):
    """Two docks receive 6 each against 10 expected at the same moment: one is refused."""
    ledger = stock.ledger
    expect(ledger, tee_shirts("10"))
    start, results = SPAWN.Barrier(2), SPAWN.Queue()
    workers = [
        SPAWN.Process(
            target=receive_in_process,
            args=(ledger.store.url, goods([{"line": 1, "qty": "6"}]), start, results),
            daemon=True,
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        outcomes = sorted(results.get(timeout=WAIT) for _ in workers)
    except queue.Empty:
        pytest.fail("a receiving worker hung")
    finally:
        for worker in workers:
            worker.join(WAIT)
            if worker.is_alive():
                worker.kill()
    assert outcomes == ["over_receipt", "received"]
    assert stock.on_hand("TEE-M") == "6"


ROOT = Path(__file__).resolve().parents[2]


def stockcard(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stockcard.cli", "ledger", "--db", url, *args],
        cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_command_line_receives_and_reports(stock: Stock, tmp_path: Path):
    url = stock.ledger.store.url
    asn = tmp_path / "asn.json"
    asn.write_text(json.dumps({**CONTROLLER, "idempotency_key": "asn-cli", "facility": "DC1",
                               "reference": "ASN-7", "lines": tee_shirts("10")}))  # fmt: skip
    done = stockcard(url, "receiving", "expect", str(asn))
    assert done.returncode == 0, done.stdout + done.stderr
    # Numbers in JSON are read as exact decimals.
    request = goods([{"line": 1, "qty": 4}], reference="ASN-7")
    done = stockcard(url, "receiving", "receive", "-", stdin=json.dumps(request))
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["status"] == "partially_received"
    shown = json.loads(stockcard(url, "receiving", "show", "--facility", "DC1",
                                 "--reference", "ASN-7").stdout)  # fmt: skip
    assert lines_of(shown)[1]["outstanding"] == "6"
    over = goods([{"line": 1, "qty": "7"}], reference="ASN-7")
    done = stockcard(url, "receiving", "receive", "-", stdin=json.dumps(over))
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["code"] == "over_receipt"
