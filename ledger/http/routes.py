"""The HTTP API's routes under /v1: thin functions over the ledger's Python API.

Writes carry the token's actor and role (a different one in the body is refused, 403, and
audited); reads pass Viewer(actor, role), so the ledger limits them to granted facilities and
leaves out cost fields without cost_view or finance_audit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ledger import counts, masterdata, reservations, transfers
from ledger.access import ACTIONS, Viewer
from ledger.api import Ledger, PostingResult
from ledger.errors import LedgerError, validation_error
from ledger.http import models
from ledger.http.app import LedgerPool, status_of
from ledger.http.tokens import Principal, TokenCache
from ledger.vocabulary import Role

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": models.ErrorBody, "description": text}
    for status, text in (
        (401, "No token, or not a valid one"),
        (403, "The token's actor and role may not do this (forbidden)"),
        (404, "Unknown id, SKU or facility (unknown_*)"),
        (409, "Conflict: idempotency_conflict, invalid_transition, …"),
        (422, "Bad payload (validation_error, with the field)"),
    )
}

router = APIRouter(prefix="/v1", responses=ERRORS)
bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer sc_…`")

Id = Annotated[int, Path(ge=1, le=2**62)]
Code = Annotated[str, Path(min_length=1, max_length=200)]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=2**31, description="Items to skip")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="The request's idempotency_key when the body has none",
    ),
]
Optional = Annotated[str | None, Query(min_length=1, max_length=200)]


async def use_ledger(request: Request) -> AsyncIterator[Ledger]:
    """A pooled ledger for the request; taken without a thread hop when one is idle."""
    pool: LedgerPool = request.app.state.pool
    ledger = pool.take_nowait() or await run_in_threadpool(pool.take)
    try:
        yield ledger
    finally:
        pool.give_back(ledger)


Db = Annotated[Ledger, Depends(use_ledger)]


async def authenticated(
    request: Request,
    ledger: Db,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "Authorization: a bearer token is required", challenge)
    cache: TokenCache = request.app.state.tokens
    token = credentials.credentials
    principal = cache.remembered(token)
    if principal is False:  # not seen lately: look it up in the ledger, off the event loop
        principal = await run_in_threadpool(cache.resolve, ledger, token)
    if principal is None:
        raise HTTPException(401, "Authorization: the token is not valid or was revoked", challenge)
    return principal


Who = Annotated[Principal, Depends(authenticated)]


def viewer(who: Principal) -> Viewer:
    return Viewer(who.actor, who.role)


def refused(ledger: Ledger, who: Principal, field: str, given: object) -> LedgerError:
    """An attempt to act as someone else: refused and kept in the audit trail (L8.4)."""
    detail = {"field": field, "given": str(given)[:200], "via": "http"}
    ledger.store.in_write(
        lambda tx: masterdata.audit(tx, who.actor, who.role, "http.write", field, detail, "refused")
    )
    error = LedgerError(
        "forbidden", f"{field}: the token acts as {getattr(who, field)!r}, not {given!r}",
        field=field,
    )  # fmt: skip
    error.status = 403
    return error


def as_caller(
    ledger: Ledger,
    who: Principal,
    body: dict[str, Any],
    key: str | None = None,
    *,
    ids: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The request the ledger sees: the token's actor and role, the header's idempotency key
    and the path's ids, each refused if the body says otherwise."""
    request = dict(body)
    for field in ("actor", "role"):
        given = request.get(field)
        if given is not None and given != getattr(who, field):
            raise refused(ledger, who, field, given)
        request[field] = getattr(who, field)
    if key is not None:
        given = request.get("idempotency_key")
        if given is not None and given != key:
            raise validation_error("idempotency_key", "differs from the Idempotency-Key header")
        request["idempotency_key"] = key
    for field, value in (ids or {}).items():
        if request.get(field) not in (None, value):
            raise validation_error(field, "differs from the id in the path")
        request[field] = value
    return request


def page(items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    chunk = items[offset : offset + limit]
    following = offset + len(chunk)
    return {
        "items": chunk,
        "page": {
            "limit": limit,
            "offset": offset,
            "total": len(items),
            "next_offset": following if following < len(items) else None,
        },
    }


def visible_facility(ledger: Ledger, who: Principal, code: str) -> None:
    """Refuse (403) a facility the token's actor is not granted in its role; 404 if unknown."""
    with ledger.store.read() as tx:
        config = ledger.config(tx)
        reservations.check_visible(config, viewer(who), reservations.find_facility(config, code))


# -- stock -----------------------------------------------------------------------------------


@router.get("/skus/{sku}/stock", tags=["stock"], summary="Stock of a SKU in every facility")
def stock_by_sku(ledger: Db, who: Who, sku: Code, as_of: Optional = None) -> dict[str, Any]:
    """Every position of the SKU in the facilities the token may see (L9.2)."""
    return ledger.balance(sku, None, as_of, viewer(who))


@router.get(
    "/facilities/{facility}/skus/{sku}/stock", tags=["stock"], summary="Stock at a position"
)
def stock_at(
    ledger: Db,
    who: Who,
    facility: Code,
    sku: Code,
    bin: Optional = None,
    lot: Optional = None,
    as_of: Optional = None,
) -> dict[str, Any]:
    """The SKU's positions at one facility, optionally one bin and/or lot."""
    visible_facility(ledger, who, facility)
    found = ledger.balance(sku, facility, as_of, viewer(who))
    positions = [
        position
        for entry in found["facilities"]
        for position in entry["positions"]
        if (bin is None or position["bin"] == bin) and (lot is None or position["lot"] == lot)
    ]
    totals: dict[str, Any] = {}
    if found["facilities"] and bin is None and lot is None:
        totals = {k: v for k, v in found["facilities"][0].items() if k not in ("positions",)}
    return {
        "sku": found["sku"],
        "facility": facility,
        "bin": bin,
        "lot": lot,
        "as_of": as_of,
        "positions": positions,
        "totals": totals,
    }


@router.get("/facilities/{facility}/skus/{sku}/card", tags=["stock"], summary="Stock card")
def stock_card(
    ledger: Db,
    who: Who,
    facility: Code,
    sku: Code,
    start: Annotated[str | None, Query(alias="from", max_length=200)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=200)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The stock card in business-time order, events paged by limit/offset."""
    card = ledger.card(sku, facility, start, end, viewer(who))
    listing = page(card.pop("events"), limit, offset)
    return {**card, "events": listing["items"], "page": listing["page"]}


@router.get("/facilities/{facility}/skus/{sku}/valuation", tags=["stock"], summary="Valuation")
def valuation(ledger: Db, who: Who, facility: Code, sku: Code) -> dict[str, Any]:
    """Quantity, value, average cost and FIFO layers: only with cost_view or finance_audit."""
    return ledger.valuation(sku, facility, viewer(who))


@router.get("/facilities/{facility}/skus/{sku}/atp", tags=["reservations"], summary="ATP")
def available_to_promise(ledger: Db, who: Who, facility: Code, sku: Code) -> dict[str, Any]:
    return reservations.atp(ledger, sku, facility, viewer(who))


# -- postings --------------------------------------------------------------------------------


@router.post(
    "/postings", tags=["postings"], summary="Post one movement", response_model=models.PostingOut
)
def post_one(
    ledger: Db, who: Who, body: models.Posting, key: IdempotencyKey = None
) -> dict[str, Any]:
    return ledger.post(as_caller(ledger, who, body.payload(), key)).to_json()


@router.post(
    "/postings/batch",
    tags=["postings"],
    summary="Post a batch: one result per item, in order",
    response_model=models.BatchOut,
)
def post_batch(
    ledger: Db, who: Who, body: models.PostingBatch, key: IdempotencyKey = None
) -> dict[str, Any]:
    """Items without an idempotency_key get `<Idempotency-Key>:<index>` from the header."""
    outcomes: list[dict[str, Any] | PostingResult | LedgerError | None] = []
    accepted: list[dict[str, Any]] = []
    for index, item in enumerate(body.items):
        try:
            request = as_caller(ledger, who, item, None)
            if key is not None and request.get("idempotency_key") is None:
                request["idempotency_key"] = f"{key}:{index}"
        except LedgerError as error:
            outcomes.append(error)
            continue
        accepted.append(request)
        outcomes.append(None)
    posted = iter(ledger.post_many(accepted))
    results = [next(posted) if outcome is None else outcome for outcome in outcomes]
    rendered = [result_json(result) for result in results]
    return {"ok": all(result["ok"] for result in rendered), "results": rendered}


def result_json(result: Any) -> dict[str, Any]:
    if isinstance(result, LedgerError):
        return {"ok": False, "status": status_of(result), "error": result.to_json()}
    return result.to_json()


# -- reservations ----------------------------------------------------------------------------


@router.post("/reservations", tags=["reservations"], summary="Reserve stock")
def reserve(
    ledger: Db, who: Who, body: models.Reserve, key: IdempotencyKey = None
) -> dict[str, Any]:
    return reservations.reserve(ledger, as_caller(ledger, who, body.payload(), key))


@router.get("/reservations/{reservation_id}", tags=["reservations"], summary="A reservation")
def reservation(ledger: Db, who: Who, reservation_id: Id) -> dict[str, Any]:
    return reservations.reservation(ledger, reservation_id, viewer(who))


def reservation_step(operation: str, step: Callable[..., dict[str, Any]]) -> None:
    def route(
        ledger: Db, who: Who, reservation_id: Id, body: models.Step, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        ids = {"reservation_id": reservation_id}
        return step(ledger, as_caller(ledger, who, body.payload(), key, ids=ids))

    route.__name__ = f"reservation_{operation}"
    router.add_api_route(
        f"/reservations/{{reservation_id}}/{operation}",
        route,
        methods=["POST"],
        tags=["reservations"],
        summary=f"{operation.capitalize()} a reservation",
    )


for _name, _step in (
    ("allocate", reservations.allocate),
    ("commit", reservations.commit),
    ("release", reservations.release),
    ("consume", reservations.consume),
):
    reservation_step(_name, _step)


# -- transfers -------------------------------------------------------------------------------


@router.post("/transfers", tags=["transfers"], summary="Request a transfer")
def request_transfer(
    ledger: Db, who: Who, body: models.NewTransfer, key: IdempotencyKey = None
) -> dict[str, Any]:
    return transfers.request_transfer(ledger, as_caller(ledger, who, body.payload(), key))


@router.get("/transfers", tags=["transfers"], summary="Transfers, newest first")
def list_transfers(
    ledger: Db,
    who: Who,
    status: Optional = None,
    source: Optional = None,
    destination: Optional = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.Listing:
    found = transfers.transfers(ledger, status, source, destination, viewer(who))
    return models.Listing.model_validate(page(found, limit, offset))


@router.get("/transfers/{transfer_id}", tags=["transfers"], summary="A transfer in detail")
def transfer_detail(ledger: Db, who: Who, transfer_id: Id) -> dict[str, Any]:
    return transfers.transfer(ledger, transfer_id, viewer(who))


def transfer_step(operation: str, model: type[models.Body], step: Callable[..., Any]) -> None:
    def route(
        ledger: Db,
        who: Who,
        transfer_id: Id,
        body: model,  # type: ignore[valid-type]
        key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        ids = {"transfer_id": transfer_id}
        return step(ledger, as_caller(ledger, who, body.payload(), key, ids=ids))

    route.__annotations__["body"] = model  # a real class: FastAPI cannot see this local name
    route.__name__ = f"transfer_{operation}"
    router.add_api_route(
        f"/transfers/{{transfer_id}}/{operation}",
        route,
        methods=["POST"],
        tags=["transfers"],
        summary=f"{operation.capitalize()} a transfer",
    )


for _name, _model, _step in (
    ("submit", models.Decision, transfers.submit_transfer),
    ("approve", models.Approval, transfers.approve_transfer),
    ("cancel", models.Decision, transfers.cancel_transfer),
    ("ship", models.Ship, transfers.ship_transfer),
):
    transfer_step(_name, _model, _step)


@router.post("/shipments/{shipment_id}/receive", tags=["transfers"], summary="Receive")
def receive_shipment(
    ledger: Db, who: Who, shipment_id: Id, body: models.Receive, key: IdempotencyKey = None
) -> dict[str, Any]:
    ids = {"shipment_id": shipment_id}
    return transfers.receive_shipment(ledger, as_caller(ledger, who, body.payload(), key, ids=ids))


# -- counts ----------------------------------------------------------------------------------


@router.post("/counts", tags=["counts"], summary="Start a count session")
def start_count(
    ledger: Db, who: Who, body: models.StartCount, key: IdempotencyKey = None
) -> dict[str, Any]:
    return counts.start_count(ledger, as_caller(ledger, who, body.payload(), key))


@router.post("/counts/{session_id}/entries", tags=["counts"], summary="Record counts")
def record_count(
    ledger: Db, who: Who, session_id: Id, body: models.RecordCounts, key: IdempotencyKey = None
) -> dict[str, Any]:
    ids = {"session": session_id}
    return counts.record_count(ledger, as_caller(ledger, who, body.payload(), key, ids=ids))


@router.post("/counts/{session_id}/finalise", tags=["counts"], summary="Finalise a count")
def finalise_count(
    ledger: Db, who: Who, session_id: Id, body: models.Finalise, key: IdempotencyKey = None
) -> dict[str, Any]:
    ids = {"session": session_id}
    return counts.finalise_count(ledger, as_caller(ledger, who, body.payload(), key, ids=ids))


@router.get("/counts/{session_id}/sheet", tags=["counts"], summary="The blind count sheet")
def count_sheet(ledger: Db, who: Who, session_id: Id) -> dict[str, Any]:
    sheet = counts.count_sheet(ledger, session_id)
    visible_facility(ledger, who, sheet["facility"])
    return sheet


# Who may see system quantities and variances: approvers, and auditors.
REVIEWERS = ACTIONS["count.approve"] | {Role.AUDITOR, Role.FINANCE_MANAGER}


@router.get("/counts/{session_id}/review", tags=["counts"], summary="Review a count")
def count_review(ledger: Db, who: Who, session_id: Id) -> dict[str, Any]:
    """System quantities, every count and the variances: for approvers and auditors."""
    if Role._value2member_map_.get(who.role) not in REVIEWERS:
        error = LedgerError("forbidden", f"role: {who.role!r} may not review counts", field="role")
        error.status = 403
        raise error
    review = counts.count_review(ledger, session_id)
    visible_facility(ledger, who, review["facility"])
    return review


# -- periods ---------------------------------------------------------------------------------


@router.get("/periods", tags=["periods"], summary="Accounting periods")
def list_periods(
    ledger: Db, who: Who, status: Optional = None, limit: Limit = 100, offset: Offset = 0
) -> models.Listing:
    found = [p for p in ledger.periods() if status is None or p["status"] == status]
    return models.Listing.model_validate(page(found, limit, offset))


@router.post("/periods/{period}/close", tags=["periods"], summary="Close a period")
def close_period(ledger: Db, who: Who, period: Code) -> dict[str, Any]:
    return ledger.close_period(period, actor=who.actor, role=who.role)


@router.post("/periods/{period}/reopen", tags=["periods"], summary="Reopen a closed period")
def reopen_period(
    ledger: Db, who: Who, period: Code, body: models.Reopen | None = None
) -> dict[str, Any]:
    why = body.justification if body is not None else None
    return ledger.reopen_period(period, actor=who.actor, role=who.role, justification=why)


@router.post("/periods/{period}/lock", tags=["periods"], summary="Lock a closed period")
def lock_period(ledger: Db, who: Who, period: Code) -> dict[str, Any]:
    return ledger.lock_period(period, actor=who.actor, role=who.role)
