"""Bad input (L2.4, L2.7): every rejected request gets a stable code naming the field, and the
ledger is left exactly as it was, row for row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ledger import Ledger, LedgerError
from ledger.api import PostingResult
from tests.support import Stock, dump_tables

RECEIPT: dict[str, Any] = {
    "idempotency_key": "grn-1001-1",
    "kind": "receipt",
    "sku": "TEE-M",
    "facility": "DC1",
    "qty": "10",
    "unit_cost": "4.50",
    "currency": "EUR",
    "actor": "alice",
    "role": "inventory_controller",
    "occurred_at": "2026-10-15T10:00:00Z",
    "source": {"document_type": "GRN", "document_id": "GRN-1001"},
}


def receipt(**changes: Any) -> dict[str, Any]:
    """A complete, valid receipt with some fields changed (None removes a field)."""
    request = {**RECEIPT, "source": dict(RECEIPT["source"]), **changes}
    return {name: value for name, value in request.items() if value is not None}


def assert_rejected(
    ledger: Ledger, request: dict[str, Any], code: str, field: str, *, audited: bool = False
) -> LedgerError:
    """Post `request`, expect the rejection `code` naming `field`, and nothing written — but for
    a refusal by access control, which the audit trail keeps as one 'refused' row (L8.4)."""
    before = dump_tables(ledger)
    with pytest.raises(LedgerError) as caught:
        ledger.post(request)
    error = caught.value
    assert error.code == code, error.message
    assert error.field == field, error.message
    assert field in error.message
    after = dump_tables(ledger)
    if audited:
        earlier = before.pop("audit_log")
        added = [row for row in after.pop("audit_log") if row not in earlier]
        assert [(row[4], row[6]) for row in added] == [("post", "refused")]
        for tables in (before, after):  # PostgreSQL's audit sequence moves with the audit row
            tables["ledger_counter"] = [r for r in tables["ledger_counter"] if r[0] != "audit_log"]
    assert after == before
    return error


def test_the_valid_receipt_is_accepted(stock: Stock):
    """The baseline the bad requests below are variations of."""
    stock.ledger.post(receipt())
    assert stock.on_hand("TEE-M") == "10"


# -- missing and malformed fields --------------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    [
        "idempotency_key", "kind", "sku", "facility", "qty", "actor", "role", "occurred_at",
        "source", "source.document_type", "source.document_id", "unit_cost", "currency",
    ],
)  # fmt: skip
def test_a_receipt_missing_a_required_field_is_rejected(stock: Stock, field: str):
    request = receipt()
    if field.startswith("source."):
        del request["source"][field.removeprefix("source.")]
    else:
        del request[field]
    error = assert_rejected(stock.ledger, request, "validation_error", field)
    assert "required" in error.message


# (case, changes to the valid receipt, field named, words in the message)
MALFORMED: list[tuple[str, dict[str, Any], str, str]] = [
    ("qty-float", {"qty": 1.5}, "qty", "binary float"),
    ("qty-text", {"qty": "abc"}, "qty", "not a decimal"),
    ("qty-nan", {"qty": "NaN"}, "qty", "finite"),
    ("qty-zero", {"qty": "0"}, "qty", "zero"),
    ("qty-bool", {"qty": True}, "qty", "decimal"),
    ("qty-decimals", {"qty": "1.0000001"}, "qty", "6 decimal places"),
    ("qty-negative", {"qty": "-10"}, "qty", "positive"),
    ("cost-decimals", {"unit_cost": "4.1234567"}, "unit_cost", "6 decimal places"),
    ("cost-negative", {"unit_cost": "-1"}, "unit_cost", "negative"),
    ("cost-float", {"unit_cost": 4.5}, "unit_cost", "binary float"),
    ("currency-lower-case", {"currency": "eur"}, "currency", "ISO 4217"),
    ("time-without-offset", {"occurred_at": "2026-10-15T10:00:00"}, "occurred_at", "offset"),
    ("time-garbage", {"occurred_at": "last tuesday"}, "occurred_at", "ISO 8601"),
    ("time-number", {"occurred_at": 1760522400}, "occurred_at", "ISO 8601"),
    ("role", {"role": "janitor"}, "role", "is not one of"),
    ("kind", {"kind": "teleport"}, "kind", "is not one of"),
    ("kind-of-a-workflow", {"kind": "transfer_out"}, "kind", "own workflow"),
    ("bucket", {"bucket": "frozen"}, "bucket", "is not one of"),
    ("extra-field", {"colour": "red"}, "colour", "not a known field"),
    ("extra-source-field", {"source": {"document_type": "GRN", "document_id": "G", "page": "2"}},
     "source.page", "not a known field"),
    ("source-as-text", {"source": "GRN-1001"}, "source", "object"),
    ("sku-as-list", {"sku": ["TEE-M"]}, "sku", "string"),
    ("amount-on-a-receipt", {"amount": "3.00"}, "amount", "does not apply"),
    ("to-bin-on-a-receipt", {"to_bin": "A2"}, "to_bin", "does not apply"),
    ("blank-sku", {"sku": "   "}, "sku", "required"),
    ("blank-actor", {"actor": ""}, "actor", "required"),
    ("blank-document-id", {"source": {"document_type": "GRN", "document_id": " "}},
     "source.document_id", "required"),
]  # fmt: skip


def test_a_malformed_field_is_rejected(stock: Stock, subtests: pytest.Subtests):
    """One ledger for the whole table; each case must leave it as it was."""
    for case, changes, field, words in MALFORMED:
        with subtests.test(case):
            error = assert_rejected(stock.ledger, receipt(**changes), "validation_error", field)
            assert words in error.message


def test_a_negative_qty_on_an_issue_is_rejected(stock: Stock):
    stock.receive("TEE-M", "10", "4.50")
    request = stock.request(kind="issue", sku="TEE-M", facility="DC1", qty="-2")
    error = assert_rejected(stock.ledger, request, "validation_error", "qty")
    assert "positive" in error.message
    assert stock.on_hand("TEE-M") == "10"


def test_a_request_that_is_not_an_object_is_rejected(stock: Stock):
    before = dump_tables(stock.ledger)
    with pytest.raises(LedgerError) as caught:
        stock.ledger.post(["receipt", "TEE-M", "10"])  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.field) == ("validation_error", "request")
    assert dump_tables(stock.ledger) == before


# -- master data that does not exist -----------------------------------------------------------


UNKNOWN: list[tuple[str, dict[str, Any], str, str]] = [
    ("sku", {"sku": "TEE-XXL"}, "unknown_sku", "sku"),
    ("facility", {"facility": "DC9"}, "unknown_facility", "facility"),
    ("bin", {"bin": "Z9"}, "unknown_bin", "bin"),
    ("bin-of-another-facility", {"bin": "MAIN"}, "unknown_bin", "bin"),
    ("owner", {"owner": "NOBODY"}, "unknown_owner", "owner"),
]


def test_unknown_master_data_is_rejected(stock: Stock, subtests: pytest.Subtests):
    for case, changes, code, field in UNKNOWN:
        with subtests.test(case):
            error = assert_rejected(stock.ledger, receipt(**changes), code, field)
            assert repr(next(iter(changes.values()))) in error.message


def adjustment(stock: Stock, **fields: Any) -> dict[str, Any]:
    return stock.request(
        kind="adjustment", sku="TEE-M", facility="DC1", qty="-1", comment="dropped", **fields
    )


REASONS: list[tuple[str, str | None, str]] = [
    ("unknown", "vandalism", "unknown_reason_code"),
    ("inactive", "retired", "unknown_reason_code"),
    ("missing", None, "reason_required"),
    ("not-for-adjustments", "qc_release", "reason_not_allowed"),
    ("cost-adjustments-only", "revaluation", "reason_not_allowed"),
]


def test_an_adjustment_needs_an_active_reason_code_for_its_kind(
    stock: Stock, subtests: pytest.Subtests
):
    stock.receive("TEE-M", "10", "4.50")
    for case, reason, code in REASONS:
        with subtests.test(case):
            request = adjustment(stock, reason_code=reason)
            assert_rejected(stock.ledger, request, code, "reason_code")
    assert stock.on_hand("TEE-M") == "10"
    stock.ledger.post(adjustment(stock, reason_code="shrink"))
    assert stock.on_hand("TEE-M") == "9"


def test_a_reason_code_not_allowed_for_a_receipt_is_rejected(stock: Stock):
    assert_rejected(
        stock.ledger, receipt(reason_code="shrink"), "reason_not_allowed", "reason_code"
    )


def test_an_adjustment_without_a_comment_is_rejected(stock: Stock):
    stock.receive("TEE-M", "10", "4.50")
    request = adjustment(stock, reason_code="shrink")
    del request["comment"]
    assert_rejected(stock.ledger, request, "validation_error", "comment")


# -- periods -----------------------------------------------------------------------------------


def test_a_posting_into_a_closed_period_is_rejected(stock: Stock):
    stock.ledger.close_period("2026-09", actor="fiona", role="finance")
    late = receipt(occurred_at="2026-09-28T16:00:00Z")
    error = assert_rejected(stock.ledger, late, "period_closed", "occurred_at")
    assert "2026-09" in error.message


def test_a_posting_into_a_locked_period_is_rejected(stock: Stock):
    stock.ledger.close_period("2026-09", actor="fiona", role="finance")
    stock.ledger.lock_period("2026-09", actor="frank", role="finance_manager")
    late = receipt(occurred_at="2026-09-28T16:00:00Z")
    error = assert_rejected(stock.ledger, late, "period_locked", "occurred_at")
    assert "2026-09" in error.message


def test_a_posting_before_a_closed_period_with_no_period_of_its_own_is_rejected(stock: Stock):
    stock.ledger.close_period("2026-09", actor="fiona", role="finance")
    august = receipt(occurred_at="2026-08-20T09:00:00Z")
    assert_rejected(stock.ledger, august, "period_closed", "occurred_at")
    assert "2026-08" not in [period["period"] for period in stock.ledger.periods()]


def test_a_posting_more_than_a_day_in_the_future_is_rejected(stock: Stock):
    future = datetime.now(UTC) + timedelta(days=3)
    request = receipt(occurred_at=future.isoformat())
    assert_rejected(stock.ledger, request, "occurred_in_future", "occurred_at")


# -- stock, cost and lot rules -----------------------------------------------------------------


def test_a_receipt_in_another_currency_than_the_position_is_rejected(stock: Stock):
    stock.receive("TEE-M", "10", "4.50")
    usd = receipt(currency="USD", unit_cost="5.00")
    error = assert_rejected(stock.ledger, usd, "currency_mismatch", "currency")
    assert "USD" in error.message
    assert stock.on_hand("TEE-M") == "10"


def test_a_first_receipt_in_another_currency_than_the_facility_is_rejected(stock: Stock):
    assert_rejected(stock.ledger, receipt(currency="USD"), "currency_mismatch", "currency")


def test_a_rejected_receipt_of_a_new_lot_leaves_no_trace(stock: Stock):
    """Planning the receipt allocates the new lot's id before the currency is checked; the
    rejection must not keep anything of it (on PostgreSQL that id comes from a counter row)."""
    usd = receipt(sku="MILK-1L", lot="L-USD", currency="USD", unit_cost="0.80")
    assert_rejected(stock.ledger, usd, "currency_mismatch", "currency")


def test_issuing_more_than_on_hand_where_negative_stock_is_not_allowed_is_rejected(stock: Stock):
    stock.receive("TEE-M", "10", "4.50")
    request = stock.request(kind="issue", sku="TEE-M", facility="DC1", qty="10.5")
    error = assert_rejected(stock.ledger, request, "insufficient_stock", "qty")
    assert error.detail == {"available": "10"}
    assert stock.on_hand("TEE-M") == "10"


def test_issuing_an_expired_lot_is_rejected(stock: Stock):
    # Shelf life 10 days: received 20 September, expired on 30 September.
    stock.receive("MILK-1L", "24", "0.80", lot="L-0920", occurred_at="2026-09-20T06:00:00Z")
    request = stock.request(kind="issue", sku="MILK-1L", facility="DC1", lot="L-0920", qty="1")
    error = assert_rejected(stock.ledger, request, "lot_expired", "lot")
    assert "2026-09-30" in error.message
    assert stock.on_hand("MILK-1L") == "24"


def test_a_lot_tracked_item_without_a_lot_is_rejected(stock: Stock):
    milk = receipt(sku="MILK-1L", unit_cost="0.80")
    assert_rejected(stock.ledger, milk, "validation_error", "lot")


def test_a_lot_on_an_item_that_is_not_lot_tracked_is_rejected(stock: Stock):
    assert_rejected(stock.ledger, receipt(lot="L-1"), "validation_error", "lot")


# -- roles -------------------------------------------------------------------------------------


def test_an_auditor_cannot_post(stock: Stock):
    error = assert_rejected(
        stock.ledger, receipt(role="auditor"), "forbidden", "role", audited=True
    )
    assert error.status == 403


def test_a_store_keeper_cannot_post_a_cost_adjustment(stock: Stock):
    stock.receive("TEE-M", "10", "4.50")
    request = stock.request(
        kind="cost_adjustment", sku="TEE-M", facility="DC1", amount="5.00", currency="EUR",
        reason_code="revaluation", comment="supplier credit note", role="store_keeper",
    )  # fmt: skip
    error = assert_rejected(stock.ledger, request, "forbidden", "role", audited=True)
    assert error.status == 403
    assert stock.ledger.valuation("TEE-M", "DC1")["value"] == "45.00"


# -- batches -----------------------------------------------------------------------------------


def test_a_batch_posts_the_good_requests_and_rejects_the_bad_ones_alone(stock: Stock):
    ledger = stock.ledger
    good_receipt = receipt(idempotency_key="b-1")
    over_issue = stock.request(idempotency_key="b-2", kind="issue", sku="TEE-M", qty="11",
                               facility="DC1")  # fmt: skip
    unknown_sku = receipt(idempotency_key="b-3", sku="NOPE")
    usd_lot = receipt(idempotency_key="b-4", sku="MILK-1L", lot="L-USD", currency="USD")
    good_issue = stock.request(idempotency_key="b-5", kind="issue", sku="TEE-M", qty="4",
                               facility="DC1")  # fmt: skip
    malformed = receipt(idempotency_key="b-6", qty=2.5)

    outcomes = ledger.post_many(
        [good_receipt, over_issue, unknown_sku, usd_lot, good_issue, malformed]
    )

    kinds = [type(outcome) for outcome in outcomes]
    assert kinds == [PostingResult, LedgerError, LedgerError, LedgerError, PostingResult,
                     LedgerError]  # fmt: skip
    assert [outcome.code for outcome in outcomes if isinstance(outcome, LedgerError)] == [
        "insufficient_stock", "unknown_sku", "currency_mismatch", "validation_error",
    ]  # fmt: skip
    assert stock.on_hand("TEE-M") == "6"
    assert stock.on_hand("MILK-1L") == "0"

    tables = dump_tables(ledger)
    with ledger.store.read() as tx:
        event_keys = {row[0] for row in tx.all("select idempotency_key from stock_event")}
        idempotency_keys = {row[0] for row in tx.all("select key from idempotency")}
    assert event_keys == idempotency_keys == {"b-1", "b-5"}
    assert tables["lot"] == []
    assert len(tables["outbox"]) == len(tables["stock_event"]) == 2

    card = ledger.card("TEE-M", "DC1")
    assert [(event["kind"], event["qty"]) for event in card["events"]] == [
        ("receipt", "10"), ("issue", "-4"),
    ]  # fmt: skip
    assert Decimal(card["closing_value"]) == Decimal("27.00")


def test_a_batch_of_only_bad_requests_writes_nothing(stock: Stock):
    before = dump_tables(stock.ledger)
    outcomes = stock.ledger.post_many([receipt(sku="NOPE"), receipt(qty="-1"), {}])
    assert all(isinstance(outcome, LedgerError) for outcome in outcomes)
    assert dump_tables(stock.ledger) == before


def test_a_serial_tracked_item_moves_in_whole_units_only(stock: Stock):
    ledger = stock.ledger
    before = dump_tables(ledger)
    with pytest.raises(LedgerError) as error:
        stock.receive("DRILL-18V", "1.5", "89.00")
    assert (error.value.code, error.value.field) == ("validation_error", "qty")
    assert "whole units" in error.value.message
    assert dump_tables(ledger) == before
    stock.receive("DRILL-18V", "2", "89.00")
    assert stock.on_hand("DRILL-18V") == "2"


def test_quarantined_and_damaged_stock_cannot_be_sold(stock: Stock):
    stock.receive("TEE-M", "10", "4.00", bucket="quarantine")
    for bucket in ("quarantine", "damaged"):
        request = stock.request(kind="issue", sku="TEE-M", facility="DC1", qty="1", bucket=bucket)
        assert_rejected(stock.ledger, request, "bucket_not_sellable", "bucket")
    # it can still go back to the vendor or be written off
    stock.post(kind="vendor_return", sku="TEE-M", facility="DC1", qty="2", bucket="quarantine")
    assert stock.on_hand("TEE-M") == "8"
