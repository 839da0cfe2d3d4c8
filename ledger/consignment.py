"""Consignment settlement (L6.1): the sales of a vendor's stock not yet settled, and settling
them — each consumption once, with the sale and the vendor on every line."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ledger import access, numbers, requests, timeutil, workflow
from ledger.api import Ledger
from ledger.errors import LedgerError, unknown
from ledger.numbers import from_units
from ledger.storage import Tx
from ledger.vocabulary import PartyKind
from ledger.workflow import Workflow

UNSETTLED_SQL = """
select e.event_id, f.code, v.sku, e.qty_e6, e.occurred_at, e.source_doc_type, e.source_doc_id,
       e.source_line, e.channel
from stock_event e
join facility f on f.facility_id = e.facility_id
join variant v on v.variant_id = e.variant_id
where e.kind = 'consignment_consumption' and e.owner_id = ? and e.occurred_at <= ?
  and not exists (select 1 from stock_event r where r.reverses_event_id = e.event_id)
  and not exists (select 1 from consignment_settlement_line s where s.event_id = e.event_id)
order by e.event_id
"""


def unsettled(ledger: Ledger, vendor: str, up_to: str | None = None) -> dict[str, Any]:
    """The vendor's consumed stock not yet settled: one line per sale."""
    with ledger.store.read() as tx:
        vendor_id = vendor_party(tx, ledger.config(tx), vendor)
        lines = consumption_lines(tx, vendor_id, cutoff(up_to))
    return {"vendor": vendor, "lines": lines, "qty": total(lines)}


def settle(ledger: Ledger, request: Mapping[str, Any]) -> dict[str, Any]:
    """Settle every unsettled consumption of `vendor` up to `up_to` (default now)."""
    key = requests.text(request, "idempotency_key", required=True)
    vendor = requests.text(request, "vendor", required=True)
    actor = requests.text(request, "actor", required=True)
    role = requests.text(request, "role", required=True)
    reference = requests.text(request, "reference")
    up_to = cutoff(request.get("up_to"))
    # the request as given: a defaulted "up to now" is not part of what was asked
    asked = request.get("up_to")
    digest = workflow.fingerprint({"vendor": vendor, "up_to": asked, "reference": reference,
                                   "actor": actor, "role": role})  # fmt: skip

    def work(wf: Workflow) -> dict[str, Any]:
        replayed = wf.replay("consignment.settle", key, digest)
        if replayed is not None:
            return replayed
        access.authorise(wf.config.grants, actor, role, "consignment.settle", None, wf.now)
        vendor_id = vendor_party(wf.tx, wf.config, vendor)
        lines = consumption_lines(wf.tx, vendor_id, up_to)
        if not lines:
            raise LedgerError(
                "nothing_to_settle", f"vendor: {vendor} has no unsettled sales", field="vendor"
            )
        settlement_id = wf.tx.new_ids("consignment_settlement", 1)[0]
        wf.tx.run(
            "insert into consignment_settlement (settlement_id, idempotency_key, vendor_id, "
            "up_to, reference, actor, role, settled_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
            (settlement_id, key, vendor_id, up_to, reference, actor, role, wf.now),
        )
        wf.tx.many(
            "insert into consignment_settlement_line (settlement_id, event_id, qty_e6) "
            "values (?, ?, ?)",
            [
                (settlement_id, line["event_id"], numbers.to_units(Decimal(line["qty"])))
                for line in lines
            ],
        )
        result = {"settlement_id": settlement_id, "vendor": vendor, "reference": reference,
                  "up_to": timeutil.iso(up_to), "lines": lines, "qty": total(lines)}  # fmt: skip
        wf.emit("consignment-settled", result)
        wf.audit(actor, role, "consignment settle", vendor, {"settlement_id": settlement_id})
        return wf.remember("consignment.settle", key, digest, result)

    return workflow.run(ledger, work, actor=actor, role=role, action="consignment settle",
                        subject=vendor)  # fmt: skip


def vendor_party(tx: Tx, config: Any, code: str) -> int:
    party = config.parties.get(code)
    if party is None or party.kind is not PartyKind.VENDOR:
        raise unknown("unknown_vendor", "vendor", code)
    return party.party_id


def cutoff(value: object) -> str:
    if value in (None, ""):
        return timeutil.stored(timeutil.now())
    return timeutil.stored(timeutil.parse_instant(value, "up_to"))


def consumption_lines(tx: Tx, vendor_id: int, up_to: str) -> list[dict[str, Any]]:
    lines = []
    for row in tx.all(UNSETTLED_SQL, (vendor_id, up_to)):
        qty = from_units(row[3])
        lines.append(
            {
                "event_id": row[0],
                "facility": row[1],
                "sku": row[2],
                "qty": numbers.fmt(-qty),
                "occurred_at": timeutil.iso(row[4]),
                "sale": {"document_type": row[5], "document_id": row[6], "line": row[7]},
                "channel": row[8],
            }
        )
    return lines


def total(lines: list[dict[str, Any]]) -> str:
    return numbers.fmt(sum((numbers.parse_quantity(line["qty"], "qty") for line in lines),
                           numbers.ZERO))  # fmt: skip
