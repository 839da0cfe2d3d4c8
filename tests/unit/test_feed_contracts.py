"""Feed contracts (SPEC P2): every kind of bad row is rejected with its field, rule and a message
a person can act on; good rows of the same file go on, typed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
import pytest

from models.feeds import FEEDS, Period, ReferenceData, validate
from models.feeds.validate import validate_files

REFERENCE = ReferenceData(
    skus=frozenset({"TEE-M", "MILK-1L"}),
    barcodes={"4000000000017": "TEE-M"},
    lot_tracked=frozenset({"MILK-1L"}),
    facilities=frozenset({"DC1", "ST1"}),
    bins=frozenset({("DC1", "A1"), ("DC1", "RECV"), ("ST1", "MAIN")}),
    reason_codes=frozenset({"shrink", "damage"}),
    vendors=frozenset({"ACME"}),
    orgs=frozenset({"RET"}),
    periods=(Period.month("2026-08", "closed"), Period.month("2026-09", "open")),
)

GOOD_SALE = {
    "store": "ST1", "receipt_no": "R-1", "line": "1", "barcode": "4000000000017", "qty": "2",
    "unit_price": "9.90", "currency": "EUR", "type": "sale",
    "sold_at": "2026-09-15T10:00:00+02:00", "cashier": "sid",
}  # fmt: skip
GOOD_ADJUSTMENT = {
    "adjustment_no": "ADJ-1", "line": "1", "facility": "DC1", "bin": "A1", "sku": "TEE-M",
    "lot": None, "owner": None, "bucket": None, "qty": "-1", "reason_code": "shrink",
    "comment": "seen on camera", "adjusted_at": "2026-09-15T20:00:00Z", "user": "ian",
    "unit_cost": None, "currency": None, "lot_expires_on": None,
}  # fmt: skip


def frame(*rows: dict[str, str | None]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=dict.fromkeys(rows[0], pl.String))


def only_reject(feed: str, bad: dict[str, str | None], good: dict[str, str | None]) -> dict:
    """Validate [good, bad]: the bad row gives exactly one reject, the good row goes on."""
    result = validate(feed, frame(good, bad), REFERENCE, file="f.csv")
    assert result.good["row_number"].to_list() == [1]
    assert result.rejects["row_number"].to_list() == [2], result.rejects
    return result.rejects.row(0, named=True)


@pytest.mark.parametrize(
    ("change", "field", "rule", "message"),
    [
        ({"qty": None}, "qty", "required", "qty: is required"),
        ({"barcode": "999"}, "barcode", "known_barcode",
         "barcode: must be a known barcode or SKU, got '999'"),
        ({"store": "ST9"}, "store", "known_facility", "store: must be a known facility, got 'ST9'"),
        ({"qty": "-3"}, "qty", "positive_number",
         "qty: must be a number greater than 0 (up to 6 decimal places), got '-3'"),
        ({"qty": "abc"}, "qty", "positive_number",
         "qty: must be a number greater than 0 (up to 6 decimal places), got 'abc'"),
        ({"qty": "0"}, "qty", "positive_number",
         "qty: must be a number greater than 0 (up to 6 decimal places), got '0'"),
        ({"sold_at": "2026-02-30T10:00:00Z"}, "sold_at", "datetime",
         "sold_at: must be an ISO 8601 timestamp with a UTC offset, e.g. 2026-03-01T09:30:00Z, "
         "got '2026-02-30T10:00:00Z'"),
        ({"sold_at": "2026-09-15 10:00"}, "sold_at", "datetime",
         "sold_at: must be an ISO 8601 timestamp with a UTC offset, e.g. 2026-03-01T09:30:00Z, "
         "got '2026-09-15 10:00'"),
        ({"sold_at": "2026-08-15T10:00:00Z"}, "sold_at", "open_period",
         "sold_at: '2026-08-15T10:00:00Z' falls in period 2026-08, which is closed"),
        ({"type": "refund"}, "type", "allowed", "type: must be one of sale, return, got 'refund'"),
        ({"currency": "euro"}, "currency", "format",
         "currency: must be an ISO 4217 currency code such as EUR, got 'euro'"),
        ({"line": "1.5"}, "line", "integer", "line: must be a whole number, got '1.5'"),
    ],
)  # fmt: skip
def test_a_bad_till_line_is_rejected_with_its_rule_and_the_rest_goes_on(
    change: dict, field: str, rule: str, message: str
) -> None:
    bad = {**GOOD_SALE, "receipt_no": "R-2", **change}
    reject = only_reject("pos_sales", bad, GOOD_SALE)
    assert (reject["field"], reject["rule"], reject["message"]) == (field, rule, message)
    assert reject["feed"] == "pos_sales" and reject["file"] == "f.csv"
    assert reject["source_ref"] == f"{bad['receipt_no']}:{bad['line']}"


def test_a_line_breaking_several_rules_gives_one_reject_per_rule() -> None:
    bad = {**GOOD_SALE, "receipt_no": "R-2", "qty": "abc", "barcode": "999", "type": None}
    rejects = validate("pos_sales", frame(GOOD_SALE, bad), REFERENCE, file="f.csv").rejects
    assert sorted(rejects["rule"].to_list()) == ["known_barcode", "positive_number", "required"]
    assert set(rejects["row_number"].to_list()) == {2}


def test_a_repeated_source_reference_is_rejected_and_the_first_one_goes_on() -> None:
    rows = frame(GOOD_SALE, {**GOOD_SALE, "qty": "5"}, {**GOOD_SALE, "line": "2"})
    result = validate("pos_sales", rows, REFERENCE, file="f.csv")
    assert result.good["row_number"].to_list() == [1, 3]
    reject = result.rejects.row(0, named=True)
    assert (reject["row_number"], reject["field"], reject["rule"]) == (2, "source_ref", "duplicate")
    assert reject["message"] == (
        "source_ref: 'R-1:1' was already seen in this feed; each source reference is posted once"
    )


def test_a_reference_seen_in_an_earlier_file_is_a_duplicate_in_a_later_one() -> None:
    first, second = frame(GOOD_SALE), frame(GOOD_SALE, {**GOOD_SALE, "line": "2"})
    result = validate_files("pos_sales", [("a.csv", first), ("b.csv", second)], REFERENCE)
    assert result.good.select("file", "row_number").rows() == [("a.csv", 1), ("b.csv", 2)]
    assert result.rejects.select("file", "row_number", "rule").rows() == [("b.csv", 1, "duplicate")]


def test_a_reference_the_caller_has_seen_already_is_a_duplicate() -> None:
    seen = REFERENCE.with_seen("pos_sales", ["R-1:1"])
    result = validate("pos_sales", frame(GOOD_SALE), seen, file="later.csv")
    assert result.rejects.select("rule").rows() == [("duplicate",)]


def test_good_rows_are_typed_exactly() -> None:
    good = validate("pos_sales", frame(GOOD_SALE), REFERENCE, file="f.csv").good
    row = good.row(0, named=True)
    assert row["qty"] == Decimal("2") and row["unit_price"] == Decimal("9.90")
    assert good.schema["qty"] == pl.Decimal(18, 6)
    assert row["sold_at"] == datetime(2026, 9, 15, 8, 0, tzinfo=UTC)  # +02:00 → UTC
    assert row["line"] == 1


@pytest.mark.parametrize(
    ("change", "field", "rule", "message"),
    [
        ({"sku": "NOPE-1"}, "sku", "known_sku", "sku: must be a known SKU, got 'NOPE-1'"),
        ({"reason_code": "stolen"}, "reason_code", "known_reason_code",
         "reason_code: must be an active reason code, got 'stolen'"),
        ({"qty": "0"}, "qty", "non_zero_number",
         "qty: must be a number other than 0 (up to 6 decimal places), got '0'"),
        ({"bin": "A9"}, "bin", "known_bin", "bin: must be a bin of the row's facility, got 'A9'"),
        ({"sku": "MILK-1L"}, "lot", "lot_required",
         "lot: is required for a lot-tracked SKU, got nothing"),
        ({"comment": " "}, "comment", "required", "comment: is required"),
        ({"bucket": "lost"}, "bucket", "allowed",
         "bucket: must be one of available, quarantine, damaged, got 'lost'"),
    ],
)  # fmt: skip
def test_adjustment_rules(change: dict, field: str, rule: str, message: str) -> None:
    bad = {**GOOD_ADJUSTMENT, "line": "2", **change}
    reject = only_reject("adjustments", bad, GOOD_ADJUSTMENT)
    assert (reject["field"], reject["rule"], reject["message"]) == (field, rule, message)


def test_a_negative_adjustment_is_valid() -> None:
    result = validate("adjustments", frame(GOOD_ADJUSTMENT), REFERENCE, file="a.csv")
    assert result.rejects.height == 0
    assert result.good["qty"].to_list() == [Decimal("-1")]


def test_rules_across_columns_only_apply_where_they_should() -> None:
    shipped = {
        "shipment_no": "SH-1", "transfer_no": "TO-1", "event": "shipped", "receipt_no": None,
        "line": "1", "sku": "TEE-M", "lot": None, "qty": "4", "exception": None,
        "exception_facility": None, "reason_code": None, "final": "true", "short_reason": None,
        "event_at": "2026-09-15T12:00:00Z",
    }  # fmt: skip
    misrouted = {**shipped, "event": "received", "receipt_no": "RC-1", "exception": "misrouted",
                 "reason_code": "damage"}  # fmt: skip
    result = validate("shipments", frame(shipped, misrouted), REFERENCE, file="s.parquet")
    assert result.good["row_number"].to_list() == [1]
    reject = result.rejects.row(0, named=True)
    assert (reject["field"], reject["rule"]) == ("exception_facility", "facility_required")


def test_a_column_missing_from_the_file_is_missing_in_every_row() -> None:
    rows = frame({key: value for key, value in GOOD_SALE.items() if key != "qty"})
    rejects = validate("pos_sales", rows, REFERENCE, file="f.csv").rejects
    assert rejects.select("field", "rule").rows() == [("qty", "required")]


def test_a_line_that_is_not_json_is_rejected_whole() -> None:
    rows = pl.DataFrame({"_malformed": ['{"po_number": "PO-1", "li']})
    reject = validate("purchase_orders", rows, REFERENCE, file="po.jsonl").rejects
    malformed = reject.filter(pl.col("rule") == "malformed").row(0, named=True)
    assert malformed["field"] == "row"
    assert malformed["message"] == 'row: must be one JSON object, got \'{"po_number": "PO-1", "li\''
    assert malformed["source_ref"] is None


def test_master_data_of_the_same_run_counts_as_known() -> None:
    variants = pl.DataFrame({"sku": ["NEW-1"], "item": ["NEW"], "barcode": ["4000000000999"]})
    known = REFERENCE.with_master_frames({"variants": variants})
    sale = {**GOOD_SALE, "barcode": "4000000000999"}
    assert validate("pos_sales", frame(sale), known, file="f.csv").rejects.height == 0


def test_every_feed_has_a_contract_with_a_format_source_and_description() -> None:
    for name, contract in FEEDS.items():
        assert contract.name == name
        assert contract.format in ("csv", "jsonl", "parquet")
        assert contract.source_system and contract.description
        assert set(contract.key) <= set(contract.column_names)
        if contract.role == "movement":
            assert contract.time in contract.column_names
        schema = contract.schema(REFERENCE)
        assert set(contract.column_names) <= set(schema.columns)
