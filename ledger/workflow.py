"""One write transaction for a workflow (transfers, reservations, receiving, counts, recall):
its own tables, the stock movements it posts, outbox messages and audit rows commit together
or not at all.

    def ship(ledger, request):
        def work(wf: Workflow) -> dict:
            replay = wf.replay("transfer.ship", key, fingerprint)
            if replay is not None:
                return replay
            events = wf.post({...kind: "transfer_out"...}) + wf.post({...})
            wf.flush()                  # the events have their ids now
            wf.tx.run("insert into transfer_shipment ...", (...))
            wf.emit("transfer-shipped", {...})
            return wf.remember("transfer.ship", key, fingerprint, {...})
        return run(ledger, work)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ledger import timeutil
from ledger.access import REFUSALS
from ledger.config import Config
from ledger.errors import LedgerError
from ledger.masterdata import audit
from ledger.planner import plan
from ledger.render import event_json
from ledger.requests import parse_posting
from ledger.session import Draft, PlannedEvent, PostingSession
from ledger.storage import Tx

if TYPE_CHECKING:
    from ledger.api import Ledger

T = TypeVar("T")


class Workflow:
    def __init__(self, tx: Tx, session: PostingSession):
        self.tx = tx
        self.session = session
        self.now = session.posted_at

    @property
    def config(self) -> Config:
        return self.session.config

    def post(self, request: Mapping[str, Any], *, internal: bool = True) -> list[PlannedEvent]:
        """Plan and accept one movement (any kind, the in-transit node included); raises the
        rejection, which rolls back the whole workflow."""
        req = parse_posting(request, internal=internal)
        if req.idempotency_key in self.session.by_key or self._key_used(req.idempotency_key):
            raise LedgerError(
                "idempotency_conflict",
                f"idempotency_key: {req.idempotency_key!r} was already used",
                field="idempotency_key",
            )
        draft = Draft(self.session)
        plan(req, draft)
        return self.session.accept(draft, req.idempotency_key, req.fingerprint).events

    def _key_used(self, key: str) -> bool:
        return self.tx.one("select 1 from idempotency where key = ?", (key,)) is not None

    def flush(self) -> None:
        """Write the movements posted so far; afterwards their events have ids."""
        self.session.flush()

    def events_json(self, events: list[PlannedEvent]) -> list[dict[str, Any]]:
        return [
            event_json(event.stored, self.config, self.session.lot_numbers)  # type: ignore[arg-type]
            for event in events
        ]

    def emit(self, topic: str, payload: Mapping[str, Any]) -> None:
        seq = self.tx.next_ids("outbox", 1)
        self.tx.run(
            "insert into outbox (seq, topic, event_id, payload, created_at) "
            "values (?, ?, null, ?, ?)",
            (seq, topic, json.dumps(payload, sort_keys=True, default=str), self.now),
        )

    def audit(
        self, actor: str, role: str, action: str, subject: str, detail: dict[str, Any]
    ) -> None:
        audit(self.tx, actor, role, action, subject, detail)

    # -- idempotency of whole operations ----------------------------------------------------

    def replay(self, kind: str, key: str, fingerprint: str) -> dict[str, Any] | None:
        """The stored result of an operation already done with this key, or None; the same key
        with another request is a conflict."""
        row = self.tx.one("select kind, request_hash, result from operation where key = ?", (key,))
        if row is None:
            return None
        if (row[0], row[1]) != (kind, fingerprint):
            error = LedgerError(
                "idempotency_conflict",
                f"idempotency_key: {key!r} was already used for a different request",
                field="idempotency_key",
            )
            error.status = 409
            raise error
        return {**json.loads(row[2]), "replayed": True}

    def remember(
        self, kind: str, key: str, fingerprint: str, result: dict[str, Any]
    ) -> dict[str, Any]:
        self.tx.run(
            "insert into operation (key, kind, request_hash, result, created_at) "
            "values (?, ?, ?, ?, ?)",
            (key, kind, fingerprint, json.dumps(result, sort_keys=True, default=str), self.now),
        )
        return {**result, "replayed": False}


def fingerprint(request: Mapping[str, Any]) -> str:
    """A digest of an operation's request, for `replay`/`remember`."""
    text = json.dumps(request, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def run(
    ledger: Ledger,
    work: Callable[[Workflow], T],
    *,
    actor: str | None = None,
    role: str | None = None,
    action: str = "workflow",
    subject: str = "",
) -> T:
    """Run `work` in one write transaction of `ledger`, retried whole on transient conflicts.
    A refusal by access control or an approval gate is kept in the audit trail (L8.4) while
    everything else of the attempt is rolled back."""
    try:
        return ledger.transact(lambda tx, session: work(Workflow(tx, session)))
    except LedgerError as error:
        if error.code in REFUSALS:
            detail = {"error": error.code, "message": error.message}
            ledger.store.in_write(
                lambda tx: audit(
                    tx, actor or "unknown", role or "unknown", action, subject, detail, "refused"
                )
            )
        raise


def now_text() -> str:
    return timeutil.stored(timeutil.now())
