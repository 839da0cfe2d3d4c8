"""Shared test helpers: a standard world of master data and a posting helper with defaults."""

from __future__ import annotations

import itertools
from typing import Any

from ledger import Ledger
from ledger.storage.schema import table_names

WORLD = [
    {"type": "org", "code": "RET", "name": "Retail Co", "currency": "EUR"},
    {"type": "vendor", "code": "ACME", "name": "Acme Supplies", "currency": "EUR"},
    {
        "type": "facility", "code": "DC1", "name": "Central DC", "org": "RET",
        "facility_type": "warehouse", "default_bin": "A1",
        "bins": [
            {"code": "A1", "kind": "storage", "zone": "A"},
            {"code": "A2", "kind": "storage", "zone": "A"},
            {"code": "RECV", "kind": "receiving"},
            {"code": "QUAR", "kind": "quarantine"},
            {"code": "SHIP", "kind": "shipping"},
        ],
    },
    {"type": "facility", "code": "ST1", "name": "Store 1", "org": "RET", "facility_type": "store"},
    {"type": "facility", "code": "TRANSIT", "org": "RET", "facility_type": "in_transit"},
    {"type": "item", "code": "TEE", "name": "T-shirt", "category": "apparel",
     "costing_method": "moving_average"},
    {"type": "variant", "sku": "TEE-M", "item": "TEE", "barcode": "4000000000017", "uom": "each"},
    {"type": "variant", "sku": "TEE-L", "item": "TEE", "barcode": "4000000000024", "uom": "each"},
    {"type": "item", "code": "BOLT", "name": "Bolt", "category": "hardware",
     "costing_method": "fifo"},
    {"type": "variant", "sku": "BOLT-8", "item": "BOLT", "uom": "each"},
    {"type": "item", "code": "MILK", "name": "Milk", "category": "dairy", "costing_method": "fifo",
     "lot_tracked": True, "shelf_life_days": 10},
    {"type": "variant", "sku": "MILK-1L", "item": "MILK", "uom": "each"},
    {"type": "item", "code": "RICE", "name": "Rice", "category": "grocery",
     "costing_method": "moving_average"},
    {"type": "variant", "sku": "RICE-KG", "item": "RICE", "uom": "kg"},
    {"type": "item", "code": "DRILL", "name": "Cordless drill", "category": "hardware",
     "costing_method": "moving_average", "serial_tracked": True},
    {"type": "variant", "sku": "DRILL-18V", "item": "DRILL", "uom": "each"},
    {"type": "reason_code", "code": "damage", "description": "Damaged",
     "kinds": ["adjustment", "reclassification"]},
    {"type": "reason_code", "code": "shrink", "description": "Shrinkage", "kinds": ["adjustment"]},
    {"type": "reason_code", "code": "found", "description": "Found stock", "kinds": ["adjustment"]},
    {"type": "reason_code", "code": "qc_release", "description": "QC release",
     "kinds": ["reclassification"]},
    {"type": "reason_code", "code": "revaluation", "description": "Revaluation",
     "kinds": ["cost_adjustment"]},
    {"type": "reason_code", "code": "retired", "description": "No longer used", "is_active": False},
    {"type": "policy", "facility": "ST1", "allow_negative": True},
    {"type": "grant", "actor": "setup", "role": "sysadmin"},
    {"type": "grant", "actor": "ops", "role": "sysadmin"},
    {"type": "grant", "actor": "alice", "role": "inventory_controller",
     "permissions": ["cost_view"]},
    {"type": "grant", "actor": "alice", "role": "store_keeper"},
    {"type": "grant", "actor": "alice", "role": "finance", "permissions": ["finance_audit"]},
    {"type": "grant", "actor": "frank", "role": "finance_manager",
     "permissions": ["finance_audit"]},
    {"type": "grant", "actor": "fiona", "role": "finance", "permissions": ["finance_audit"]},
    {"type": "grant", "actor": "sam", "role": "store_keeper", "facility": "DC1"},
    {"type": "grant", "actor": "sid", "role": "store_keeper", "facility": "ST1"},
    {"type": "grant", "actor": "ivy", "role": "inventory_controller", "facility": "DC1",
     "valid_from": "2025-01-01T00:00:00Z", "valid_to": "2026-01-01T00:00:00Z"},
    {"type": "grant", "actor": "audrey", "role": "auditor", "permissions": ["finance_audit"]},
    {"type": "grant", "actor": "ian", "role": "inventory_controller", "facility": "DC1"},
    {"type": "period", "code": "2026-09"},
    {"type": "period", "code": "2026-10"},
    {"type": "period", "code": "2026-11"},
]  # fmt: skip

DEFAULTS = {
    "actor": "alice",
    "role": "inventory_controller",
    "source": {"document_type": "test", "document_id": "T-1"},
    "occurred_at": "2026-10-15T10:00:00Z",
}


class Stock:
    """A ledger with the standard world applied, and `post` that fills in the dull fields."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self._keys = itertools.count(1)

    def request(self, **fields: Any) -> dict[str, Any]:
        request = {**DEFAULTS, "idempotency_key": f"key-{next(self._keys)}", **fields}
        return {name: value for name, value in request.items() if value is not None}

    def post(self, **fields: Any):
        return self.ledger.post(self.request(**fields))

    def receive(self, sku: str, qty: str, cost: str, facility: str = "DC1", **fields: Any):
        return self.post(
            kind="receipt", sku=sku, facility=facility, qty=qty, unit_cost=cost, currency="EUR",
            **fields,
        )  # fmt: skip

    def issue(self, sku: str, qty: str, facility: str = "DC1", **fields: Any):
        return self.post(kind="issue", sku=sku, facility=facility, qty=qty, **fields)

    def on_hand(self, sku: str, facility: str = "DC1") -> str:
        for entry in self.ledger.balance(sku, facility)["facilities"]:
            return entry["on_hand"]
        return "0"


def dump_tables(ledger: Ledger) -> dict[str, list[tuple]]:
    """Every row of every table, for checking that a rejected request changed nothing."""
    with ledger.store.read() as tx:
        return {name: sorted(map(tuple, tx.all(f"select * from {name}"))) for name in table_names()}
