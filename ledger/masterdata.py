"""Master data and configuration (`ledger apply`): orgs, vendors, facilities and bins, items,
variants, reason codes, negative-stock policies and periods. All or nothing, audit-logged.

Each record is a JSON object with a `type`; applying the same record again changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ledger import access, numbers, requests, timeutil
from ledger.config import bump_config_version
from ledger.errors import LedgerError, forbidden, missing, validation_error
from ledger.planner import monthly_period
from ledger.storage import Tx
from ledger.vocabulary import (
    CONFIG_WRITERS,
    SYSTEM_REASON_CODES,
    BinKind,
    CostingMethod,
    FacilityType,
    Kind,
    Role,
)

DEFAULT_BIN = "MAIN"
Handler = Callable[[Tx, Mapping[str, Any]], tuple[str, str]]


def apply(tx: Tx, records: list[Mapping[str, Any]], *, actor: str, role: str) -> list[dict]:
    if role not in CONFIG_WRITERS:
        raise forbidden(role, "change master data or configuration")
    # A ledger nobody has been granted anything on yet is being set up: its first apply (which
    # should grant the administrators) is the only write that needs no grant.
    if tx.one("select 1 from role_grant limit 1") is not None:
        access.authorise(load_grants(tx), actor, role, "config.write", None, now_text())
    results = []
    for index, record in enumerate(records):
        try:
            kind = record_type(record)
            code, status = HANDLERS[kind](tx, record)
        except LedgerError as error:
            where = f"records[{index}]"
            error.field = f"{where}.{error.field}" if error.field else where
            error.message = f"{where}.{error.message}"
            error.args = (error.message,)
            raise
        results.append({"type": kind, "code": code, "status": status})
        if status != "unchanged":
            audit(tx, actor, role, f"apply {kind}", code, dict(record))
    if any(result["status"] != "unchanged" for result in results):
        bump_config_version(tx)
    return results


def record_type(record: object) -> str:
    if not isinstance(record, Mapping):
        raise validation_error("record", "must be a JSON object")
    kind = requests.text(record, "type", required=True)
    if kind not in HANDLERS:
        raise validation_error("type", f"{kind!r} is not one of {', '.join(sorted(HANDLERS))}")
    return kind


def audit(
    tx: Tx, actor: str, role: str, action: str, subject: str, detail: dict, outcome: str = "applied"
) -> None:
    audit_id = tx.next_ids("audit_log", 1)
    tx.run(
        "insert into audit_log (audit_id, at, actor, role, action, subject, outcome, detail) "
        "values (?, ?, ?, ?, ?, ?, ?, ?)",
        (audit_id, timeutil.stored(timeutil.now()), actor, role, action, subject, outcome,
         json.dumps(detail, sort_keys=True, default=str)),
    )  # fmt: skip


def upsert(tx: Tx, table: str, key: str, code: str, values: dict[str, Any]) -> tuple[int, str]:
    """Insert or update one row by its natural key; returns its id and what happened."""
    id_column = f"{table}_id"
    columns = list(values)
    row = tx.one(f"select {id_column}, {', '.join(columns)} from {table} where {key} = ?", (code,))
    if row is None:
        new_id = tx.new_ids(table, 1)[0]
        names = ", ".join([id_column, key, *columns])
        marks = ", ".join("?" * (len(columns) + 2))
        tx.run(f"insert into {table} ({names}) values ({marks})", (new_id, code, *values.values()))
        return new_id, "created"
    current = dict(zip(columns, row[1:], strict=True))
    if all(_same(current[name], values[name]) for name in columns):
        return row[0], "unchanged"
    sets = ", ".join(f"{name} = ?" for name in columns)
    tx.run(f"update {table} set {sets} where {id_column} = ?", (*values.values(), row[0]))
    return row[0], "updated"


def _same(stored: object, wanted: object) -> bool:
    if isinstance(wanted, bool):
        return bool(stored) == wanted
    return stored == wanted


def flag(record: Mapping[str, Any], field: str, default: bool = False) -> bool:
    value = record.get(field, default)
    if not isinstance(value, bool):
        raise validation_error(field, "must be true or false")
    return value


def currency(record: Mapping[str, Any], field: str = "currency") -> str:
    value = requests.currency_code(record, field)
    if value is None:
        raise missing(field)
    return value


def party_id(tx: Tx, code: str, field: str, kind: str | None = None) -> int:
    row = tx.one("select party_id, kind from party where code = ?", (code,))
    if row is None or (kind is not None and row[1] != kind):
        raise LedgerError(
            f"unknown_{kind or 'party'}", f"{field}: no {kind or 'party'} {code!r}", field=field
        )
    return row[0]


def facility_row(tx: Tx, code: str, field: str = "facility") -> tuple[int, str]:
    row = tx.one("select facility_id, currency from facility where code = ?", (code,))
    if row is None:
        raise LedgerError("unknown_facility", f"{field}: no facility {code!r}", field=field)
    return row


def apply_party(kind: str) -> Handler:
    def handler(tx: Tx, record: Mapping[str, Any]) -> tuple[str, str]:
        code = requests.text(record, "code", required=True)
        values = {
            "kind": kind,
            "name": requests.text(record, "name") or code,
            "currency": currency(record),
        }
        existing = tx.one("select kind from party where code = ?", (code,))
        if existing and existing[0] != kind:
            raise validation_error("code", f"{code!r} is already a {existing[0]}")
        return code, upsert(tx, "party", "code", code, values)[1]

    return handler


def apply_facility(tx: Tx, record: Mapping[str, Any]) -> tuple[str, str]:
    code = requests.text(record, "code", required=True)
    org_code = requests.text(record, "org", required=True)
    org = party_id(tx, org_code, "org", "org")
    facility_type = requests.choice(record, "facility_type", FacilityType, required=True)
    money = requests.currency_code(record, "currency")
    if money is None:
        money = tx.one("select currency from party where party_id = ?", (org,))[0]  # type: ignore[index]
    held = tx.one(
        "select f.currency from facility f join cost_position c on c.facility_id = f.facility_id "
        "where f.code = ? and c.qty_e6 <> 0 limit 1",
        (code,),
    )
    if held and held[0] != money:
        raise validation_error("currency", "cannot change while the facility holds valued stock")
    values = {
        "name": requests.text(record, "name") or code,
        "facility_type": facility_type.value,
        "org_id": org,
        "currency": money,
    }
    facility_id, status = upsert(tx, "facility", "code", code, values)
    bins = record.get("bins") or []
    if not isinstance(bins, list):
        raise validation_error("bins", "must be a list of bins")
    if not bins and tx.one("select 1 from location where facility_id = ?", (facility_id,)) is None:
        default_kind = "in_transit" if facility_type is FacilityType.IN_TRANSIT else "storage"
        bins = [{"code": DEFAULT_BIN, "kind": default_kind}]
    for index, spec in enumerate(bins):
        if not isinstance(spec, Mapping):
            raise validation_error(f"bins[{index}]", "must be an object with code and kind")
        if _apply_bin(tx, facility_id, spec) != "unchanged" and status == "unchanged":
            status = "updated"
    default_bin = requests.text(record, "default_bin")
    default_id = _default_location(tx, facility_id, default_bin)
    current = tx.one(
        "select default_location_id from facility where facility_id = ?", (facility_id,)
    )
    if current[0] != default_id:  # type: ignore[index]
        tx.run(
            "update facility set default_location_id = ? where facility_id = ?",
            (default_id, facility_id),
        )
        status = "updated" if status == "unchanged" else status
    return code, status


def _default_location(tx: Tx, facility_id: int, code: str | None) -> int:
    if code is not None:
        row = tx.one(
            "select location_id from location where facility_id = ? and code = ?",
            (facility_id, code),
        )
        if row is None:
            raise LedgerError("unknown_bin", f"default_bin: no bin {code!r}", field="default_bin")
        return row[0]
    rows = tx.all(
        "select location_id, kind from location where facility_id = ? order by location_id",
        (facility_id,),
    )
    storage = [row[0] for row in rows if row[1] in ("storage", "pick_face", "in_transit")]
    return (storage or [row[0] for row in rows])[0]


def _apply_bin(tx: Tx, facility_id: int, record: Mapping[str, Any]) -> str:
    code = requests.text(record, "code", required=True)
    kind = requests.choice(record, "kind", BinKind) or BinKind.STORAGE
    zone = requests.text(record, "zone")
    row = tx.one(
        "select location_id, kind, zone from location where facility_id = ? and code = ?",
        (facility_id, code),
    )
    if row is None:
        location_id = tx.new_ids("location", 1)[0]
        tx.run(
            "insert into location (location_id, facility_id, code, zone, kind) "
            "values (?, ?, ?, ?, ?)",
            (location_id, facility_id, code, zone, kind.value),
        )
        return "created"
    if (row[1], row[2]) == (kind.value, zone):
        return "unchanged"
    tx.run(
        "update location set kind = ?, zone = ? where location_id = ?", (kind.value, zone, row[0])
    )
    return "updated"


def apply_bin(tx: Tx, record: Mapping[str, Any]) -> tuple[str, str]:
    facility = requests.text(record, "facility", required=True)
    facility_id, _ = facility_row(tx, facility)
    status = _apply_bin(tx, facility_id, record)
    return f"{facility}/{record.get('code')}", status


def apply_item(tx: Tx, record: Mapping[str, Any]) -> tuple[str, str]:
    code = requests.text(record, "code", required=True)
    method = (
        requests.choice(record, "costing_method", CostingMethod) or CostingMethod.MOVING_AVERAGE
    )
    shelf_life = record.get("shelf_life_days")
    if shelf_life is not None and (
        isinstance(shelf_life, bool) or not isinstance(shelf_life, int) or shelf_life <= 0
    ):
        raise validation_error("shelf_life_days", "must be a positive whole number of days")
    held = tx.one(
        "select i.costing_method from item i join variant v on v.item_id = i.item_id "
        "join cost_position c on c.variant_id = v.variant_id where i.code = ? limit 1",
        (code,),
    )
    if held and held[0] != method.value:
        raise LedgerError(
            "costing_method_locked",
            f"costing_method: item {code} already has valued stock under {held[0]}",
            field="costing_method",
        )
    values = {
        "name": requests.text(record, "name") or code,
        "category": requests.text(record, "category"),
        "costing_method": method.value,
        "lot_tracked": flag(record, "lot_tracked"),
        "serial_tracked": flag(record, "serial_tracked"),
        "shelf_life_days": shelf_life,
    }
    return code, upsert(tx, "item", "code", code, values)[1]


def apply_variant(tx: Tx, record: Mapping[str, Any]) -> tuple[str, str]:
    sku = requests.text(record, "sku", required=True)
    item_code = requests.text(record, "item", required=True)
    item = tx.one("select item_id from item where code = ?", (item_code,))
    if item is None:
        raise LedgerError("unknown_item", f"item: no item {item_code!r}", field="item")
    barcode = requests.text(record, "barcode")
    if barcode is not None:
        other = tx.one("select sku from variant where barcode = ? and sku <> ?", (barcode, sku))
        if other:
            raise validation_error("barcode", f"{barcode!r} already belongs to {other[0]}")
    current = tx.one("select item_id from variant where sku = ?", (sku,))
    if current and current[0] != item[0]:
        raise validation_error("item", f"variant {sku} belongs to another item and cannot move")
    values = {
        "item_id": item[0],
        "barcode": barcode,
        "uom": requests.text(record, "uom") or "each",
        "name": requests.text(record, "name"),
    }
    return sku, upsert(tx, "variant", "sku", sku, values)[1]


def apply_reason(tx: Tx, record: Mapping[str, Any]) -> tuple[str, str]:
    code = requests.text(record, "code", required=True)
    kinds = record.get("kinds") or []
    if not isinstance(kinds, list):
        raise validation_error("kinds", "must be a list of movement kinds")
    for index, kind in enumerate(kinds):
        if kind not in Kind.__members__.values():
            raise validation_error(f"kinds[{index}]", f"{kind!r} is not a movement kind")
    values = {
        "description": requests.text(record, "description") or code,
        "kinds": ",".join(sorted(kinds)),
        "is_active": flag(record, "is_active", default=True),
    }
    row = tx.one("select description, kinds, is_active from reason_code where code = ?", (code,))
    if row is None:
        tx.run(
            "insert into reason_code (code, description, kinds, is_active) values (?, ?, ?, ?)",
            (code, *values.values()),
        )
        return code, "created"
    if (row[0], row[1], bool(row[2])) == tuple(values.values()):
        return code, "unchanged"
    tx.run(
        "update reason_code set description = ?, kinds = ?, is_active = ? where code = ?",
        (*values.values(), code),
    )
    return code, "updated"


def apply_policy(tx: Tx, record: Mapping[str, Any]) -> tuple[str, str]:
    facility = requests.text(record, "facility", required=True)
    facility_id, _ = facility_row(tx, facility)
    sku = requests.text(record, "sku")
    variant_id = 0
    if sku is not None:
        row = tx.one("select variant_id from variant where sku = ?", (sku,))
        if row is None:
            raise LedgerError("unknown_sku", f"sku: no such sku {sku!r}", field="sku")
        variant_id = row[0]
    allow = flag(record, "allow_negative")
    code = f"{facility}/{sku or '*'}"
    row = tx.one(
        "select allow_negative from negative_stock_policy where facility_id = ? and variant_id = ?",
        (facility_id, variant_id),
    )
    if row is None:
        tx.run(
            "insert into negative_stock_policy (facility_id, variant_id, allow_negative) "
            "values (?, ?, ?)",
            (facility_id, variant_id, allow),
        )
        return code, "created"
    if bool(row[0]) == allow:
        return code, "unchanged"
    tx.run(
        "update negative_stock_policy set allow_negative = ? "
        "where facility_id = ? and variant_id = ?",
        (allow, facility_id, variant_id),
    )
    return code, "updated"


def apply_period(tx: Tx, record: Mapping[str, Any]) -> tuple[str, str]:
    code = requests.text(record, "code", required=True)
    if record.get("starts_at") is None and record.get("ends_at") is None:
        try:
            year, month = (int(part) for part in code.split("-"))
            month_start = timeutil.parse_day(f"{year:04d}-{month:02d}-01", "code")
        except (ValueError, LedgerError):
            raise validation_error(
                "code", "must be YYYY-MM, or give starts_at and ends_at"
            ) from None
        period = monthly_period(month_start)
        starts, ends = period.starts_at, period.ends_at
    else:
        starts = timeutil.stored(timeutil.parse_instant(record.get("starts_at"), "starts_at"))
        ends = timeutil.stored(timeutil.parse_instant(record.get("ends_at"), "ends_at"))
        if ends <= starts:
            raise validation_error("ends_at", "must be after starts_at")
    row = tx.one("select starts_at, ends_at from period where code = ?", (code,))
    if row is not None:
        if (row[0], row[1]) == (starts, ends):
            return code, "unchanged"
        raise validation_error("code", f"period {code} exists with other dates")
    overlap = tx.one("select code from period where starts_at < ? and ends_at > ?", (ends, starts))
    if overlap:
        raise validation_error("starts_at", f"overlaps period {overlap[0]}")
    tx.run(
        "insert into period (code, starts_at, ends_at, status, changed_at, changed_by, "
        "close_version) values (?, ?, ?, 'open', ?, 'apply', 0)",
        (code, starts, ends, timeutil.stored(timeutil.now())),
    )
    return code, "created"


def load_grants(tx: Tx) -> dict[str, list[access.Grant]]:
    grants: dict[str, list[access.Grant]] = {}
    for row in tx.all(
        "select actor, role, facility_id, valid_from, valid_to, permissions from role_grant"
    ):
        permissions = frozenset(item for item in row[5].split(",") if item)
        grant = access.Grant(row[0], Role(row[1]), row[2], row[3], row[4], permissions)
        grants.setdefault(grant.actor, []).append(grant)
    return grants


def now_text() -> str:
    return timeutil.stored(timeutil.now())


def _moment(record: Mapping[str, Any], field: str) -> str | None:
    if record.get(field) in (None, ""):
        return None
    return timeutil.stored(timeutil.parse_instant(record[field], field))


def apply_grant(tx: Tx, record: Mapping[str, Any]) -> tuple[str, str]:
    actor = requests.text(record, "actor", required=True)
    role = requests.choice(record, "role", Role, required=True)
    facility = requests.text(record, "facility")
    facility_id = facility_row(tx, facility)[0] if facility else None
    permissions = record.get("permissions") or []
    if not isinstance(permissions, list) or not set(permissions) <= access.PERMISSIONS:
        allowed = ", ".join(sorted(access.PERMISSIONS))
        raise validation_error("permissions", f"must be a list of: {allowed}")
    valid_from, valid_to = _moment(record, "valid_from"), _moment(record, "valid_to")
    if valid_from and valid_to and valid_to <= valid_from:
        raise validation_error("valid_to", "must be after valid_from")
    values = (valid_from, valid_to, ",".join(sorted(permissions)))
    code = f"{actor}/{role.value}/{facility or '*'}"
    row = tx.one(
        "select valid_from, valid_to, permissions from role_grant where actor = ? and role = ? "
        "and coalesce(facility_id, 0) = ?",
        (actor, role.value, facility_id or 0),
    )
    if row is not None and tuple(row) == values:
        return code, "unchanged"
    if row is not None:
        tx.run(
            "update role_grant set valid_from = ?, valid_to = ?, permissions = ? "
            "where actor = ? and role = ? and coalesce(facility_id, 0) = ?",
            (*values, actor, role.value, facility_id or 0),
        )
        return code, "updated"
    tx.run(
        "insert into role_grant (actor, role, facility_id, valid_from, valid_to, permissions, "
        "granted_at, granted_by) values (?, ?, ?, ?, ?, ?, ?, ?)",
        (actor, role.value, facility_id, *values, now_text(), "apply"),
    )
    return code, "created"


def apply_approval_policy(tx: Tx, record: Mapping[str, Any]) -> tuple[str, str]:
    facility = requests.text(record, "facility")
    facility_id = facility_row(tx, facility)[0] if facility else None
    scope = facility or "*"

    def amount(field: str) -> int | None:
        value = record.get(field)
        if value is None:
            return None
        number = numbers.parse_decimal(value, field)
        if number < 0:
            raise validation_error(field, "must not be negative")
        return numbers.to_units(number)

    values = (
        facility_id,
        amount("adjustment_value_threshold"),
        amount("transfer_value_threshold"),
        amount("transfer_pct_threshold"),
        flag(record, "no_self_approval"),
    )
    row = tx.one(
        "select facility_id, adjustment_value_threshold_e6, transfer_value_threshold_e6, "
        "transfer_pct_threshold_e6, no_self_approval from approval_policy where scope = ?",
        (scope,),
    )
    if row is not None and (*row[:4], bool(row[4])) == values:
        return scope, "unchanged"
    if row is not None:
        tx.run("delete from approval_policy where scope = ?", (scope,))
    tx.run(
        "insert into approval_policy (scope, facility_id, adjustment_value_threshold_e6, "
        "transfer_value_threshold_e6, transfer_pct_threshold_e6, no_self_approval) "
        "values (?, ?, ?, ?, ?, ?)",
        (scope, *values),
    )
    return scope, "updated" if row is not None else "created"


def seed_system_reasons(tx: Tx) -> None:
    """The reason codes the ledger writes itself (settlements, zero-stock revaluation)."""
    for code, (description, kinds) in SYSTEM_REASON_CODES.items():
        if tx.one("select 1 from reason_code where code = ?", (code,)) is None:
            tx.run(
                "insert into reason_code (code, description, kinds, is_active) values (?, ?, ?, ?)",
                (code, description, ",".join(sorted(kinds)), True),
            )
            bump_config_version(tx)


HANDLERS: dict[str, Handler] = {
    "org": apply_party("org"),
    "vendor": apply_party("vendor"),
    "facility": apply_facility,
    "bin": apply_bin,
    "item": apply_item,
    "variant": apply_variant,
    "reason_code": apply_reason,
    "policy": apply_policy,
    "period": apply_period,
    "grant": apply_grant,
    "approval_policy": apply_approval_policy,
}
