"""Request and response bodies of the HTTP API, for validation and the OpenAPI description.

The models check shape (names and JSON types); the ledger checks meaning (quantities, codes,
times, grants) exactly as it does for the Python API and the command line.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Text = str
Qty = str | int
Money = str | int


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def payload(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class Caller(Body):
    idempotency_key: Text | None = Field(
        None, description="Retry key; may come from the Idempotency-Key header instead"
    )
    actor: Text | None = Field(None, description="Must equal the token's actor, if given")
    role: Text | None = Field(None, description="Must equal the token's role, if given")
    comment: Text | None = None


class Source(Body):
    document_type: Text
    document_id: Text
    line: Text | int | None = None


class Posting(Caller):
    kind: Text = Field(description="receipt, issue, transfer_out, adjustment, …")
    sku: Text
    facility: Text
    bin: Text | None = None
    to_bin: Text | None = None
    lot: Text | None = None
    lot_expires_on: Text | None = None
    bucket: Text | None = None
    to_bucket: Text | None = None
    owner: Text | None = None
    qty: Qty | None = None
    unit_cost: Money | None = None
    currency: Text | None = None
    amount: Money | None = None
    value: Money | None = None
    reason_code: Text | None = None
    channel: Text | None = None
    cost_centre: Text | None = None
    source: Source | None = None
    occurred_at: Text | None = None
    reverses: int | Text | None = None
    approver: Text | None = None
    layers: list[dict[str, Any]] | None = None


class PostingBatch(Body):
    items: list[dict[str, Any]] = Field(
        description="Posting requests (as POST /v1/postings), each accepted or rejected alone",
        max_length=1000,
    )


class Reference(Body):
    document_type: Text
    document_id: Text
    line: Text | int | None = None


class Reserve(Caller):
    sku: Text
    facility: Text
    qty: Qty
    channel: Text
    reference: Reference
    expires_at: Text | None = None


class Pick(Body):
    bin: Text | None = None
    lot: Text | None = None
    owner: Text | None = None
    qty: Qty


class Step(Caller):
    """allocate, commit, release or consume of the reservation in the path."""

    qty: Qty | None = None
    reason_code: Text | None = None
    expires_at: Text | None = None
    picks: list[Pick] | None = None
    occurred_at: Text | None = None


class Line(Body):
    sku: Text
    qty: Qty
    lot: Text | None = None
    owner: Text | None = None


class BinLine(Line):
    bin: Text | None = None


class NewTransfer(Caller):
    source: Text
    destination: Text
    via: Text | None = None
    lines: list[Line]
    suggestion_id: int | None = None


class Decision(Caller):
    reason: Text | None = None


class Approval(Decision):
    lines: list[Line] | None = None


class Ship(Caller):
    occurred_at: Text | None = None
    lines: list[BinLine] | None = None
    transfer_cost: Money | None = None
    transfer_cost_per_unit: Money | None = None
    currency: Text | None = None
    final: bool | None = None
    reason_code: Text | None = None
    carrier: Text | None = None
    reference: Text | None = None


class ReceiptException(Body):
    type: Text
    sku: Text | None = None
    qty: Qty | None = None
    lot: Text | None = None
    owner: Text | None = None
    reason_code: Text | None = None
    facility: Text | None = None
    bin: Text | None = None
    comment: Text | None = None
    approver: Text | None = None


class Receive(Caller):
    occurred_at: Text | None = None
    lines: list[BinLine] | None = None
    exceptions: list[ReceiptException] | None = None


class StartCount(Caller):
    facility: Text
    bins: list[Text] | None = None
    skus: list[Text] | None = None


class Counted(Body):
    line: int | None = None
    bin: Text | None = None
    sku: Text | None = None
    lot: Text | None = None
    bucket: Text | None = None
    owner: Text | None = None
    qty: Qty


class RecordCounts(Caller):
    counts: list[Counted]


class Finalise(Caller):
    reason_code: Text | None = None
    occurred_at: Text | None = None


class Reopen(Body):
    justification: Text | None = None


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine code: forbidden, unknown_sku, …")
    message: str
    field: str | None = None
    detail: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    ok: bool = False
    error: ErrorDetail


class Page(BaseModel):
    limit: int
    offset: int
    total: int
    next_offset: int | None


class Listing(BaseModel):
    items: list[dict[str, Any]]
    page: Page


class PostingOut(BaseModel):
    ok: bool
    idempotency_key: str
    replayed: bool
    events: list[dict[str, Any]]


class BatchOut(BaseModel):
    ok: bool = Field(description="True when every item was accepted")
    results: list[dict[str, Any]] = Field(description="One per item, in order")
