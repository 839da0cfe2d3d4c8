"""The ledger's Python API: the one write path for stock, and the reads built on it.

    ledger = Ledger.open("sqlite:///data/ledger.sqlite")
    ledger.init()
    ledger.apply(records, actor="ops", role="sysadmin")
    result = ledger.post({...})            # PostingResult, or raises LedgerError
    ledger.balance("SKU-1")                # every facility (L9.2)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger import masterdata, periods, queries
from ledger.config import Config, config_version, load_config
from ledger.errors import LedgerError
from ledger.planner import plan
from ledger.render import event_json
from ledger.requests import PostingRequest, parse_posting
from ledger.session import EVENT_COLUMNS, Accepted, Draft, PostingSession
from ledger.storage import DEFAULT_URL, Store, Tx, open_store
from ledger.timeutil import now, stored


@dataclass(slots=True)
class PostingResult:
    """What a posting wrote (or, for a retried key, what it wrote the first time)."""

    idempotency_key: str
    replayed: bool
    events: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "idempotency_key": self.idempotency_key,
            "replayed": self.replayed,
            "events": self.events,
        }


@dataclass(slots=True)
class _Replay:
    key: str
    first: int
    last: int


class Ledger:
    def __init__(self, store: Store):
        self.store = store
        self._config: Config | None = None

    @classmethod
    def open(cls, url: str | None = None) -> Ledger:
        """The ledger at `url`, else $STOCKCARD_LEDGER_URL, else the embedded SQLite file."""
        return cls(open_store(url or os.environ.get("STOCKCARD_LEDGER_URL") or DEFAULT_URL))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- set-up and configuration ----------------------------------------------------------

    def init(self) -> dict[str, Any]:
        """Create or upgrade the ledger; running it again changes nothing."""
        self.store.init_schema()
        self.store.in_write(masterdata.seed_system_reasons)
        with self.store.read() as tx:
            version = tx.one("select value from ledger_meta where key = 'schema_version'")
        return {"ok": True, "backend": self.store.name, "schema_version": int(version[0])}

    def apply(
        self, records: Iterable[Mapping[str, Any]], *, actor: str, role: str
    ) -> list[dict[str, Any]]:
        """Master data and configuration, all or nothing."""
        batch = list(records)
        return self.store.in_write(lambda tx: masterdata.apply(tx, batch, actor=actor, role=role))

    def config(self, tx: Tx) -> Config:
        """Master data as of this transaction, reloaded only when a writer changed it."""
        version = config_version(tx)
        if self._config is None or self._config.version != version:
            self._config = load_config(tx)
        return self._config

    # -- posting ---------------------------------------------------------------------------

    def post(self, request: Mapping[str, Any]) -> PostingResult:
        """Post one movement in its own transaction, or raise the rejection."""
        outcome = self.post_many([request])[0]
        if isinstance(outcome, LedgerError):
            raise outcome
        return outcome

    def post_many(
        self, requests: Sequence[Mapping[str, Any]]
    ) -> list[PostingResult | LedgerError]:
        """Post a batch in one transaction. Each request is accepted or rejected on its own; a
        rejected one writes nothing. Retrying the batch never applies a request twice."""
        parsed: list[PostingRequest | LedgerError] = []
        for raw in requests:
            try:
                parsed.append(parse_posting(raw))
            except LedgerError as error:
                parsed.append(error)
        return self.store.in_write(lambda tx: self._post_in(tx, parsed))

    def _post_in(
        self, tx: Tx, parsed: list[PostingRequest | LedgerError]
    ) -> list[PostingResult | LedgerError]:
        session = PostingSession(tx, self.config(tx))
        outcomes: list[Accepted | _Replay | LedgerError] = []
        for request in parsed:
            if isinstance(request, LedgerError):
                outcomes.append(request)
            else:
                outcomes.append(self._post_one(session, request))
        session.flush()
        return [self._result(tx, session, outcome) for outcome in outcomes]

    def _post_one(
        self, session: PostingSession, req: PostingRequest
    ) -> Accepted | _Replay | LedgerError:
        earlier = session.by_key.get(req.idempotency_key)
        if earlier is not None:
            if earlier.fingerprint != req.fingerprint:
                return conflict(req.idempotency_key)
            return earlier
        row = session.tx.one(
            "select request_hash, first_event_id, last_event_id from idempotency where key = ?",
            (req.idempotency_key,),
        )
        if row is not None:
            if row[0] != req.fingerprint:
                return conflict(req.idempotency_key)
            return _Replay(req.idempotency_key, row[1], row[2])
        draft = Draft(session)
        try:
            plan(req, draft, stored(now()))
        except LedgerError as error:
            return error
        return session.accept(draft, req.idempotency_key, req.fingerprint)

    def _result(
        self, tx: Tx, session: PostingSession, outcome: Accepted | _Replay | LedgerError
    ) -> PostingResult | LedgerError:
        if isinstance(outcome, LedgerError):
            return outcome
        if isinstance(outcome, _Replay):
            rows = tx.all(
                f"select {EVENT_COLUMNS} from stock_event where event_id between ? and ? "
                "order by event_id",
                (outcome.first, outcome.last),
            )
            replayed = True
        else:
            rows = [
                event.row(session.positions[event.position.key].position_id)  # type: ignore[arg-type]
                for event in outcome.events
            ]
            replayed = False
        lots = queries.lot_numbers(tx, {row[6] for row in rows if row[6]})
        events = [event_json(row, session.config, lots) for row in rows]
        return PostingResult(outcome.key, replayed, events)

    # -- periods ---------------------------------------------------------------------------

    def close_period(self, code: str, *, actor: str, role: str) -> dict[str, Any]:
        return periods.transition(self.store, "close", code, actor=actor, role=role)

    def reopen_period(
        self, code: str, *, actor: str, role: str, justification: str | None
    ) -> dict[str, Any]:
        return periods.transition(
            self.store, "reopen", code, actor=actor, role=role, justification=justification
        )

    def lock_period(self, code: str, *, actor: str, role: str) -> dict[str, Any]:
        return periods.transition(self.store, "lock", code, actor=actor, role=role)

    def periods(self) -> list[dict[str, Any]]:
        with self.store.read() as tx:
            return periods.listing(tx)

    def period_snapshot(self, code: str) -> dict[str, Any]:
        with self.store.read() as tx:
            return periods.snapshot(tx, self.config(tx), code)

    # -- reads -----------------------------------------------------------------------------

    def balance(
        self, sku: str, facility: str | None = None, as_of: str | None = None
    ) -> dict[str, Any]:
        with self.store.read() as tx:
            return queries.balance(tx, self.config(tx), sku, facility, as_of)

    def card(
        self, sku: str, facility: str, start: str | None = None, end: str | None = None
    ) -> dict[str, Any]:
        with self.store.read() as tx:
            return queries.card(tx, self.config(tx), sku, facility, start, end)

    def valuation(self, sku: str, facility: str) -> dict[str, Any]:
        with self.store.read() as tx:
            return queries.valuation(tx, self.config(tx), sku, facility)

    def outbox(self, after: int = 0, limit: int = 10_000) -> list[dict[str, Any]]:
        """Outbox messages after sequence `after`, in order: the extraction feed."""
        with self.store.read() as tx:
            return queries.outbox(tx, self.config(tx), after, limit)


def conflict(key: str) -> LedgerError:
    error = LedgerError(
        "idempotency_conflict",
        f"idempotency_key: {key!r} was already used for a different request",
        field="idempotency_key",
    )
    error.status = 409
    return error
