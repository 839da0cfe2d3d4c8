"""`stockcard demo`: a realistic month and a half of a small retailer, posted through the ledger
into a fresh embedded ledger, then its balances, stock card, valuation and period snapshot."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ledger.api import Ledger

DEMO_DIR = Path("data/demo")

MASTER_DATA: list[dict[str, Any]] = [
    {"type": "org", "code": "NORDRETAIL", "name": "Nord Retail AB", "currency": "EUR"},
    {"type": "vendor", "code": "BEANCO", "name": "Bean Co (consignment)", "currency": "EUR"},
    {
        "type": "facility", "code": "DC1", "name": "Central DC", "org": "NORDRETAIL",
        "facility_type": "warehouse", "default_bin": "A-01",
        "bins": [
            {"code": "RECV", "kind": "receiving"}, {"code": "A-01", "zone": "A"},
            {"code": "A-02", "zone": "A"}, {"code": "QC", "kind": "quarantine"},
            {"code": "SHIP", "kind": "shipping"},
        ],
    },
    {"type": "facility", "code": "ST-01", "name": "Store Old Town", "org": "NORDRETAIL",
     "facility_type": "store"},
    {"type": "item", "code": "TEE", "name": "Organic T-shirt", "category": "apparel",
     "costing_method": "moving_average"},
    {"type": "variant", "sku": "TEE-BLU-M", "item": "TEE", "barcode": "7350000000011"},
    {"type": "item", "code": "COFFEE", "name": "Coffee beans 250 g", "category": "grocery",
     "costing_method": "fifo", "lot_tracked": True, "shelf_life_days": 180},
    {"type": "variant", "sku": "COF-250", "item": "COFFEE", "barcode": "7350000000028"},
    {"type": "reason_code", "code": "damage", "description": "Damaged in handling",
     "kinds": ["adjustment", "reclassification"]},
    {"type": "reason_code", "code": "shrink", "description": "Unexplained loss",
     "kinds": ["adjustment"]},
    {"type": "reason_code", "code": "freight", "description": "Freight invoiced late",
     "kinds": ["cost_adjustment"]},
    {"type": "policy", "facility": "ST-01", "sku": "TEE-BLU-M", "allow_negative": True},
    {"type": "period", "code": "2026-09"},
    {"type": "period", "code": "2026-10"},
    {"type": "grant", "actor": "demo", "role": "sysadmin"},
    {"type": "grant", "actor": "demo", "role": "inventory_controller",
     "permissions": ["cost_view"]},
    {"type": "grant", "actor": "demo", "role": "finance", "permissions": ["finance_audit"]},
    {"type": "grant", "actor": "finance.demo", "role": "finance", "permissions": ["finance_audit"]},
]  # fmt: skip


def movements() -> list[dict[str, Any]]:
    """The month in postings, in the order the source systems would send them."""
    plan = [
        ("grn-1001-1", "2026-09-02T08:10Z", "receipt", "TEE-BLU-M", "DC1",
         {"bin": "RECV", "qty": "120", "unit_cost": "4.20"}, ("goods_receipt", "GRN-1001", "1")),
        ("put-1001-1", "2026-09-02T09:30Z", "bin_move", "TEE-BLU-M", "DC1",
         {"bin": "RECV", "to_bin": "A-01", "qty": "120"}, ("putaway", "PA-1001", "1")),
        ("grn-1002-1", "2026-09-10T07:55Z", "receipt", "TEE-BLU-M", "DC1",
         {"bin": "RECV", "qty": "80", "unit_cost": "4.65"}, ("goods_receipt", "GRN-1002", "1")),
        ("qc-1002-1", "2026-09-10T08:40Z", "reclassification", "TEE-BLU-M", "DC1",
         {"bin": "RECV", "qty": "4", "to_bucket": "damaged", "reason_code": "damage",
          "comment": "Carton crushed on arrival"}, ("qc_inspection", "QC-1002", "1")),
        ("put-1002-1", "2026-09-10T10:05Z", "bin_move", "TEE-BLU-M", "DC1",
         {"bin": "RECV", "to_bin": "A-02", "qty": "76"}, ("putaway", "PA-1002", "1")),
        ("so-2001-1", "2026-09-12T14:00Z", "issue", "TEE-BLU-M", "DC1",
         {"bin": "A-01", "qty": "35", "channel": "wholesale"}, ("sales_order", "SO-2001", "1")),
        ("grn-1003-1", "2026-09-15T08:00Z", "receipt", "COF-250", "DC1",
         {"lot": "L2409A", "qty": "60", "unit_cost": "3.10"}, ("goods_receipt", "GRN-1003", "1")),
        ("grn-1004-1", "2026-09-22T08:00Z", "receipt", "COF-250", "DC1",
         {"lot": "L2409B", "qty": "40", "unit_cost": "3.40"}, ("goods_receipt", "GRN-1004", "1")),
        ("so-2002-1", "2026-09-25T11:00Z", "issue", "COF-250", "DC1",
         {"lot": "L2409A", "qty": "60", "channel": "ecommerce"}, ("sales_order", "SO-2002", "1")),
        ("so-2002-2", "2026-09-25T11:00Z", "issue", "COF-250", "DC1",
         {"lot": "L2409B", "qty": "10", "channel": "ecommerce"}, ("sales_order", "SO-2002", "2")),
        ("adj-3001-1", "2026-09-29T17:00Z", "adjustment", "TEE-BLU-M", "DC1",
         {"bin": "A-01", "qty": "-2", "reason_code": "shrink",
          "comment": "Cycle count found two missing"}, ("adjustment", "ADJ-3001", "1")),
        ("grn-1005-1", "2026-10-01T09:00Z", "receipt", "TEE-BLU-M", "ST-01",
         {"qty": "10", "unit_cost": "4.40"}, ("goods_receipt", "GRN-1005", "1")),
        ("pos-7781-1", "2026-10-03T12:31Z", "issue", "TEE-BLU-M", "ST-01",
         {"qty": "14", "channel": "pos"}, ("pos_receipt", "POS-7781", "1")),
        ("grn-1006-1", "2026-10-05T09:00Z", "receipt", "TEE-BLU-M", "ST-01",
         {"qty": "20", "unit_cost": "4.50"}, ("goods_receipt", "GRN-1006", "1")),
        ("cadj-4001-1", "2026-10-06T10:00Z", "cost_adjustment", "COF-250", "DC1",
         {"lot": "L2409B", "amount": "12.00", "reason_code": "freight", "role": "finance",
          "comment": "Freight invoice FR-88 for GRN-1004"}, ("freight_invoice", "FR-88", "1")),
        ("so-2003-1", "2026-10-07T15:20Z", "issue", "TEE-BLU-M", "DC1",
         {"bin": "A-02", "qty": "12", "channel": "ecommerce"}, ("sales_order", "SO-2003", "1")),
    ]  # fmt: skip
    requests = []
    for key, when, kind, sku, facility, fields, (doc_type, doc_id, line) in plan:
        request = {
            "idempotency_key": key, "kind": kind, "sku": sku, "facility": facility,
            "occurred_at": when, "actor": "demo", "role": "inventory_controller",
            "source": {"document_type": doc_type, "document_id": doc_id, "line": line},
            **fields,
        }  # fmt: skip
        if "unit_cost" in fields or "amount" in fields:
            request["currency"] = "EUR"
        requests.append(request)
    return requests


def run_demo(url: str | None = None) -> int:
    if url is None:
        shutil.rmtree(DEMO_DIR, ignore_errors=True)
        url = f"sqlite:///{DEMO_DIR}/ledger.sqlite"
    with Ledger.open(url) as ledger:
        ledger.init()
        ledger.apply(MASTER_DATA, actor="demo", role="sysadmin")
        requests = movements()
        outcomes = ledger.post_many(requests)
        posted = sum(len(o.events) for o in outcomes if hasattr(o, "event_ids"))
        retry = ledger.post(requests[5])
        mistake = ledger.post(
            {**requests[-1], "idempotency_key": "so-2003-1-dup", "occurred_at": "2026-10-07T15:21Z"}
        )
        undo = ledger.post(
            {
                "idempotency_key": "rev-so-2003-1-dup", "kind": "reversal",
                "reverses": mistake.event_ids[0], "occurred_at": "2026-10-07T16:00Z",
                "actor": "demo", "role": "inventory_controller",
                "comment": "Order line keyed twice at the till",
                "source": {"document_type": "correction", "document_id": "COR-1"},
            }
        )  # fmt: skip
        ledger.close_period("2026-09", actor="finance.demo", role="finance")
        print_report(ledger, posted, retry.replayed, undo.event_ids)
    print(f"\nLedger file: {url.removeprefix('sqlite:///')}")
    print("Try: uv run stockcard ledger --db " + url + " card --sku COF-250 --facility DC1")
    return 0


def print_report(ledger: Ledger, posted: int, replayed: bool, undo: list[int]) -> None:
    print(f"Posted {posted} stock card events from {len(movements())} source documents.")
    print(f"Retried SO-2001 with its idempotency key: replayed={replayed}, nothing posted twice.")
    print(f"A duplicated till line was reversed by event(s) {undo}; the original stays on record.")
    for sku in ("TEE-BLU-M", "COF-250"):
        print(f"\nBalance of {sku} in every facility")
        rows = [
            (f["facility"], p["bin"], p["lot"] or "", p["bucket"], p["qty"])
            for f in ledger.balance(sku)["facilities"]
            for p in f["positions"]
        ]
        table(("facility", "bin", "lot", "bucket", "qty"), rows)
    card = ledger.card("TEE-BLU-M", "DC1")
    print("\nStock card of TEE-BLU-M at DC1")
    table(
        ("#", "occurred", "kind", "bin", "bucket", "qty", "cost", "balance", "value", "reason"),
        [
            (e["event_id"], e["occurred_at"][:16], e["kind"], e["bin"], e["bucket"], e["qty"],
             e["cost_delta"], e["balance_qty"], e["balance_value"], e["reason_code"] or "")
            for e in card["events"]
        ],
    )  # fmt: skip
    print("\nValuation")
    rows = []
    for sku, facility in (("TEE-BLU-M", "DC1"), ("TEE-BLU-M", "ST-01"), ("COF-250", "DC1")):
        value = ledger.valuation(sku, facility)
        layers = "; ".join(
            f"{x['remaining_qty']} @ {x['unit_cost']} = {x['remaining_value']}"
            for x in value["layers"]
        )
        rows.append((sku, facility, value["costing_method"], value["qty"], value["value"],
                     value["avg_cost"], value["currency"], layers))  # fmt: skip
    table(("sku", "facility", "method", "qty", "value", "avg cost", "cur", "FIFO layers"), rows)
    snapshot = ledger.period_snapshot("2026-09")
    print(f"\nPeriod 2026-09 is {snapshot['status']}; its snapshot (per position)")
    table(
        ("facility", "sku", "bin", "lot", "bucket", "open", "in", "out", "adj", "close", "value"),
        [
            (p["facility"], p["sku"], p["bin"], p["lot"] or "", p["bucket"], p["opening_qty"],
             p["inbound_qty"],
             p["outbound_qty"], p["adjustment_qty"], p["closing_qty"], p["closing_value"])
            for p in snapshot["positions"]
        ],
    )  # fmt: skip
    print(f"\nOutbox: {len(ledger.outbox())} messages ready for extraction.")


def table(headers: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
    cells = [tuple("" if value is None else str(value) for value in row) for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(value.ljust(w) for value, w in zip(row, widths, strict=True)))
