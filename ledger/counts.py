"""Cycle counts (L5.3): a count session snapshots the system quantity per position, counters
record blind counts, a variance beyond the facility's tolerance needs a recount by another
counter, and finalising posts the `count_variance` movements with actor and comment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ledger import timeutil, workflow
from ledger.access import authorise as authorise_role
from ledger.config import Config, Facility, Item, Location, Variant
from ledger.errors import LedgerError, unknown, validation_error
from ledger.numbers import ZERO, fmt, from_units, parse_quantity, to_units
from ledger.operations import (
    Caller,
    authorise,
    caller_of,
    comment_of,
    conflict,
    each,
    facility_of,
    fields_of,
    fingerprint,
    instant,
    location_of,
    lot_id_of,
    operation,
    posting,
    quantity,
    variant_of,
    whole_number,
    within,
)
from ledger.queries import lot_numbers
from ledger.requests import choice, text
from ledger.session import PlannedEvent
from ledger.storage import Tx
from ledger.vocabulary import Bucket, Role
from ledger.workflow import Workflow

if TYPE_CHECKING:
    from ledger.api import Ledger


class SessionStatus(StrEnum):
    OPEN = "open"
    FINALISED = "finalised"


class LineStatus(StrEnum):
    PENDING = "pending"  # not counted yet
    COUNTED = "counted"  # counted once, within tolerance
    RECOUNT_REQUIRED = "recount_required"  # counted once, beyond tolerance
    RECOUNTED = "recounted"  # the recount is the final count


COUNTED_BUCKETS = frozenset({Bucket.AVAILABLE, Bucket.QUARANTINE, Bucket.DAMAGED})
COUNT_VARIANCE = "count_variance"
ALL_CATEGORIES = ""  # a tolerance rule for every category of the facility


# -- tolerance rules ---------------------------------------------------------------------------

TOLERANCE_FIELDS = frozenset({"actor", "role", "facility", "category", "max_qty", "max_pct"})


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How far a count may differ from the system quantity and still be accepted without a
    recount: at most `max_qty` units and at most `max_pct` percent of the system quantity; every
    limit that is set must hold. No rule at all means no tolerance: any variance is recounted."""

    max_qty: Decimal | None
    max_pct: Decimal | None

    def allows(self, variance: Decimal, system_qty: Decimal) -> bool:
        if self.max_qty is not None and abs(variance) > self.max_qty:
            return False
        return self.max_pct is None or abs(variance) * 100 <= abs(system_qty) * self.max_pct


NO_TOLERANCE = Tolerance(ZERO, None)


@dataclass(frozen=True, slots=True)
class ToleranceRequest:
    actor: str
    role: str
    facility: str
    category: str
    tolerance: Tolerance


def parse_tolerance(raw: object) -> ToleranceRequest:
    raw = fields_of(raw, TOLERANCE_FIELDS)
    max_qty, max_pct = limit(raw, "max_qty"), limit(raw, "max_pct")
    if max_qty is None and max_pct is None:
        raise validation_error("max_qty", "is required: give max_qty, max_pct or both")
    return ToleranceRequest(
        actor=text(raw, "actor", required=True),
        role=choice(raw, "role", Role, required=True).value,
        facility=text(raw, "facility", required=True),
        category=text(raw, "category") or ALL_CATEGORIES,
        tolerance=Tolerance(max_qty, max_pct),
    )


def limit(raw: Mapping[str, Any], field: str) -> Decimal | None:
    if raw.get(field) is None:
        return None
    value = parse_quantity(raw[field], field)
    if value < 0:
        raise validation_error(field, "must not be negative")
    return value


def set_tolerance(ledger: Ledger, request: Mapping[str, Any]) -> dict[str, Any]:
    """Set the count tolerance of a facility, for one item category or (without `category`)
    for all; sysadmin or inventory_controller. Setting the same rule again changes nothing."""
    req = parse_tolerance(request)

    def work(wf: Workflow) -> dict[str, Any]:
        facility = facility_of(wf.config, req.facility)
        authorise_tolerance(wf, req, facility)
        if req.category and not any(i.category == req.category for i in wf.config.items.values()):
            raise validation_error("category", f"no item has the category {req.category!r}")
        status = write_tolerance(wf, req, facility)
        result = {
            "facility": facility.code, "category": req.category or None,
            "max_qty": fmt(req.tolerance.max_qty), "max_pct": fmt(req.tolerance.max_pct),
            "status": status,
        }  # fmt: skip
        if status != "unchanged":
            wf.audit(req.actor, req.role, "count.tolerance", facility.code, result)
        return result

    return workflow.run(
        ledger, work, actor=req.actor, role=req.role, action="count.tolerance",
        subject=req.facility,
    )  # fmt: skip


def authorise_tolerance(wf: Workflow, req: ToleranceRequest, facility: Facility) -> None:
    authorise_role(
        wf.config.grants, req.actor, req.role, "count.configure", facility.facility_id, wf.now,
        facility.code,
    )  # fmt: skip


def write_tolerance(wf: Workflow, req: ToleranceRequest, facility: Facility) -> str:
    key = (facility.facility_id, req.category)
    values = (to_units(req.tolerance.max_qty), to_units(req.tolerance.max_pct))
    row = wf.tx.one(
        "select max_qty_e6, max_pct_e6 from count_tolerance where facility_id = ? and category = ?",
        key,
    )
    if row is not None and tuple(row) == values:
        return "unchanged"
    if row is None:
        wf.tx.run(
            "insert into count_tolerance (facility_id, category, max_qty_e6, max_pct_e6, set_at, "
            "set_by) values (?, ?, ?, ?, ?, ?)",
            (*key, *values, wf.now, req.actor),
        )
        return "created"
    wf.tx.run(
        "update count_tolerance set max_qty_e6 = ?, max_pct_e6 = ?, set_at = ?, set_by = ? "
        "where facility_id = ? and category = ?",
        (*values, wf.now, req.actor, *key),
    )
    return "updated"


def tolerance_for(tx: Tx, facility_id: int, category: str | None) -> Tolerance:
    """The category's own rule, else the facility's rule for all categories, else none."""
    rows = {
        row[0]: Tolerance(from_units(row[1]), from_units(row[2]))
        for row in tx.all(
            "select category, max_qty_e6, max_pct_e6 from count_tolerance where facility_id = ?",
            (facility_id,),
        )
    }
    return rows.get(category or ALL_CATEGORIES) or rows.get(ALL_CATEGORIES) or NO_TOLERANCE


# -- the session as stored -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One count of a line: the first count or the recount."""

    attempt: int
    counted: Decimal
    system: Decimal
    within_tolerance: bool
    counter: str


@dataclass(frozen=True, slots=True)
class CountLine:
    line: int
    variant: Variant
    item: Item
    location: Location
    lot_key: int
    lot: str | None
    bucket: str
    owner_id: int
    in_snapshot: bool
    snapshot_qty: Decimal
    status: LineStatus
    entries: tuple[Entry, ...]

    @property
    def key(self) -> tuple[int, int, int, str, int]:
        return (
            self.variant.variant_id, self.location.location_id, self.lot_key, self.bucket,
            self.owner_id,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class CountSession:
    session_id: int
    facility: Facility
    status: SessionStatus
    bins: frozenset[int] | None
    skus: frozenset[int] | None
    lines: dict[int, CountLine]


def load_session(tx: Tx, config: Config, session_id: int, *, lock: bool = False) -> CountSession:
    """A count session with its lines and counts; `lock` holds it (on PostgreSQL) until commit,
    so counts and the finalisation of one session happen one after the other."""
    sql = "select facility_id, status, bins, skus from count_session where session_id = ?"
    row = tx.one(tx.locked(sql) if lock else sql, (session_id,))
    if row is None:
        raise LedgerError(
            "unknown_count_session", f"session: no count session {session_id}", field="session"
        )
    entries: dict[int, list[Entry]] = {}
    for line_no, attempt, counted, system, within_tolerance, counter in tx.all(
        "select line_no, attempt, counted_qty_e6, system_qty_e6, within_tolerance, counter "
        "from count_entry where session_id = ? order by line_no, attempt",
        (session_id,),
    ):
        entries.setdefault(line_no, []).append(
            Entry(attempt, from_units(counted), from_units(system), bool(within_tolerance), counter)
        )
    rows = tx.all(
        "select line_no, variant_id, location_id, lot_key, bucket, owner_id, in_snapshot, "
        "snapshot_qty_e6, status from count_line where session_id = ? order by line_no",
        (session_id,),
    )
    lots = lot_numbers(tx, [r[3] for r in rows if r[3]])
    lines = {}
    for line_no, variant_id, location_id, lot_key, bucket, owner_id, snap, qty, status in rows:
        variant = config.variants_by_id[variant_id]
        lines[line_no] = CountLine(
            line_no, variant, config.items_by_id[variant.item_id],
            config.locations_by_id[location_id], lot_key, lots.get(lot_key), bucket, owner_id,
            bool(snap), from_units(qty), LineStatus(status), tuple(entries.get(line_no, ())),
        )  # fmt: skip
    return CountSession(
        session_id, config.facilities_by_id[row[0]], SessionStatus(row[1]), id_set(row[2]),
        id_set(row[3]), lines,
    )  # fmt: skip


def id_set(stored: str | None) -> frozenset[int] | None:
    return None if stored is None else frozenset(int(part) for part in stored.split(",") if part)


def require_open(session: CountSession) -> None:
    if session.status is not SessionStatus.OPEN:
        raise conflict(
            "invalid_transition", "session",
            f"count session {session.session_id} is {session.status.value}",
        )  # fmt: skip


def position_qty(tx: Tx, facility: Facility, key: tuple[int, int, int, str, int]) -> Decimal:
    """The position's quantity now, locked until commit."""
    variant_id, location_id, lot_key, bucket, owner_id = key
    row = tx.one(
        tx.locked(
            "select qty_e6 from stock_balance where variant_id = ? and facility_id = ? "
            "and location_id = ? and lot_key = ? and bucket = ? and owner_id = ?"
        ),
        (variant_id, facility.facility_id, location_id, lot_key, bucket, owner_id),
    )
    return from_units(row[0]) if row else ZERO


# -- starting a session: the snapshot --------------------------------------------------------

START_FIELDS = frozenset(
    {"idempotency_key", "actor", "role", "facility", "bins", "skus", "comment"}
)


@dataclass(frozen=True, slots=True)
class StartRequest:
    caller: Caller
    facility: str
    bins: tuple[str, ...] | None
    skus: tuple[str, ...] | None
    comment: str | None


def parse_start(raw: object) -> StartRequest:
    raw = fields_of(raw, START_FIELDS)
    return StartRequest(
        caller=caller_of(raw),
        facility=text(raw, "facility", required=True),
        bins=codes(raw, "bins"),
        skus=codes(raw, "skus"),
        comment=comment_of(raw),
    )


def codes(raw: Mapping[str, Any], field: str) -> tuple[str, ...] | None:
    """An optional list of codes that narrows the count; an empty list is refused, not read as
    'everything'."""
    value = raw.get(field)
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise validation_error(field, "must be a non-empty list of codes")
    found = []
    for index, item in enumerate(value):
        with within(f"{field}[{index}]"):
            found.append(text({"code": item}, "code", required=True))
    return tuple(sorted(set(found)))


def start_count(ledger: Ledger, request: Mapping[str, Any]) -> dict[str, Any]:
    """Open a count session for a facility (optionally some bins and/or SKUs), snapshotting the
    system quantity of every position in scope. The answer is the blind count sheet."""
    req = parse_start(request)

    def body(wf: Workflow) -> dict[str, Any]:
        facility = facility_of(wf.config, req.facility)
        authorise(wf, req.caller, "count.record", facility)
        bins = scope(req.bins, "bins", lambda code: location_of(wf.config, facility, code))
        skus = scope(req.skus, "skus", lambda code: variant_of(wf.config, code)[0])
        snapshot = snapshot_positions(wf.tx, wf.config, facility, bins, skus)
        session_id = wf.tx.new_ids("count_session", 1)[0]
        write_session(wf, req, facility, session_id, bins, skus, snapshot)
        detail = {"session": session_id, "lines": len(snapshot)}
        wf.audit(req.caller.actor, req.caller.role, "count.start", facility.code, detail)
        wf.emit("count-started", {"facility": facility.code, **detail})
        return sheet_json(wf.tx, wf.config, session_id)

    return operation(ledger, "count.start", req.caller, fingerprint(req), req.facility, body)


def scope(found: tuple[str, ...] | None, field: str, resolve: Any) -> list[Any] | None:
    if found is None:
        return None
    resolved = []
    for index, code in enumerate(found):
        with within(f"{field}[{index}]", frozenset({"bin", "sku"})):
            resolved.append(resolve(code))
    return resolved


def snapshot_positions(
    tx: Tx,
    config: Config,
    facility: Facility,
    bins: list[Location] | None,
    skus: list[Variant] | None,
) -> list[tuple[Any, ...]]:
    """Every position in scope holding stock (in_transit aside), in walking order: bin, SKU."""
    where, params = (
        ["facility_id = ?", "bucket <> 'in_transit'", "qty_e6 <> 0"],
        [facility.facility_id],
    )
    if bins is not None:
        where.append(f"location_id in ({', '.join('?' * len(bins))})")
        params += [location.location_id for location in bins]
    if skus is not None:
        where.append(f"variant_id in ({', '.join('?' * len(skus))})")
        params += [variant.variant_id for variant in skus]
    rows = tx.all(
        tx.locked(
            "select variant_id, location_id, lot_key, bucket, owner_id, qty_e6 "
            f"from stock_balance where {' and '.join(where)}"
        ),
        params,
    )
    return sorted(
        rows,
        key=lambda r: (config.locations_by_id[r[1]].code, config.variants_by_id[r[0]].sku, *r[2:]),
    )


def write_session(
    wf: Workflow,
    req: StartRequest,
    facility: Facility,
    session_id: int,
    bins: list[Location] | None,
    skus: list[Variant] | None,
    snapshot: list[tuple[Any, ...]],
) -> None:
    wf.tx.run(
        "insert into count_session (session_id, idempotency_key, facility_id, bins, skus, "
        "status, comment, started_at, started_by) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            session_id, req.caller.key, facility.facility_id,
            None if bins is None else ",".join(str(b.location_id) for b in bins),
            None if skus is None else ",".join(str(v.variant_id) for v in skus),
            SessionStatus.OPEN.value, req.comment, wf.now, req.caller.actor,
        ),
    )  # fmt: skip
    insert_lines(wf.tx, session_id, [(n, *row, True) for n, row in enumerate(snapshot, 1)])


def insert_lines(tx: Tx, session_id: int, lines: list[tuple[Any, ...]]) -> None:
    """(line, variant, location, lot key, bucket, owner, snapshot qty e6, in snapshot) rows."""
    tx.many(
        "insert into count_line (session_id, line_no, variant_id, location_id, lot_key, bucket, "
        "owner_id, snapshot_qty_e6, in_snapshot, status) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(session_id, *line, LineStatus.PENDING.value) for line in lines],
    )


# -- recording counts ------------------------------------------------------------------------

RECORD_FIELDS = frozenset({"idempotency_key", "actor", "role", "session", "counts", "comment"})
COUNT_FIELDS = frozenset({"line", "bin", "sku", "lot", "bucket", "owner", "qty"})
POSITION_FIELDS = ("bin", "sku", "lot", "bucket", "owner")


@dataclass(frozen=True, slots=True)
class Counted:
    """One counted quantity: for a line of the sheet, or for a position found in scope that the
    sheet does not list."""

    line: int | None
    bin: str | None
    sku: str | None
    lot: str | None
    bucket: Bucket
    owner: str | None
    qty: Decimal


@dataclass(frozen=True, slots=True)
class RecordRequest:
    caller: Caller
    session: int
    counts: tuple[Counted, ...]
    comment: str | None


@dataclass(frozen=True, slots=True)
class Decided:
    """A count, decided: which attempt it is and whether it is within tolerance."""

    line: CountLine
    new: bool
    attempt: int
    counted: Decimal
    system: Decimal
    within_tolerance: bool
    status: LineStatus


def parse_record(raw: object) -> RecordRequest:
    raw = fields_of(raw, RECORD_FIELDS)
    return RecordRequest(
        caller=caller_of(raw),
        session=whole_number(raw, "session"),
        comment=comment_of(raw),
        counts=each(raw, "counts", lambda item, _: parse_counted(item)),
    )


def parse_counted(raw: object) -> Counted:
    raw = fields_of(raw, COUNT_FIELDS)
    line = whole_number(raw, "line") if raw.get("line") is not None else None
    if line is not None:
        for field in POSITION_FIELDS:
            if raw.get(field) is not None:
                raise validation_error(field, "does not apply with line: the line names it")
    bin_, sku = text(raw, "bin", required=line is None), text(raw, "sku", required=line is None)
    bucket = choice(raw, "bucket", Bucket) or Bucket.AVAILABLE
    if bucket not in COUNTED_BUCKETS:
        raise validation_error("bucket", "in-transit stock is not counted")
    return Counted(
        line, bin_, sku, text(raw, "lot"), bucket, text(raw, "owner"),
        quantity(raw, "qty", allow_zero=True),
    )  # fmt: skip


def record_count(ledger: Ledger, request: Mapping[str, Any]) -> dict[str, Any]:
    """Record counted quantities (blind: the answer never shows the system quantity). A line
    beyond tolerance becomes recount_required; its recount, by another counter, is final."""
    req = parse_record(request)

    def body(wf: Workflow) -> dict[str, Any]:
        session = load_session(wf.tx, wf.config, req.session, lock=True)
        authorise(wf, req.caller, "count.record", session.facility)
        require_open(session)
        decided = decide_counts(wf, req, session)
        write_counts(wf, req, session, decided)
        return {
            "session": session.session_id,
            "facility": session.facility.code,
            "recorded": [blind_json(wf.config, d.line, d.status, d.attempt) for d in decided],
            "recounts_required": recounts_required(wf.tx, session.session_id),
        }

    return operation(ledger, "count.record", req.caller, fingerprint(req), str(req.session), body)


def decide_counts(wf: Workflow, req: RecordRequest, session: CountSession) -> list[Decided]:
    decided: list[Decided] = []
    added = 0
    for index, counted in enumerate(req.counts):
        # errors about the count are named under it; a refused counter is the request's actor
        with within(f"counts[{index}]", COUNT_FIELDS):
            line = line_for(wf, session, counted, max(session.lines, default=0) + added + 1)
            if any(d.line.key == line.key for d in decided):
                raise validation_error("line", f"line {line.line} is counted twice")
            added += line.line not in session.lines
            system = position_qty(wf.tx, session.facility, line.key)
            rule = tolerance_for(wf.tx, session.facility.facility_id, line.item.category)
            decided.append(
                decide(line, line.line not in session.lines, counted, system, rule,
                       req.caller.actor)
            )  # fmt: skip
    return decided


def line_for(wf: Workflow, session: CountSession, counted: Counted, next_line: int) -> CountLine:
    """The sheet's line a count is for; a position in scope that is not on the sheet becomes a
    new line with a snapshot quantity of zero."""
    if counted.line is not None:
        line = session.lines.get(counted.line)
        if line is None:
            raise LedgerError(
                "unknown_count_line",
                f"line: count session {session.session_id} has no line {counted.line}",
                field="line",
            )
        check_whole_units(line.item, counted.qty)
        return line
    line = new_line(wf, session, counted, next_line)
    for existing in session.lines.values():
        if existing.key == line.key:
            return existing
    return line


def new_line(wf: Workflow, session: CountSession, counted: Counted, number: int) -> CountLine:
    facility = session.facility
    location = location_of(wf.config, facility, counted.bin)  # type: ignore[arg-type]
    variant, item = variant_of(wf.config, counted.sku)  # type: ignore[arg-type]
    if session.bins is not None and location.location_id not in session.bins:
        raise validation_error("bin", f"bin {location.code} is outside the session's count")
    if session.skus is not None and variant.variant_id not in session.skus:
        raise validation_error("sku", f"{variant.sku} is outside the session's count")
    check_whole_units(item, counted.qty)
    lot_key = 0
    if item.lot_tracked:
        if counted.lot is None:
            raise validation_error("lot", "is required")
        lot_key = lot_id_of(wf.tx, variant, counted.lot)
    elif counted.lot is not None:
        raise validation_error("lot", f"item {item.code} is not lot-tracked")
    owner_id = facility.org_id
    if counted.owner is not None:
        party = wf.config.parties.get(counted.owner)
        if party is None:
            raise unknown("unknown_owner", "owner", counted.owner)
        owner_id = party.party_id
    return CountLine(
        number, variant, item, location, lot_key, counted.lot, counted.bucket.value, owner_id,
        False, ZERO, LineStatus.PENDING, (),
    )  # fmt: skip


def check_whole_units(item: Item, qty: Decimal) -> None:
    if item.serial_tracked and qty != qty.to_integral_value():
        raise validation_error("qty", f"item {item.code} is serial-tracked: whole units only")


def decide(
    line: CountLine, new: bool, counted: Counted, system: Decimal, rule: Tolerance, counter: str
) -> Decided:
    """The first count of a line is checked against the tolerance; beyond it, one recount by
    another counter is required, and that recount is the final count."""
    within_tolerance = rule.allows(counted.qty - system, system)
    if line.status is LineStatus.PENDING:
        status = LineStatus.COUNTED if within_tolerance else LineStatus.RECOUNT_REQUIRED
        return Decided(line, new, 1, counted.qty, system, within_tolerance, status)
    if line.status is LineStatus.RECOUNT_REQUIRED:
        first = line.entries[0].counter
        if counter == first:
            raise LedgerError(
                "same_counter",
                f"actor: line {line.line} was counted by {first}; the recount needs another "
                "counter",
                field="actor",
            )
        return Decided(line, new, 2, counted.qty, system, within_tolerance, LineStatus.RECOUNTED)
    raise conflict(
        "already_counted", "line",
        f"line {line.line} is already {line.status.value}; it cannot be counted again",
    )  # fmt: skip


def write_counts(
    wf: Workflow, req: RecordRequest, session: CountSession, decided: list[Decided]
) -> None:
    insert_lines(
        wf.tx, session.session_id,
        [(d.line.line, *d.line.key, 0, False) for d in decided if d.new],
    )  # fmt: skip
    wf.tx.many(
        "insert into count_entry (session_id, line_no, attempt, counted_qty_e6, system_qty_e6, "
        "within_tolerance, counter, role, idempotency_key, comment, recorded_at) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                session.session_id, d.line.line, d.attempt, to_units(d.counted),
                to_units(d.system), d.within_tolerance, req.caller.actor, req.caller.role,
                req.caller.key, req.comment, wf.now,
            )
            for d in decided
        ],
    )  # fmt: skip
    wf.tx.many(
        "update count_line set status = ? where session_id = ? and line_no = ?",
        [(d.status.value, session.session_id, d.line.line) for d in decided],
    )
    detail = {
        "session": session.session_id,
        "lines": [{"line": d.line.line, "attempt": d.attempt, "status": d.status.value}
                  for d in decided],
    }  # fmt: skip
    wf.audit(req.caller.actor, req.caller.role, "count.record", session.facility.code, detail)


def recounts_required(tx: Tx, session_id: int) -> list[int]:
    return [
        row[0]
        for row in tx.all(
            "select line_no from count_line where session_id = ? and status = ? order by line_no",
            (session_id, LineStatus.RECOUNT_REQUIRED.value),
        )
    ]


# -- finalising: the count_variance movements ------------------------------------------------

FINALISE_FIELDS = frozenset(
    {"idempotency_key", "actor", "role", "session", "reason_code", "comment", "occurred_at"}
)


@dataclass(frozen=True, slots=True)
class FinaliseRequest:
    caller: Caller
    session: int
    reason_code: str
    comment: str
    occurred_at: str


@dataclass(frozen=True, slots=True)
class Variance:
    """A line's final count against the system quantity when that count was recorded."""

    line: CountLine
    qty: Decimal


def parse_finalise(raw: object) -> FinaliseRequest:
    raw = fields_of(raw, FINALISE_FIELDS)
    return FinaliseRequest(
        caller=caller_of(raw),
        session=whole_number(raw, "session"),
        reason_code=text(raw, "reason_code") or COUNT_VARIANCE,
        comment=comment_of(raw, required=True),  # type: ignore[arg-type]
        occurred_at=instant(raw, "occurred_at"),
    )


def finalise_count(ledger: Ledger, request: Mapping[str, Any]) -> dict[str, Any]:
    """Approve a count session (inventory_controller): post every line's variance as a
    count_variance movement with the approver as actor and the counts in the comment, in one
    transaction, and close the session. Refused while a recount is outstanding."""
    req = parse_finalise(request)

    def body(wf: Workflow) -> dict[str, Any]:
        session = load_session(wf.tx, wf.config, req.session, lock=True)
        authorise(wf, req.caller, "count.approve", session.facility)
        require_open(session)
        check_not_own_count(wf, req, session)
        variances = final_variances(session)
        posted = [wf.post(variance_posting(wf, req, session, v)) for v in variances if v.qty]
        wf.flush()
        write_finalisation(wf, req, session, variances, posted)
        events = [event for events in posted for event in events]
        return {
            **review_json(wf.tx, wf.config, session.session_id),
            "events": wf.events_json(events),
        }

    return operation(ledger, "count.finalise", req.caller, fingerprint(req), str(req.session), body)


def check_not_own_count(wf: Workflow, req: FinaliseRequest, session: CountSession) -> None:
    """With the facility's no-self-approval policy, nobody approves a session they counted in."""
    if not wf.config.approval_policy(session.facility.facility_id).no_self_approval:
        return
    counters = {entry.counter for line in session.lines.values() for entry in line.entries}
    if req.caller.actor in counters:
        error = LedgerError(
            "self_approval",
            f"actor: {req.caller.actor} counted in session {session.session_id} and may not "
            "approve it",
            field="actor",
        )
        error.status = 403
        raise error


def final_variances(session: CountSession) -> list[Variance]:
    """Every line's final variance; refused while a line awaits its recount or its count."""
    waiting = [n for n, line in session.lines.items() if line.status is LineStatus.RECOUNT_REQUIRED]
    if waiting:
        raise conflict(
            "recount_outstanding", "session",
            f"lines {', '.join(map(str, waiting))} need a recount before the count is final",
            lines=waiting,
        )  # fmt: skip
    uncounted = [n for n, line in session.lines.items() if line.status is LineStatus.PENDING]
    if uncounted:
        raise conflict(
            "count_incomplete", "session",
            f"lines {', '.join(map(str, uncounted))} have not been counted",
            lines=uncounted,
        )  # fmt: skip
    return [
        Variance(line, line.entries[-1].counted - line.entries[-1].system)
        for line in session.lines.values()
    ]


def variance_posting(
    wf: Workflow, req: FinaliseRequest, session: CountSession, variance: Variance
) -> dict[str, Any]:
    line = variance.line
    return posting(
        idempotency_key=f"{req.caller.key}:line:{line.line}",
        kind="count_variance",
        sku=line.variant.sku,
        facility=session.facility.code,
        bin=line.location.code,
        lot=line.lot,
        bucket=line.bucket,
        owner=wf.config.parties_by_id[line.owner_id].code,
        qty=fmt(variance.qty),
        reason_code=req.reason_code,
        actor=req.caller.actor,
        role=req.caller.role,
        comment=f"{req.comment} ({count_trail(session, line)})",
        source={
            "document_type": "count_session",
            "document_id": str(session.session_id),
            "line": str(line.line),
        },
        occurred_at=req.occurred_at,
    )


def count_trail(session: CountSession, line: CountLine) -> str:
    """Both counts of a line, as the stock card's comment keeps them."""
    first, *recount = line.entries
    trail = (
        f"count session {session.session_id} line {line.line}: counted {fmt(first.counted)} "
        f"by {first.counter} against system {fmt(first.system)}"
    )
    for entry in recount:
        trail += (
            f"; recounted {fmt(entry.counted)} by {entry.counter} against system "
            f"{fmt(entry.system)}"
        )
    return trail


def write_finalisation(
    wf: Workflow,
    req: FinaliseRequest,
    session: CountSession,
    variances: list[Variance],
    posted: list[list[PlannedEvent]],
) -> None:
    event_ids = iter(events[0].event_id for events in posted)
    wf.tx.many(
        "update count_line set variance_qty_e6 = ?, variance_event_id = ? "
        "where session_id = ? and line_no = ?",
        [
            (to_units(v.qty), next(event_ids) if v.qty else None, session.session_id, v.line.line)
            for v in variances
        ],
    )
    wf.tx.run(
        "update count_session set status = ?, finalised_at = ?, finalised_by = ?, "
        "final_comment = ?, reason_code = ? where session_id = ?",
        (SessionStatus.FINALISED.value, wf.now, req.caller.actor, req.comment, req.reason_code,
         session.session_id),
    )  # fmt: skip
    adjusted = [v for v in variances if v.qty]
    detail = {"session": session.session_id, "lines": len(variances), "adjusted": len(adjusted)}
    wf.audit(req.caller.actor, req.caller.role, "count.finalise", session.facility.code, detail)
    wf.emit("count-finalised", {"facility": session.facility.code, **detail})


# -- reads -----------------------------------------------------------------------------------


def count_sheet(ledger: Ledger, session_id: int) -> dict[str, Any]:
    """What counters see: the lines to count and their status, never a system quantity or
    another counter's quantity."""
    with ledger.store.read() as tx:
        config = ledger.config(tx)
        load_session(tx, config, session_id)
        return sheet_json(tx, config, session_id)


def count_review(ledger: Ledger, session_id: int) -> dict[str, Any]:
    """What the approver sees: snapshot and system quantities, every count, the variances."""
    with ledger.store.read() as tx:
        config = ledger.config(tx)
        load_session(tx, config, session_id)
        return review_json(tx, config, session_id)


def session_head(session: CountSession, tx: Tx) -> dict[str, Any]:
    row = tx.one(
        "select started_at, started_by, finalised_at, finalised_by from count_session "
        "where session_id = ?",
        (session.session_id,),
    )
    assert row is not None
    return {
        "session": session.session_id,
        "facility": session.facility.code,
        "status": session.status.value,
        "started_at": timeutil.iso(row[0]),
        "started_by": row[1],
        "finalised_at": timeutil.iso(row[2]),
        "finalised_by": row[3],
    }


def sheet_json(tx: Tx, config: Config, session_id: int) -> dict[str, Any]:
    session = load_session(tx, config, session_id)
    return {
        **session_head(session, tx),
        "lines": [
            {
                **blind_json(config, line, line.status, len(line.entries)),
                "counted_by": [entry.counter for entry in line.entries],
            }
            for line in session.lines.values()
        ],
    }


def blind_json(config: Config, line: CountLine, status: LineStatus, counts: int) -> dict[str, Any]:
    return {
        "line": line.line,
        "bin": line.location.code,
        "sku": line.variant.sku,
        "lot": line.lot,
        "bucket": line.bucket,
        "owner": config.parties_by_id[line.owner_id].code,
        "counts": counts,
        "status": status.value,
    }


def review_json(tx: Tx, config: Config, session_id: int) -> dict[str, Any]:
    session = load_session(tx, config, session_id)
    finals = {
        row[0]: (row[1], row[2])
        for row in tx.all(
            "select line_no, variance_qty_e6, variance_event_id from count_line "
            "where session_id = ?",
            (session_id,),
        )
    }
    return {
        **session_head(session, tx),
        "lines": [
            {
                **blind_json(config, line, line.status, len(line.entries)),
                "in_snapshot": line.in_snapshot,
                "snapshot_qty": fmt(line.snapshot_qty),
                "entries": [
                    {
                        "attempt": entry.attempt,
                        "counted": fmt(entry.counted),
                        "system": fmt(entry.system),
                        "within_tolerance": entry.within_tolerance,
                        "counter": entry.counter,
                    }
                    for entry in line.entries
                ],
                "variance": fmt(variance_of(line, finals[line.line][0])),
                "variance_event_id": finals[line.line][1],
            }
            for line in session.lines.values()
        ],
    }


def variance_of(line: CountLine, posted: int | None) -> Decimal | None:
    """The posted variance of a finalised line; before that, what finalising would post."""
    if posted is not None:
        return from_units(posted)
    if not line.entries:
        return None
    return line.entries[-1].counted - line.entries[-1].system
