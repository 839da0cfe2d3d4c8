"""Periods (L2.5): open → closed → locked, reopen by the elevated role with a justification.

Closing writes the period snapshot (opening, inbound, outbound, adjustments and closing, in
quantity and value, per position). Every transition and every refused attempt is audit-logged.
"""

from __future__ import annotations

import json
from typing import Any

from ledger import access, timeutil
from ledger.config import Config, bump_config_version
from ledger.errors import LedgerError, forbidden, missing
from ledger.masterdata import audit, load_grants
from ledger.numbers import fmt, from_units
from ledger.render import money
from ledger.storage import Store, Tx
from ledger.vocabulary import (
    ADJUSTMENT_KINDS,
    INBOUND_KINDS,
    OUTBOUND_KINDS,
    PERIOD_CLOSERS,
    PERIOD_ELEVATED,
    Kind,
)

TOPICS = {"close": "period-closed", "reopen": "period-reopened", "lock": "period-locked"}
RULES = {
    # action: (roles allowed, status required, status after)
    "close": (PERIOD_CLOSERS, "open", "closed"),
    "reopen": (PERIOD_ELEVATED, "closed", "open"),
    "lock": (PERIOD_ELEVATED, "closed", "locked"),
}


def transition(
    store: Store, action: str, code: str, *, actor: str, role: str,
    justification: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    try:
        return store.in_write(lambda tx: _transition(tx, action, code, actor, role, justification))
    except LedgerError as error:
        if error.code in ("forbidden", "validation_error", "period_order", "period_locked"):
            # A refused attempt to get past a period control is itself on the record (L8.4).
            detail = {"error": error.code, "message": error.message, "justification": justification}
            store.in_write(
                lambda tx: audit(tx, actor, role, f"period {action}", code, detail, "refused")
            )
        raise


def _transition(
    tx: Tx, action: str, code: str, actor: str, role: str, justification: str | None
) -> dict[str, Any]:
    roles, required, after = RULES[action]
    if role not in roles:
        raise forbidden(role, f"{action} a period")
    permission = "period.close" if action == "close" else "period.elevated"
    access.authorise(
        load_grants(tx), actor, role, permission, None, timeutil.stored(timeutil.now())
    )
    if action == "reopen" and not (justification or "").strip():
        raise missing("justification")
    row = tx.one(
        "select starts_at, ends_at, status, close_version from period where code = ?", (code,)
    )
    if row is None:
        raise LedgerError("unknown_period", f"period: no period {code!r}", field="period")
    starts, ends, status, version = row
    if status == "locked":
        raise LedgerError("period_locked", f"period: {code} is locked for good", field="period")
    if status != required:
        error = LedgerError(
            "invalid_transition", f"period: {code} is {status}, cannot {action} it", field="period"
        )
        error.status = 409  # a state conflict, as in every workflow
        raise error
    check_order(tx, action, code, starts)
    moment = timeutil.stored(timeutil.now())
    if action == "close":
        version += 1
        write_snapshot(tx, code, version, starts, ends)
    tx.run(
        "update period set status = ?, changed_at = ?, changed_by = ?, close_version = ? "
        "where code = ?",
        (after, moment, actor, version, code),
    )
    detail = {"from": status, "to": after, "justification": justification}
    audit(tx, actor, role, f"period {action}", code, detail)
    seq = tx.next_ids("outbox", 1)
    payload = {"period": code, "status": after, "actor": actor, "close_version": version}
    tx.run(
        "insert into outbox (seq, topic, event_id, payload, created_at) values (?, ?, null, ?, ?)",
        (seq, TOPICS[action], json.dumps(payload, sort_keys=True), moment),
    )  # fmt: skip
    bump_config_version(tx)
    return {"ok": True, "period": code, "status": after, "close_version": version}


def check_order(tx: Tx, action: str, code: str, starts: str) -> None:
    """Periods close and lock in order and reopen in reverse order."""
    if action == "close":
        earlier = tx.one(
            "select code from period where starts_at < ? and status = 'open' order by starts_at",
            (starts,),
        )
        blocker = earlier and f"earlier period {earlier[0]} is still open"
    elif action == "lock":
        earlier = tx.one(
            "select code from period where starts_at < ? and status <> 'locked' order by starts_at",
            (starts,),
        )
        blocker = earlier and f"earlier period {earlier[0]} is not locked"
    else:
        # Reopening under a closed later period would leave that period's snapshot stale.
        later = tx.one(
            "select code, status from period where starts_at > ? and status <> 'open' "
            "order by starts_at",
            (starts,),
        )
        blocker = later and f"later period {later[0]} is {later[1]}"
    if blocker:
        raise LedgerError(
            "period_order", f"period: cannot {action} {code}: {blocker}", field="period"
        )


def _category_sql() -> str:
    def quoted(kinds: frozenset[Kind]) -> str:
        return ", ".join(f"'{kind.value}'" for kind in sorted(kinds))

    kind = "coalesce(o.kind, e.kind)"
    return (
        f"case when {kind} in ({quoted(ADJUSTMENT_KINDS)}) then 'adjustment' "
        f"when {kind} in ({quoted(INBOUND_KINDS)}) then 'inbound' "
        f"when {kind} in ({quoted(OUTBOUND_KINDS)}) then 'outbound' "
        "when e.qty_e6 > 0 or (e.qty_e6 = 0 and e.cost_delta_e6 > 0) then 'inbound' "
        "else 'outbound' end"
    )


SNAPSHOT_SQL = f"""
with moves as (
    select
        e.position_id,
        e.occurred_at,
        e.qty_e6,
        e.cost_delta_e6,
        {_category_sql()} as category
    from stock_event e
    left join stock_event o on o.event_id = e.reverses_event_id
    where e.occurred_at < ?
),
totals as (
    select
        position_id,
        sum(case when occurred_at < ? then qty_e6 else 0 end) as opening_qty,
        sum(case when occurred_at >= ? and category = 'inbound' then qty_e6 else 0 end)
            as inbound_qty,
        sum(case when occurred_at >= ? and category = 'outbound' then -qty_e6 else 0 end)
            as outbound_qty,
        sum(case when occurred_at >= ? and category = 'adjustment' then qty_e6 else 0 end)
            as adjustment_qty,
        sum(qty_e6) as closing_qty,
        sum(case when occurred_at < ? then cost_delta_e6 else 0 end) as opening_value,
        sum(case when occurred_at >= ? and category = 'inbound' then cost_delta_e6 else 0 end)
            as inbound_value,
        sum(case when occurred_at >= ? and category = 'outbound' then -cost_delta_e6 else 0 end)
            as outbound_value,
        sum(case when occurred_at >= ? and category = 'adjustment' then cost_delta_e6 else 0 end)
            as adjustment_value,
        sum(cost_delta_e6) as closing_value,
        sum(case when occurred_at >= ? then 1 else 0 end) as moves_in_period
    from moves
    group by position_id
)
select
    ?, ?, t.position_id, b.variant_id, b.facility_id, b.location_id, b.lot_key, b.bucket,
    b.owner_id, t.opening_qty, t.inbound_qty, t.outbound_qty, t.adjustment_qty, t.closing_qty,
    t.opening_value, t.inbound_value, t.outbound_value, t.adjustment_value, t.closing_value
from totals t
join stock_balance b on b.position_id = t.position_id
where t.moves_in_period > 0 or t.opening_qty <> 0 or t.opening_value <> 0
"""

SNAPSHOT_COLUMNS = (
    "period_code, close_version, position_id, variant_id, facility_id, location_id, lot_key, "
    "bucket, owner_id, opening_qty_e6, inbound_qty_e6, outbound_qty_e6, adjustment_qty_e6, "
    "closing_qty_e6, opening_value_e6, inbound_value_e6, outbound_value_e6, "
    "adjustment_value_e6, closing_value_e6"
)


def write_snapshot(tx: Tx, code: str, version: int, starts: str, ends: str) -> None:
    tx.run(
        f"insert into period_snapshot ({SNAPSHOT_COLUMNS}) {SNAPSHOT_SQL}",
        (ends, *([starts] * (SNAPSHOT_SQL.count("?") - 3)), code, version),
    )


def listing(tx: Tx) -> list[dict[str, Any]]:
    rows = tx.all(
        "select code, starts_at, ends_at, status, changed_at, changed_by, close_version "
        "from period order by starts_at"
    )
    return [
        {
            "period": row[0],
            "starts_at": timeutil.iso(row[1]),
            "ends_at": timeutil.iso(row[2]),
            "status": row[3],
            "changed_at": timeutil.iso(row[4]),
            "changed_by": row[5],
            "close_version": row[6],
        }
        for row in rows
    ]


def snapshot(tx: Tx, config: Config, code: str) -> dict[str, Any]:
    """The latest snapshot written when `code` was closed."""
    row = tx.one("select status, close_version from period where code = ?", (code,))
    if row is None:
        raise LedgerError("unknown_period", f"period: no period {code!r}", field="period")
    rows = tx.all(
        f"select {SNAPSHOT_COLUMNS} from period_snapshot where period_code = ? "
        "and close_version = ? order by facility_id, variant_id, position_id",
        (code, row[1]),
    )
    lots = dict(tx.all("select lot_id, lot_number from lot")) if rows else {}
    positions = []
    for r in rows:
        positions.append(
            {
                "facility": config.facilities_by_id[r[4]].code,
                "sku": config.variants_by_id[r[3]].sku,
                "bin": config.locations_by_id[r[5]].code,
                "lot": lots.get(r[6]),
                "bucket": r[7],
                "owner": config.parties_by_id[r[8]].code,
                **{name: fmt(from_units(r[9 + i])) for i, name in enumerate(QTY_NAMES)},
                **{name: money(r[14 + i]) for i, name in enumerate(VALUE_NAMES)},
            }
        )
    return {"period": code, "status": row[0], "close_version": row[1], "positions": positions}


QTY_NAMES = ("opening_qty", "inbound_qty", "outbound_qty", "adjustment_qty", "closing_qty")
VALUE_NAMES = (
    "opening_value",
    "inbound_value",
    "outbound_value",
    "adjustment_value",
    "closing_value",
)
