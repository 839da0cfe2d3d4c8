"""Cycle counts (L5.3; scenario 3): blind counts against a snapshot, tolerance rules, recounts by
another counter, and one finalisation that posts the count variances with actor and comment —
on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from ledger import Ledger, LedgerError, counts
from tests.integration.test_receiving import assert_rejected
from tests.support import Stock

AT = "2026-10-20T18:00:00Z"
CONTROLLER = {"actor": "ian", "role": "inventory_controller"}  # DC1 only
KEEPER = {"actor": "sam", "role": "store_keeper"}  # DC1 only
SECOND_KEEPER = {"actor": "alice", "role": "store_keeper"}
_keys = itertools.count(1)


@pytest.fixture
def stock(stock: Stock) -> Stock:
    """The standard world with a count_variance reason, DC1's tolerance (2 units and 5 %), and
    stock in zone A: 50 TEE-M in A1, 20 BOLT-8 in A2, 8 TEE-L in A2."""
    stock.ledger.apply(
        [{"type": "reason_code", "code": "count_variance", "description": "Count variance",
          "kinds": ["count_variance"]}],
        actor="setup", role="sysadmin",
    )  # fmt: skip
    tolerance({"actor": "setup", "role": "sysadmin", "max_qty": "2", "max_pct": "5"}, stock)
    stock.receive("TEE-M", "50", "4.00", bin="A1")
    stock.receive("BOLT-8", "20", "0.10", bin="A2")
    stock.receive("TEE-L", "8", "4.00", bin="A2")
    return stock


def key(prefix: str) -> str:
    return f"{prefix}-{next(_keys)}"


def tolerance(request: dict[str, Any], stock: Stock) -> dict[str, Any]:
    return counts.set_tolerance(stock.ledger, {"facility": "DC1", **request})


def start(ledger: Ledger, **fields: Any) -> dict[str, Any]:
    request = {**KEEPER, "idempotency_key": key("start"), "facility": "DC1", "bins": ["A1", "A2"]}
    return counts.start_count(ledger, {**request, **fields})


def record(ledger: Ledger, session: int, *entries: dict[str, Any], **fields: Any) -> dict:
    request = {**KEEPER, "idempotency_key": key("count"), "session": session,
               "counts": list(entries)}  # fmt: skip
    return counts.record_count(ledger, {**request, **fields})


def finalise_request(session: int, **fields: Any) -> dict[str, Any]:
    return {
        **CONTROLLER, "idempotency_key": key("final"), "session": session,
        "comment": "cycle count zone A", "occurred_at": AT, **fields,
    }  # fmt: skip


def line_numbers(sheet: dict[str, Any]) -> dict[str, int]:
    """Line numbers of the sheet by SKU."""
    return {line["sku"]: line["line"] for line in sheet["lines"]}


def statuses(result: dict[str, Any]) -> dict[str, str]:
    lines = result.get("recorded") or result["lines"]
    return {line["sku"]: line["status"] for line in lines}


QUANTITY_WORDS = ("system", "snapshot_qty", "variance", "entries", "qty")


def assert_blind(result: dict[str, Any]) -> None:
    """Nothing a counter is shown gives a system quantity away (or another count)."""
    for line in result.get("recorded", []) + result.get("lines", []):
        assert not set(line) & set(QUANTITY_WORDS), line


# -- scenario 3 ------------------------------------------------------------------------------


def test_scenario_3_cycle_count_discrepancy_beyond_tolerance(stock: Stock):
    """A count finds TEE-M 8 short (beyond tolerance) and BOLT-8 1 short (within): the TEE-M line
    needs a recount by another counter, finalising waits for it, and the final count_variance
    events carry the approver, the comment and both counts, traceable to the session."""
    ledger = stock.ledger
    sheet = start(ledger)
    assert_blind(sheet)
    lines = line_numbers(sheet)
    assert sorted(lines) == ["BOLT-8", "TEE-L", "TEE-M"]

    first = record(
        ledger, sheet["session"],
        {"line": lines["TEE-M"], "qty": "42"}, {"line": lines["BOLT-8"], "qty": "19"},
        {"line": lines["TEE-L"], "qty": "8"},
    )  # fmt: skip
    assert_blind(first)
    assert statuses(first) == {
        "TEE-M": "recount_required", "BOLT-8": "counted", "TEE-L": "counted",
    }  # fmt: skip
    assert first["recounts_required"] == [lines["TEE-M"]]

    finalise = finalise_request(sheet["session"])
    error = assert_rejected(
        ledger, lambda: counts.finalise_count(ledger, finalise), "recount_outstanding", "session"
    )
    assert error.detail["lines"] == [lines["TEE-M"]]
    recount = {"line": lines["TEE-M"], "qty": "43"}
    assert_rejected(
        ledger, lambda: record(ledger, sheet["session"], recount), "same_counter", "actor"
    )
    second = record(ledger, sheet["session"], recount, **SECOND_KEEPER)
    assert statuses(second) == {"TEE-M": "recounted"}

    final = counts.finalise_count(ledger, finalise)
    assert final["status"] == "finalised"
    assert [(e["sku"], e["kind"], e["qty"]) for e in final["events"]] == [
        ("TEE-M", "count_variance", "-7"),
        ("BOLT-8", "count_variance", "-1"),
    ]
    assert (stock.on_hand("TEE-M"), stock.on_hand("BOLT-8"), stock.on_hand("TEE-L")) == (
        "43", "19", "8",
    )  # fmt: skip

    adjustment = ledger.card("TEE-M", "DC1")["events"][-1]
    assert adjustment["kind"] == "count_variance"
    assert (adjustment["actor"], adjustment["role"]) == ("ian", "inventory_controller")
    assert adjustment["reason_code"] == "count_variance"
    assert adjustment["comment"].startswith("cycle count zone A")
    assert "counted 42 by sam" in adjustment["comment"]
    assert "recounted 43 by alice" in adjustment["comment"]
    assert adjustment["source"] == {
        "document_type": "count_session", "document_id": str(sheet["session"]),
        "line": str(lines["TEE-M"]),
    }  # fmt: skip

    review = counts.count_review(ledger, sheet["session"])
    tee = next(line for line in review["lines"] if line["sku"] == "TEE-M")
    assert [(e["attempt"], e["counted"], e["counter"]) for e in tee["entries"]] == [
        (1, "42", "sam"),
        (2, "43", "alice"),
    ]
    assert (tee["snapshot_qty"], tee["variance"]) == ("50", "-7")
    assert tee["variance_event_id"] == adjustment["event_id"]


# -- tolerance -------------------------------------------------------------------------------


def test_lines_within_tolerance_are_adjusted_without_a_recount(stock: Stock):
    ledger = stock.ledger
    sheet = start(ledger, bins=["A1"])
    result = record(ledger, sheet["session"], {"line": 1, "qty": "52"})
    assert statuses(result) == {"TEE-M": "counted"}
    final = counts.finalise_count(ledger, finalise_request(sheet["session"]))
    assert [(e["qty"], e["actor"]) for e in final["events"]] == [("2", "ian")]
    assert stock.on_hand("TEE-M") == "52"


def test_a_count_that_matches_posts_nothing(stock: Stock):
    ledger = stock.ledger
    sheet = start(ledger, bins=["A1"])
    record(ledger, sheet["session"], {"line": 1, "qty": "50"})
    final = counts.finalise_count(ledger, finalise_request(sheet["session"]))
    assert final["events"] == []
    assert final["lines"][0]["variance"] == "0"
    assert final["lines"][0]["variance_event_id"] is None


def test_the_category_rule_overrides_the_facility_rule(stock: Stock):
    """Hardware is counted to the unit: BOLT-8 one short needs a recount, TEE-L one short not."""
    tolerance({**CONTROLLER, "category": "hardware", "max_qty": "0"}, stock)
    sheet = start(stock.ledger, bins=["A2"])
    lines = line_numbers(sheet)
    result = record(
        stock.ledger, sheet["session"],
        {"line": lines["BOLT-8"], "qty": "19"}, {"line": lines["TEE-L"], "qty": "7.8"},
    )  # fmt: skip
    assert statuses(result) == {"BOLT-8": "recount_required", "TEE-L": "counted"}


def test_without_a_rule_every_variance_needs_a_recount(stock: Stock):
    """ST1 has no tolerance rule; alice may count there (organisation-wide grant)."""
    ledger = stock.ledger
    stock.receive("RICE-KG", "100", "1.20", facility="ST1")
    sheet = start(ledger, facility="ST1", bins=None, **SECOND_KEEPER)
    result = record(ledger, sheet["session"], {"line": 1, "qty": "99.9"}, **SECOND_KEEPER)
    assert statuses(result) == {"RICE-KG": "recount_required"}


def test_tolerances_are_set_by_sysadmin_or_inventory_controller(stock: Stock):
    ledger = stock.ledger
    same = tolerance({"actor": "ops", "role": "sysadmin", "max_qty": "2", "max_pct": "5"}, stock)
    assert same["status"] == "unchanged"
    changed = tolerance({**CONTROLLER, "max_pct": "3"}, stock)
    assert (changed["status"], changed["max_qty"], changed["max_pct"]) == ("updated", None, "3")
    assert_rejected(
        ledger,
        lambda: tolerance({**KEEPER, "max_qty": "9"}, stock),
        "forbidden",
        "role",
        refused="count.tolerance",
    )
    assert_rejected(
        ledger,
        lambda: tolerance({**CONTROLLER}, stock),
        "validation_error",
        "max_qty",
    )


# -- snapshot and movements --------------------------------------------------------------------


def test_movements_after_the_snapshot_are_accounted_for(stock: Stock):
    """The variance is the final count against the system quantity when that count was
    recorded: 5 issued between snapshot and count are not a variance, and 3 issued after the
    count are not overwritten."""
    ledger = stock.ledger
    sheet = start(ledger, bins=["A1"])
    stock.issue("TEE-M", "5", bin="A1")
    record(ledger, sheet["session"], {"line": 1, "qty": "44"})
    stock.issue("TEE-M", "3", bin="A1")
    final = counts.finalise_count(ledger, finalise_request(sheet["session"]))
    assert [e["qty"] for e in final["events"]] == ["-1"]
    assert stock.on_hand("TEE-M") == "41"
    line = final["lines"][0]
    assert (line["snapshot_qty"], line["entries"][0]["system"]) == ("50", "45")


def test_stock_found_in_scope_is_counted_on_a_new_line(stock: Stock):
    ledger = stock.ledger
    sheet = start(ledger, bins=["A1"])
    found = {"bin": "A1", "sku": "TEE-L", "qty": "1"}
    result = record(ledger, sheet["session"], {"line": 1, "qty": "50"}, found)
    assert [(line["line"], line["sku"]) for line in result["recorded"]] == [
        (1, "TEE-M"),
        (2, "TEE-L"),
    ]
    assert statuses(result)["TEE-L"] == "recount_required"
    record(ledger, sheet["session"], found, **SECOND_KEEPER)
    final = counts.finalise_count(ledger, finalise_request(sheet["session"]))
    assert [(e["sku"], e["bin"], e["qty"]) for e in final["events"]] == [("TEE-L", "A1", "1")]
    narrow = start(ledger, bins=["A1"])["session"]
    assert_rejected(
        ledger,
        lambda: record(ledger, narrow, {"bin": "A2", "sku": "TEE-L", "qty": "1"}),
        "validation_error",
        "counts[0].bin",
    )


# -- rejections --------------------------------------------------------------------------------


def test_recording_a_count_twice_is_refused(stock: Stock):
    ledger = stock.ledger
    sheet = start(ledger, bins=["A1"])
    record(ledger, sheet["session"], {"line": 1, "qty": "50"})
    error = assert_rejected(
        ledger,
        lambda: record(ledger, sheet["session"], {"line": 1, "qty": "49"}, **SECOND_KEEPER),
        "already_counted",
        "counts[0].line",
    )
    assert error.status == 409
    assert_rejected(
        ledger,
        lambda: record(ledger, sheet["session"], {"line": 9, "qty": "1"}),
        "unknown_count_line",
        "counts[0].line",
    )


def test_finalising_with_an_outstanding_recount_is_refused(stock: Stock):
    ledger = stock.ledger
    sheet = start(ledger, bins=["A1"])
    record(ledger, sheet["session"], {"line": 1, "qty": "40"})
    error = assert_rejected(
        ledger,
        lambda: counts.finalise_count(ledger, finalise_request(sheet["session"])),
        "recount_outstanding",
        "session",
    )
    assert (error.status, error.detail) == (409, {"lines": [1]})
    assert stock.on_hand("TEE-M") == "50"


def test_finalising_needs_every_line_counted(stock: Stock):
    ledger = stock.ledger
    sheet = start(ledger)
    record(ledger, sheet["session"], {"line": 1, "qty": "50"})
    assert_rejected(
        ledger,
        lambda: counts.finalise_count(ledger, finalise_request(sheet["session"])),
        "count_incomplete",
        "session",
    )


def test_a_finalised_session_takes_no_more_counts(stock: Stock):
    ledger = stock.ledger
    sheet = start(ledger, bins=["A1"])
    record(ledger, sheet["session"], {"line": 1, "qty": "50"})
    counts.finalise_count(ledger, finalise_request(sheet["session"]))
    assert_rejected(
        ledger,
        lambda: record(ledger, sheet["session"], {"bin": "A1", "sku": "TEE-L", "qty": "1"}),
        "invalid_transition",
        "session",
    )


def test_a_store_keeper_cannot_finalise(stock: Stock):
    ledger = stock.ledger
    sheet = start(ledger, bins=["A1"])
    record(ledger, sheet["session"], {"line": 1, "qty": "50"})
    assert_rejected(
        ledger,
        lambda: counts.finalise_count(ledger, finalise_request(sheet["session"], **KEEPER)),
        "forbidden",
        "role",
        refused="count.finalise",
    )


def test_with_no_self_approval_a_counter_cannot_approve_the_count(stock: Stock):
    ledger = stock.ledger
    ledger.apply(
        [{"type": "approval_policy", "facility": "DC1", "no_self_approval": True}],
        actor="setup", role="sysadmin",
    )  # fmt: skip
    sheet = start(ledger, bins=["A1"], **CONTROLLER)
    record(ledger, sheet["session"], {"line": 1, "qty": "49"}, **CONTROLLER)
    assert_rejected(
        ledger,
        lambda: counts.finalise_count(ledger, finalise_request(sheet["session"])),
        "self_approval",
        "actor",
        refused="count.finalise",
    )
    other = finalise_request(sheet["session"], actor="alice")
    assert counts.finalise_count(ledger, other)["finalised_by"] == "alice"


def test_counting_needs_a_grant_at_the_facility(stock: Stock):
    """sam keeps the store at DC1 only; ivy's DC1 grant has expired."""
    ledger = stock.ledger
    assert_rejected(
        ledger,
        lambda: start(ledger, facility="ST1", bins=None),
        "forbidden",
        "actor",
        refused="count.start",
    )
    sheet = start(ledger, bins=["A1"])
    ivy = {"actor": "ivy", "role": "inventory_controller"}
    error = assert_rejected(
        ledger,
        lambda: record(ledger, sheet["session"], {"line": 1, "qty": "50"}, **ivy),
        "forbidden",
        "actor",
        refused="count.record",
    )
    assert "expired" in error.message


def test_a_finalisation_needs_a_comment(stock: Stock):
    ledger = stock.ledger
    sheet = start(ledger, bins=["A1"])
    record(ledger, sheet["session"], {"line": 1, "qty": "49"})
    assert_rejected(
        ledger,
        lambda: counts.finalise_count(ledger, finalise_request(sheet["session"], comment=None)),
        "validation_error",
        "comment",
    )


# -- idempotency and the record ----------------------------------------------------------------


def test_a_retried_count_is_answered_and_a_reused_key_is_a_conflict(stock: Stock):
    ledger = stock.ledger
    sheet = start(ledger, bins=["A1"])
    request = {**KEEPER, "idempotency_key": "count-a1", "session": sheet["session"],
               "counts": [{"line": 1, "qty": "50"}]}  # fmt: skip
    first = counts.record_count(ledger, request)
    assert counts.record_count(ledger, request) == {**first, "replayed": True}
    assert_rejected(
        ledger,
        lambda: counts.record_count(ledger, {**request, "counts": [{"line": 1, "qty": "51"}]}),
        "idempotency_conflict",
    )
    finalise = finalise_request(sheet["session"])
    done = counts.finalise_count(ledger, finalise)
    assert counts.finalise_count(ledger, finalise) == {**done, "replayed": True}
    assert stock.on_hand("TEE-M") == "50"


def test_counts_stay_on_the_record(stock: Stock):
    """Count entries are append-only in the database itself."""
    ledger = stock.ledger
    sheet = start(ledger, bins=["A1"])
    record(ledger, sheet["session"], {"line": 1, "qty": "50"})
    with pytest.raises(Exception, match="append-only"):
        ledger.store.in_write(lambda tx: tx.run("update count_entry set counted_qty_e6 = 0"))
    with pytest.raises(Exception, match="append-only"):
        ledger.store.in_write(lambda tx: tx.run("delete from count_entry"))
    sheet_now = counts.count_sheet(ledger, sheet["session"])
    assert_blind(sheet_now)
    assert sheet_now["lines"][0]["counted_by"] == ["sam"]


def test_a_bad_count_names_its_field(stock: Stock):
    ledger = stock.ledger
    sheet = start(ledger, bins=["A1"])
    for entry, field in [
        ({"line": 1, "qty": "-1"}, "counts[0].qty"),
        ({"line": 1}, "counts[0].qty"),
        ({"qty": "1"}, "counts[0].bin"),
        ({"line": 1, "qty": "1", "bucket": "in_transit"}, "counts[0].bucket"),
        ({"line": 1, "qty": 1.5}, "counts[0].qty"),
        ({"line": 1, "qty": "1", "sku": "TEE-L"}, "counts[0].sku"),
    ]:
        with pytest.raises(LedgerError) as caught:
            record(ledger, sheet["session"], entry)
        assert (caught.value.code, caught.value.field) == ("validation_error", field)
