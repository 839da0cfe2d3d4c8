"""How each movement feed maps to the ledger: which rows make one request, which workflow
operation or plain posting it is, and under which idempotency key."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import polars as pl

from ledger import consignment, counts, receiving, reservations, transfers
from pipelines.posting.steps import (
    ACTOR,
    COUNTER_ROLE,
    FINANCE_ROLE,
    RANKS,
    ROLE,
    Step,
    StepContext,
    chain,
    group_key,
    key_of,
    ref,
    request,
    source,
    text,
    unknown,
)

Row = dict[str, Any]
Builder = Callable[[pl.DataFrame, StepContext], Iterator[list[Step]]]


def grouped(frame: pl.DataFrame, *columns: str) -> dict[tuple, list[Row]]:
    """Rows by the values of `columns`, in file order."""
    groups: dict[tuple, list[Row]] = defaultdict(list)
    for row in frame.iter_rows(named=True):
        groups[tuple(row[column] for column in columns)].append(row)
    return groups


def posting(row: Row, rank_offset: int = 0, **fields: Any) -> Step:
    """A plain posting of one row, as the service account."""
    body = request(idempotency_key=key_of(row), actor=ACTOR, role=ROLE, **fields)
    return Step(
        fields["occurred_at"],
        RANKS[row["feed"]] + rank_offset,
        [ref(row)],
        body["idempotency_key"],
        request=body,
    )


# -- ERP: purchase orders and goods receipts ---------------------------------------------------


def purchase_orders(frame: pl.DataFrame, context: StepContext) -> Iterator[list[Step]]:
    """Each purchase order (per facility) is registered as an expected receipt."""
    for (po, facility), rows in grouped(frame, "po_number", "facility").items():
        first = rows[0]
        body = request(
            idempotency_key=group_key("purchase_orders", po, f"{facility}:expect"), actor=ACTOR,
            role=ROLE, facility=facility, reference=po, document_type="purchase_order",
            vendor=first["vendor"], expected_at=min_of(rows, "expected_at"),
            qc_required=any(row["qc_required"] for row in rows) or None,
            over_tolerance_pct=first["over_tolerance_pct"],
            lines=[request(line=row["line"], sku=row["sku"], qty=row["qty"],
                           unit_cost=row["unit_cost"], currency=row["currency"]) for row in rows],
        )  # fmt: skip
        step = Step(
            min_of(rows, "ordered_at"),
            RANKS["purchase_orders"],
            [ref(r) for r in rows],
            body["idempotency_key"],
            operation=lambda _c, body=body: receiving.register_receipt(_c.ledger, body),
        )
        yield chain(step)


def goods_receipts(frame: pl.DataFrame, context: StepContext) -> Iterator[list[Step]]:
    """Receipts against a purchase order go through receiving (and close the order when the
    ERP marks the delivery completed); receipts without one are plain receipts."""
    against_order = frame.filter(pl.col("po_number").is_not_null())
    for (grn, po, facility), rows in grouped(
        against_order, "grn_number", "po_number", "facility"
    ).items():
        yield receive_against_order(grn, po, facility, rows)
    for row in frame.filter(pl.col("po_number").is_null()).iter_rows(named=True):
        consigned = row["stock_type"] == "consignment"
        yield chain(posting(
            row, kind="receipt", sku=row["sku"], facility=row["facility"], bin=row["bin"],
            qty=row["qty"], lot=row["lot"], lot_expires_on=row["lot_expires_on"],
            owner=row["vendor"] if consigned else None,
            unit_cost=None if consigned else row["unit_cost"],
            currency=None if consigned else row["currency"],
            source=source("goods_receipt", row["grn_number"], row["line"]),
            occurred_at=row["received_at"],
        ))  # fmt: skip


def receive_against_order(grn: str, po: str, facility: str, rows: list[Row]) -> list[Step]:
    """One receipt, then — when the ERP marks the delivery completed — the order's close."""
    refs = [ref(row) for row in rows]
    at = min_of(rows, "received_at")
    body = request(
        idempotency_key=group_key("goods_receipts", grn, "receive"), actor=ACTOR, role=ROLE,
        facility=facility, receipt=po, occurred_at=at, document_id=grn,
        lines=[request(line=row["po_line"], qty=row["qty"], bin=row["bin"], lot=row["lot"],
                       lot_expires_on=row["lot_expires_on"], unit_cost=row["unit_cost"],
                       currency=row["currency"]) for row in rows],
    )  # fmt: skip
    receive = Step(
        at,
        RANKS["goods_receipts"],
        refs,
        body["idempotency_key"],
        operation=lambda c: receiving.receive(c.ledger, body),
    )
    if not any(row["delivery_completed"] for row in rows):
        return chain(receive)
    reason = next((row["short_reason"] for row in rows if row["short_reason"]), None)
    close = request(
        idempotency_key=group_key("goods_receipts", grn, "close"), actor=ACTOR, role=ROLE,
        facility=facility, receipt=po, reason=reason,
        comment=f"delivery completed with goods receipt {grn}",
    )  # fmt: skip
    closing = Step(
        at,
        RANKS["goods_receipts"] + 1,
        refs,
        close["idempotency_key"],
        operation=lambda c: receiving.close_receipt(c.ledger, close),
    )
    return chain(receive, closing)


def qc_decisions(frame: pl.DataFrame, context: StepContext) -> Iterator[list[Step]]:
    for row in frame.iter_rows(named=True):
        body = request(
            idempotency_key=key_of(row), actor=ACTOR, role=ROLE, facility=row["facility"],
            sku=row["sku"], qty=row["qty"], bin=row["bin"], lot=row["lot"],
            to_bucket="available" if row["decision"] == "release" else "damaged",
            reason_code=row["reason_code"], occurred_at=row["decided_at"],
            receipt=row["po_number"],
            comment=f"QC decision {row['decision_no']}"
            + (f" by {row['inspector']}" if row["inspector"] else ""),
        )  # fmt: skip
        step = Step(
            row["decided_at"],
            RANKS["qc_decisions"],
            [ref(row)],
            body["idempotency_key"],
            operation=lambda c, body=body: receiving.release_from_quarantine(c.ledger, body),
        )
        yield chain(step)


# -- WMS: putaway, transfer orders and shipments -----------------------------------------------


def putaways(frame: pl.DataFrame, context: StepContext) -> Iterator[list[Step]]:
    for row in frame.iter_rows(named=True):
        yield chain(posting(
            row, kind="bin_move", sku=row["sku"], facility=row["facility"], bin=row["from_bin"],
            to_bin=row["to_bin"], qty=row["qty"], lot=row["lot"], owner=row["owner"],
            source=source("putaway", row["task_no"]), occurred_at=row["moved_at"],
        ))  # fmt: skip


def transfer_orders(frame: pl.DataFrame, context: StepContext) -> Iterator[list[Step]]:
    """A transfer order is requested, then submitted (approval follows where the ledger's
    thresholds ask for it)."""
    for (number, source_code, destination), rows in grouped(
        frame, "transfer_no", "source", "destination"
    ).items():
        refs, at = [ref(row) for row in rows], min_of(rows, "requested_at")
        key = group_key("transfer_orders", number, "request")
        body = request(
            idempotency_key=key, actor=ACTOR, role=ROLE, source=source_code,
            destination=destination, comment=f"WMS transfer order {number}",
            lines=[request(sku=sku, qty=qty) for sku, qty in summed(rows, "sku").items()],
        )  # fmt: skip
        requested = Step(
            at,
            RANKS["transfer_orders"],
            refs,
            key,
            operation=lambda c, body=body: transfers.request_transfer(c.ledger, body),
            remember=lambda c, result, key=key: c.remember_id(key, result["transfer_id"]),
        )

        def submit(c: StepContext, number: str = number, key: str = key) -> dict[str, Any]:
            transfer_id = c.id_for(
                key,
                lambda result: result["transfer_id"],
                unknown(
                    "unknown_transfer",
                    "transfer_no",
                    f"transfer order {number} was never requested",
                ),
            )
            return transfers.submit_transfer(
                c.ledger,
                request(
                    idempotency_key=group_key("transfer_orders", number, "submit"),
                    actor=ACTOR,
                    role=ROLE,
                    transfer_id=transfer_id,
                ),
            )

        submitted = Step(
            at,
            RANKS["transfer_orders"] + 1,
            refs,
            group_key("transfer_orders", number, "submit"),
            operation=submit,
        )
        yield chain(requested, submitted)


def shipments(frame: pl.DataFrame, context: StepContext) -> Iterator[list[Step]]:
    shipped = frame.filter(pl.col("event") == "shipped")
    for (number, transfer_no), rows in grouped(shipped, "shipment_no", "transfer_no").items():
        yield chain(ship(number, transfer_no, rows))
    received = frame.filter(pl.col("event") == "received")
    for (number, receipt), rows in grouped(received, "shipment_no", "receipt_no").items():
        yield chain(receive_shipment(number, receipt, rows))


def ship(number: str, transfer_no: str, rows: list[Row]) -> Step:
    at = min_of(rows, "event_at")
    key = group_key("shipments", number, "ship")
    reason = next((row["short_reason"] for row in rows if row["short_reason"]), None)

    def run(c: StepContext) -> dict[str, Any]:
        transfer_id = c.id_for(
            group_key("transfer_orders", transfer_no, "request"),
            lambda result: result["transfer_id"],
            unknown(
                "unknown_transfer",
                "transfer_no",
                f"transfer order {transfer_no} is not in the ledger",
            ),
        )
        return transfers.ship_transfer(
            c.ledger,
            request(
                idempotency_key=key,
                actor=ACTOR,
                role=ROLE,
                transfer_id=transfer_id,
                occurred_at=at,
                final=any(row["final"] for row in rows) or None,
                reason_code=reason,
                reference=number,
                lines=[
                    request(sku=sku, lot=lot, qty=qty)
                    for (sku, lot), qty in summed(rows, "sku", "lot").items()
                ],
            ),
        )

    return Step(
        at,
        RANKS["shipments"],
        [ref(row) for row in rows],
        key,
        operation=run,
        remember=lambda c, result: c.remember_id(key, result["shipment"]["shipment_id"]),
    )


def receive_shipment(number: str, receipt: str, rows: list[Row]) -> Step:
    at = min_of(rows, "event_at")
    key = group_key("shipments", f"{number}:{receipt}", "receive")
    plain = [row for row in rows if row["exception"] is None]
    exceptions = [
        request(type=row["exception"], sku=row["sku"], lot=row["lot"], qty=row["qty"],
                reason_code=row["reason_code"], facility=row["exception_facility"])
        for row in rows if row["exception"] is not None
    ]  # fmt: skip

    def run(c: StepContext) -> dict[str, Any]:
        shipment_id = c.id_for(
            group_key("shipments", number, "ship"),
            lambda result: result["shipment"]["shipment_id"],
            unknown("unknown_shipment", "shipment_no", f"shipment {number} is not in the ledger"),
        )
        return transfers.receive_shipment(
            c.ledger,
            request(
                idempotency_key=key,
                actor=ACTOR,
                role=ROLE,
                shipment_id=shipment_id,
                occurred_at=at,
                lines=[
                    request(sku=sku, lot=lot, qty=qty)
                    for (sku, lot), qty in summed(plain, "sku", "lot").items()
                ]
                or None,
                exceptions=exceptions or None,
                comment=f"WMS receipt {receipt}",
            ),
        )

    return Step(at, RANKS["shipments"] + 1, [ref(row) for row in rows], key, operation=run)


# -- count app -----------------------------------------------------------------------------------


def count_results(frame: pl.DataFrame, context: StepContext) -> Iterator[list[Step]]:
    """A count session: started by the approving manager for the bins and SKUs on the sheet,
    counted (and recounted) by the counters, finalised by the manager."""
    for (number, facility), rows in grouped(frame, "count_no", "facility").items():
        refs = [ref(row) for row in rows]
        start_key = group_key("count_results", number, "start")
        started, approver = min_of(rows, "started_at"), rows[0]["approved_by"]
        body = request(
            idempotency_key=start_key, actor=approver, role=ROLE, facility=facility,
            bins=sorted({row["bin"] for row in rows}), skus=sorted({row["sku"] for row in rows}),
            comment=f"count {number}",
        )  # fmt: skip
        start = Step(
            started,
            RANKS["count_results"],
            refs,
            start_key,
            operation=lambda c, body=body: counts.start_count(c.ledger, body),
            remember=lambda c, result, k=start_key: c.remember_id(k, result["session"]),
        )
        records = [
            record_counts(number, start_key, attempt, counter, entries, refs)
            for (attempt, counter), entries in grouped_rows(rows, "attempt", "counter").items()
        ]
        yield chain(start, *records, finalise(number, start_key, rows, refs))


def session_of(c: StepContext, start_key: str, number: str) -> int:
    return c.id_for(
        start_key,
        lambda result: result["session"],
        unknown("unknown_count_session", "count_no", f"count {number} was never started"),
    )


def record_counts(
    number: str, start_key: str, attempt: int, counter: str, rows: list[Row], refs: list
) -> Step:
    key = group_key("count_results", number, f"{attempt}:{counter}:record")
    at = min_of(rows, "counted_at")

    def run(c: StepContext) -> dict[str, Any]:
        return counts.record_count(
            c.ledger,
            request(
                idempotency_key=key,
                actor=counter,
                role=COUNTER_ROLE,
                session=session_of(c, start_key, number),
                counts=[
                    request(
                        bin=row["bin"],
                        sku=row["sku"],
                        lot=row["lot"],
                        owner=row["owner"],
                        qty=row["counted_qty"],
                    )
                    for row in rows
                ],
            ),
        )

    return Step(at, RANKS["count_results"] + 1, refs, key, operation=run)


def finalise(number: str, start_key: str, rows: list[Row], refs: list) -> Step:
    key = group_key("count_results", number, "finalise")
    at = max(row["approved_at"] for row in rows)

    def run(c: StepContext) -> dict[str, Any]:
        return counts.finalise_count(
            c.ledger,
            request(
                idempotency_key=key,
                actor=rows[0]["approved_by"],
                role=ROLE,
                session=session_of(c, start_key, number),
                occurred_at=at,
                comment=f"cycle count {number} approved",
            ),
        )

    return Step(at, RANKS["count_results"] + 2, refs, key, operation=run)


# -- stores and sales ----------------------------------------------------------------------------


def pos_sales(frame: pl.DataFrame, context: StepContext) -> Iterator[list[Step]]:
    """Till lines: a sale is an issue, a return a customer return; consigned articles are the
    vendor's stock (the ledger records a sale of them as consignment consumption)."""
    for row in frame.iter_rows(named=True):
        sku = context.sku_of(row["barcode"])
        yield chain(posting(
            row, kind="issue" if row["type"] == "sale" else "customer_return",
            sku=row["barcode"], facility=row["store"], qty=row["qty"], channel="pos",
            owner=context.consigned.get(sku), source=source("pos_receipt", row["receipt_no"],
                                                               row["line"]),
            occurred_at=row["sold_at"],
        ))  # fmt: skip


def adjustments(frame: pl.DataFrame, context: StepContext) -> Iterator[list[Step]]:
    for row in frame.iter_rows(named=True):
        yield chain(posting(
            row, kind="adjustment", sku=row["sku"], facility=row["facility"], bin=row["bin"],
            lot=row["lot"], lot_expires_on=row["lot_expires_on"], owner=row["owner"],
            bucket=row["bucket"], qty=row["qty"], reason_code=row["reason_code"],
            comment=row["comment"], unit_cost=row["unit_cost"], currency=row["currency"],
            source=source("adjustment", row["adjustment_no"], row["line"]),
            occurred_at=row["adjusted_at"],
        ))  # fmt: skip


ORDER_STEPS = {
    "ecommerce_orders": {"placed": "reserve", "paid": "allocate", "picked": "commit",
                         "shipped": "consume", "cancelled": "release", "returned": "return"},
    "wholesale_orders": {"ordered": "reserve", "allocated": "allocate", "committed": "commit",
                         "shipped": "consume", "cancelled": "release"},
}  # fmt: skip
ORDER_FIELDS = {
    "ecommerce_orders": ("order_id", "web_order", "ecommerce"),
    "wholesale_orders": ("order_no", "sales_order", "wholesale"),
}
OPENING_EVENTS = {"placed", "ordered"}


def orders(frame: pl.DataFrame, context: StepContext) -> Iterator[list[Step]]:
    """Order-line events through the reservation workflow, at the time each happened."""
    for row in frame.iter_rows(named=True):
        action = ORDER_STEPS[row["feed"]][row["event"]]
        if action == "return":
            number_field, document_type, channel = ORDER_FIELDS[row["feed"]]
            yield chain(posting(
                row, kind="customer_return", sku=row["sku"], facility=row["facility"],
                qty=row["qty"], channel=channel,
                source=source(document_type, row[number_field], row["line"]),
                occurred_at=row["event_at"],
            ))  # fmt: skip
        else:
            yield chain(order_step(row, action))


def order_step(row: Row, action: str) -> Step:
    feed = row["feed"]
    number_field, document_type, channel = ORDER_FIELDS[feed]
    number, line, at = row[number_field], row["line"], row["event_at"]
    key = key_of(row)
    opening = next(event for event in ORDER_STEPS[feed] if event in OPENING_EVENTS)
    reserve_key = f"{feed}:{number}:{line}:{opening}"

    def run(c: StepContext) -> dict[str, Any]:
        moment = text(at)
        if action == "reserve":
            return reservations.reserve(
                c.ledger,
                request(
                    idempotency_key=key,
                    actor=ACTOR,
                    role=ROLE,
                    sku=row["sku"],
                    facility=row["facility"],
                    qty=row["qty"],
                    channel=channel,
                    reference=source(document_type, number, line),
                ),
                at=moment,
            )
        held = c.id_for(
            reserve_key,
            lambda result: result["reservation"]["reservation_id"],
            unknown(
                "unknown_reservation",
                number_field,
                f"{number} line {line} holds no reservation: its "
                f"{opening} event was refused or never received",
            ),
        )
        base = {"idempotency_key": key, "actor": ACTOR, "role": ROLE, "reservation_id": held}
        if action == "release":
            return reservations.release(c.ledger, {**base, "reason_code": row["reason"]}, at=moment)
        if action == "consume":
            return reservations.consume(c.ledger, {**base, "occurred_at": moment}, at=moment)
        operation = reservations.allocate if action == "allocate" else reservations.commit
        return operation(c.ledger, base, at=moment)

    remember = None
    if action == "reserve":

        def remember(c: StepContext, result: dict[str, Any]) -> None:
            c.remember_id(key, result["reservation"]["reservation_id"])

    return Step(at, RANKS[feed], [ref(row)], key, operation=run, remember=remember)


# -- finance and quality -------------------------------------------------------------------------


def consignment_settlements(frame: pl.DataFrame, context: StepContext) -> Iterator[list[Step]]:
    for row in frame.iter_rows(named=True):
        body = request(
            idempotency_key=key_of(row),
            actor=ACTOR,
            role=FINANCE_ROLE,
            vendor=row["vendor"],
            up_to=row["up_to"],
            reference=row["settlement_no"],
        )
        step = Step(
            row["settled_at"],
            RANKS["consignment_settlements"],
            [ref(row)],
            body["idempotency_key"],
            operation=lambda c, body=body: consignment.settle(c.ledger, body),
        )
        yield chain(step)


def recalls(frame: pl.DataFrame, context: StepContext) -> Iterator[list[Step]]:
    for row in frame.iter_rows(named=True):
        hold_key = f"recalls:{row['recall_no']}:{row['facility']}:hold"
        if row["action"] == "hold":
            body = request(
                idempotency_key=key_of(row), actor=ACTOR, role=ROLE, facility=row["facility"],
                sku=row["sku"], lot=row["lot"], policy_reference=row["policy_reference"],
                reason_code=row["reason_code"], comment=row["comment"], occurred_at=row["at"],
            )  # fmt: skip
            hold = Step(
                row["at"],
                RANKS["recalls"],
                [ref(row)],
                body["idempotency_key"],
                operation=lambda c, body=body: receiving.recall(c.ledger, body),
                remember=lambda c, result, k=hold_key: c.remember_id(k, result["recall_id"]),
            )
            yield chain(hold)
        else:
            yield chain(release_recall(row, hold_key))


def release_recall(row: Row, hold_key: str) -> Step:
    def run(c: StepContext) -> dict[str, Any]:
        recall_id = c.id_for(
            hold_key,
            lambda result: result["recall_id"],
            unknown(
                "unknown_recall",
                "recall_no",
                f"{row['recall_no']} holds nothing at {row['facility']}",
            ),
        )
        return receiving.release_recall(
            c.ledger,
            request(
                idempotency_key=key_of(row),
                actor=ACTOR,
                role=ROLE,
                recall=recall_id,
                occurred_at=row["at"],
                reason_code=row["reason_code"],
                comment=row["comment"],
            ),
        )

    return Step(row["at"], RANKS["recalls"], [ref(row)], key_of(row), operation=run)


# -- helpers -------------------------------------------------------------------------------------


def min_of(rows: list[Row], column: str) -> Any:
    values = [row[column] for row in rows if row[column] is not None]
    return min(values) if values else None


def summed(rows: list[Row], *columns: str) -> dict[Any, Decimal]:
    """Quantities added up per SKU (and lot): one request line per stock the ledger knows."""
    totals: dict[Any, Decimal] = {}
    for row in rows:
        key = row[columns[0]] if len(columns) == 1 else tuple(row[c] for c in columns)
        totals[key] = totals.get(key, Decimal(0)) + row["qty"]
    return totals


def grouped_rows(rows: list[Row], *columns: str) -> dict[tuple, list[Row]]:
    groups: dict[tuple, list[Row]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[column] for column in columns)].append(row)
    return groups


# Feeds whose steps are made from groups of rows: their groups are put in order of their first
# step before they run; the other feeds make one step a row, in the order of their rows.
GROUPED = frozenset(
    {"purchase_orders", "goods_receipts", "transfer_orders", "shipments", "count_results"}
)

BUILDERS: dict[str, Builder] = {
    "purchase_orders": purchase_orders,
    "goods_receipts": goods_receipts,
    "qc_decisions": qc_decisions,
    "putaways": putaways,
    "transfer_orders": transfer_orders,
    "shipments": shipments,
    "count_results": count_results,
    "pos_sales": pos_sales,
    "adjustments": adjustments,
    "ecommerce_orders": orders,
    "wholesale_orders": orders,
    "consignment_settlements": consignment_settlements,
    "recalls": recalls,
}
