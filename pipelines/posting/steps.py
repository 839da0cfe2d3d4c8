"""A step: one request to the ledger made from feed rows (a plain posting or a workflow
operation), with its business time, idempotency key and the rows it stands for."""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ledger.api import Ledger
from ledger.errors import LedgerError

ACTOR = "svc-stockcard"  # the pipeline's service account (see pipelines.posting)
ROLE = "inventory_controller"
FINANCE_ROLE = "finance"
SYSADMIN_ROLE = "sysadmin"
COUNTER_ROLE = "store_keeper"

# Ties in business time: the earlier step of a chain first (receipts before the putaway that
# moves them, a shipment before its receipt, a count's start before its counts).
RANKS = {
    "purchase_orders": 10, "goods_receipts": 20, "qc_decisions": 30, "putaways": 40,
    "recalls": 45, "transfer_orders": 50, "shipments": 60, "count_results": 70,
    "adjustments": 80, "ecommerce_orders": 90, "wholesale_orders": 90, "pos_sales": 95,
    "consignment_settlements": 99,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class RowRef:
    """A feed row, for tracing a posting or a refusal back to it."""

    feed: str
    file: str
    row_number: int
    source_ref: str


@dataclass(slots=True, eq=False)
class Group:
    """The steps made from the same rows, each needing the one before (a transfer order is
    requested, then submitted). Its rows are counted once: refused if a step was refused (the
    rest is skipped), replayed if every step was a replay, posted otherwise."""

    rows: list[RowRef]
    left: int
    refused: bool = False
    replayed: bool = True


@dataclass(slots=True)
class Step:
    at: datetime
    rank: int
    rows: list[RowRef]
    key: str
    request: dict[str, Any] | None = None  # a plain posting, batched through post_many
    operation: Callable[[StepContext], dict[str, Any]] | None = None  # a workflow operation
    remember: Callable[[StepContext, dict[str, Any]], None] | None = None
    group: Group | None = None

    @property
    def order(self) -> tuple:
        first = self.rows[0]
        return (self.at, self.rank, first.feed, first.file, first.row_number, self.key)


def chain(*steps: Step) -> list[Step]:
    """Steps made from the same rows, in the order they must run."""
    group = Group(steps[0].rows, len(steps))
    for step in steps:
        step.group = group
    return list(steps)


def in_time_order(groups: Iterator[list[Step]]) -> Iterator[Step]:
    """The steps of groups that come in order of their first step, in business-time order:
    a group's later steps wait until no group still to come can start before them."""
    waiting: list[tuple[tuple, int, Step]] = []
    for number, steps in enumerate(groups):
        for step in steps:
            heapq.heappush(waiting, (step.order, number, step))
        floor = min(step.order for step in steps)
        while waiting and waiting[0][0] <= floor:
            yield heapq.heappop(waiting)[2]
    while waiting:
        yield heapq.heappop(waiting)[2]


@dataclass(slots=True)
class StepContext:
    """What steps share while they run: the ledger, the consignment vendors of SKUs, and the
    ledger ids that earlier steps were given (a reservation, a transfer, a shipment, …)."""

    ledger: Ledger
    consigned: Mapping[str, str] = field(default_factory=dict)  # SKU → vendor
    barcodes: Mapping[str, str] = field(default_factory=dict)  # barcode → SKU
    ids: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)  # master record → applied status

    def sku_of(self, code: str) -> str:
        return self.barcodes.get(code, code)

    def remember_id(self, key: str, value: int) -> None:
        self.ids[key] = value

    def id_for(
        self, key: str, extract: Callable[[dict[str, Any]], int], missing: LedgerError
    ) -> int:
        """The id an earlier step under `key` got, in this run or an earlier one."""
        if key in self.ids:
            return self.ids[key]
        with self.ledger.store.read() as tx:
            row = tx.one("select result from operation where key = ?", (key,))
        if row is None:
            raise missing
        value = extract(json.loads(row[0]))
        self.ids[key] = value
        return value


# -- values as the ledger takes them -----------------------------------------------------------


def text(value: Any) -> Any:
    """A typed feed value as request text: exact decimals, ISO 8601 UTC times."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 12.500000 → "12.5", never 1.25E+1
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def request(**fields: Any) -> dict[str, Any]:
    """A ledger request without empty fields, every value as text."""
    return {name: text(value) for name, value in fields.items() if value is not None}


def source(document_type: str, document_id: str, line: Any = None) -> dict[str, str]:
    body = {"document_type": document_type, "document_id": document_id}
    if line is not None:
        body["line"] = str(line)
    return body


def ref(row: Mapping[str, Any]) -> RowRef:
    return RowRef(row["feed"], row["file"], row["row_number"], row["source_ref"])


def key_of(row: Mapping[str, Any], step: str | None = None) -> str:
    """`<feed>:<source_ref>[:<step>]`: the same row always posts under the same key."""
    return f"{row['feed']}:{row['source_ref']}" + (f":{step}" if step else "")


def group_key(feed: str, document: str, step: str) -> str:
    """The key of a step made from a whole document (a goods receipt, a shipment, …)."""
    return f"{feed}:{document}:{step}"


def unknown(code: str, field_name: str, message: str) -> LedgerError:
    return LedgerError(code, f"{field_name}: {message}", field=field_name)
