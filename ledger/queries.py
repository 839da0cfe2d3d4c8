"""Reads on the ledger: balances (now or as of a business time), the stock card, valuation and
the outbox feed. Reads run in a snapshot and never block writers."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ledger import timeutil
from ledger.access import Viewer, can_see, can_see_cost
from ledger.config import Config, Facility, Variant
from ledger.errors import LedgerError, unknown
from ledger.numbers import ZERO, fmt, from_units, unit_cost
from ledger.render import event_json, money, without_cost
from ledger.session import EVENT_COLUMNS
from ledger.storage import Tx
from ledger.vocabulary import PartyKind


def lot_numbers(tx: Tx, lot_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(lot_ids))
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    return dict(tx.all(f"select lot_id, lot_number from lot where lot_id in ({marks})", ids))


def find_variant(config: Config, sku: str) -> Variant:
    variant = config.variant(sku)
    if variant is None:
        raise unknown("unknown_sku", "sku", sku)
    return variant


def find_facility(config: Config, code: str) -> Facility:
    facility = config.facilities.get(code)
    if facility is None:
        raise unknown("unknown_facility", "facility", code)
    return facility


def balance(
    tx: Tx,
    config: Config,
    sku: str,
    facility: str | None,
    as_of: str | None,
    viewer: Viewer | None = None,
) -> dict[str, Any]:
    """Every facility's positions of a SKU (L9.2) that the viewer is granted, now or as of a
    business time."""
    variant = find_variant(config, sku)
    at = now_text()
    where, params = "variant_id = ?", [variant.variant_id]
    if facility is not None:
        where += " and facility_id = ?"
        params.append(find_facility(config, facility).facility_id)
    if as_of is None:
        rows = tx.all(
            "select facility_id, location_id, lot_key, bucket, owner_id, qty_e6 "
            f"from stock_balance where {where} and qty_e6 <> 0",
            params,
        )
    else:
        moment = timeutil.stored(timeutil.parse_instant(as_of, "as_of"))
        rows = tx.all(
            "select facility_id, location_id, coalesce(lot_id, 0), bucket, owner_id, sum(qty_e6) "
            f"from stock_event where {where} and occurred_at <= ? "
            "group by facility_id, location_id, coalesce(lot_id, 0), bucket, owner_id "
            "having sum(qty_e6) <> 0",
            [*params, moment],
        )
    lots = lot_numbers(tx, (row[2] for row in rows if row[2]))
    facilities: dict[int, dict[str, Any]] = {}
    totals: dict[int, dict[str, Decimal]] = {}
    for facility_id, location_id, lot_key, bucket, owner_id, units in sorted(rows):
        if not can_see(config.grants, viewer, facility_id, at):
            continue
        qty = from_units(units)
        owner = config.parties_by_id[owner_id]
        entry = facilities.setdefault(
            facility_id, {"facility": config.facilities_by_id[facility_id].code, "positions": []}
        )
        entry["positions"].append(
            {
                "bin": config.locations_by_id[location_id].code,
                "lot": lots.get(lot_key),
                "bucket": bucket,
                "owner": owner.code,
                "qty": fmt(qty),
            }
        )
        total = totals.setdefault(facility_id, {})
        total["on_hand"] = total.get("on_hand", ZERO) + qty
        total[bucket] = total.get(bucket, ZERO) + qty
        ownership = "owned" if owner.kind is PartyKind.ORG else "consigned"
        total[ownership] = total.get(ownership, ZERO) + qty
    for facility_id, entry in facilities.items():
        entry.update({name: fmt(qty) for name, qty in sorted(totals[facility_id].items())})
    return {
        "sku": variant.sku,
        "as_of": as_of,
        "facilities": [
            facilities[key] for key in sorted(facilities, key=lambda k: facilities[k]["facility"])
        ],
    }


def card(
    tx: Tx,
    config: Config,
    sku: str,
    facility: str,
    start: str | None,
    end: str | None,
    viewer: Viewer | None = None,
) -> dict[str, Any]:
    """A facility's stock card for a SKU in business-time order, with the running balance; cost
    fields only for viewers who may see cost there."""
    variant = find_variant(config, sku)
    site = find_facility(config, facility)
    costs = visible(config, viewer, site)
    key = (variant.variant_id, site.facility_id)
    low = timeutil.stored(timeutil.parse_instant(start, "from")) if start else ""
    high = timeutil.stored(timeutil.parse_instant(end, "to")) if end else "~"
    opening = tx.one(
        "select coalesce(sum(qty_e6), 0), coalesce(sum(cost_delta_e6), 0) from stock_event "
        "where variant_id = ? and facility_id = ? and occurred_at < ?",
        (*key, low),
    )
    rows = tx.all(
        f"select {EVENT_COLUMNS} from stock_event where variant_id = ? and facility_id = ? "
        "and occurred_at >= ? and occurred_at <= ? order by occurred_at, event_id",
        (*key, low, high),
    )
    lots = lot_numbers(tx, (row[6] for row in rows if row[6]))
    running_qty, running_value = opening  # type: ignore[misc]
    events = []
    for row in rows:
        running_qty += row[11]
        running_value += row[14]
        event = event_json(row, config, lots)
        event["balance_qty"] = fmt(from_units(running_qty))
        event["balance_value"] = money(running_value)
        events.append(event if costs else without_cost(event))
    result = {
        "sku": variant.sku,
        "facility": site.code,
        "from": start,
        "to": end,
        "opening_qty": fmt(from_units(opening[0])),  # type: ignore[index]
        "opening_value": money(opening[1]),  # type: ignore[index]
        "closing_qty": fmt(from_units(running_qty)),
        "closing_value": money(running_value),
        "events": events,
    }
    return result if costs else without_cost(result)


def valuation(
    tx: Tx, config: Config, sku: str, facility: str, viewer: Viewer | None = None
) -> dict[str, Any]:
    """Owned stock's quantity, value, average cost and FIFO layers; consigned stock is shown
    apart and never valued (L6.2). Only for viewers who may see cost (L8.3)."""
    variant = find_variant(config, sku)
    site = find_facility(config, facility)
    if not visible(config, viewer, site):
        raise forbidden_cost(viewer, site)
    key = (site.facility_id, variant.variant_id)
    row = tx.one(
        "select costing_method, currency, qty_e6, value_e6, last_unit_cost_e6 from cost_position "
        "where facility_id = ? and variant_id = ?",
        key,
    )
    consigned = tx.one(
        "select coalesce(sum(b.qty_e6), 0) from stock_balance b join party p "
        "on p.party_id = b.owner_id where b.facility_id = ? and b.variant_id = ? "
        "and p.kind = 'vendor'",
        key,
    )
    item = config.items_by_id[variant.item_id]
    if row is None:
        method, currency, qty, value, last = item.costing_method.value, site.currency, 0, 0, None
    else:
        method, currency, qty, value, last = row
    quantity, amount = from_units(qty), from_units(value)
    average = unit_cost(amount / quantity) if quantity > 0 else from_units(last)
    layers = tx.all(
        "select layer_id, opened_at, unit_cost_e6, opened_qty_e6, remaining_qty_e6, "
        "remaining_value_e6 from cost_layer where facility_id = ? and variant_id = ? "
        "and remaining_qty_e6 <> 0 order by layer_id",
        key,
    )
    return {
        "sku": variant.sku,
        "facility": site.code,
        "costing_method": method,
        "currency": currency,
        "qty": fmt(quantity),
        "value": money(value),
        "avg_cost": fmt(average),
        "consigned_qty": fmt(from_units(consigned[0])),  # type: ignore[index]
        "layers": [
            {
                "layer_id": layer[0],
                "opened_at": timeutil.iso(layer[1]),
                "unit_cost": fmt(from_units(layer[2])),
                "opened_qty": fmt(from_units(layer[3])),
                "remaining_qty": fmt(from_units(layer[4])),
                "remaining_value": money(layer[5]),
            }
            for layer in layers
        ],
    }


def visible(config: Config, viewer: Viewer | None, site: Facility) -> bool:
    """Whether the viewer may see cost at the facility; refused outright if not granted it."""
    at = now_text()
    if not can_see(config.grants, viewer, site.facility_id, at):
        error = LedgerError("forbidden", f"facility: no grant to see {site.code}", field="facility")
        error.status = 403
        raise error
    return can_see_cost(config.grants, viewer, site.facility_id, at)


def forbidden_cost(viewer: Viewer | None, site: Facility) -> LedgerError:
    error = LedgerError(
        "forbidden",
        f"role: {viewer.role if viewer else '?'} has no cost_view at {site.code} "
        "and no finance_audit",
        field="role",
    )
    error.status = 403
    return error


def now_text() -> str:
    return timeutil.stored(timeutil.now())


def outbox(tx: Tx, config: Config, after: int, limit: int) -> list[dict[str, Any]]:
    rows = tx.all(
        f"select o.seq, o.topic, o.payload, o.created_at, {prefixed('e', EVENT_COLUMNS)} "
        "from outbox o left join stock_event e on e.event_id = o.event_id "
        "where o.seq > ? order by o.seq limit ?",
        (after, limit),
    )
    lots = lot_numbers(tx, (row[10] for row in rows if row[10]))
    messages = []
    for row in rows:
        body = event_json(row[4:], config, lots) if row[4] is not None else json.loads(row[2])
        messages.append(
            {"seq": row[0], "topic": row[1], "created_at": timeutil.iso(row[3]), "payload": body}
        )
    return messages


def prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in columns.split(","))
