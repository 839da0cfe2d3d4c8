"""The ledger's Python API: the one write path for stock, and the reads built on it.

ledger = Ledger.open("sqlite:///data/ledger.sqlite")
ledger.init()
ledger.apply(records, actor="ops", role="sysadmin")
result = ledger.post({...})            # PostingResult, or raises LedgerError
ledger.balance("SKU-1")                # every facility (L9.2)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ledger import masterdata, periods, queries
from ledger.access import REFUSALS, Viewer
from ledger.config import Config, config_version, load_config
from ledger.errors import LedgerError
from ledger.planner import plan
from ledger.render import event_json
from ledger.requests import PostingRequest, parse_posting
from ledger.session import EVENT_COLUMNS, Accepted, Draft, PostingSession, StockCache
from ledger.storage import DEFAULT_URL, Store, Tx, open_store


class PostingResult:
    """What a posting wrote (or, for a retried key, what it wrote the first time). The events
    are rendered to JSON only when asked for, so batch callers that need only the outcome do
    not pay for it."""

    __slots__ = ("_config", "_events", "_lots", "_rows", "idempotency_key", "replayed")

    def __init__(
        self, key: str, replayed: bool, rows: list[tuple], config: Config, lots: dict[int, str]
    ):
        self.idempotency_key = key
        self.replayed = replayed
        self._rows = rows
        self._config = config
        self._lots = lots
        self._events: list[dict[str, Any]] | None = None

    @property
    def event_ids(self) -> list[int]:
        return [row[0] for row in self._rows]

    @property
    def events(self) -> list[dict[str, Any]]:
        if self._events is None:
            self._events = [event_json(row, self._config, self._lots) for row in self._rows]
        return self._events

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "idempotency_key": self.idempotency_key,
            "replayed": self.replayed,
            "events": self.events,
        }

    def __repr__(self) -> str:
        return f"PostingResult({self.idempotency_key!r}, events={self.event_ids})"


T = TypeVar("T")


@dataclass(slots=True)
class _Again:
    """A key repeated within one batch: answered with the first request's events."""

    accepted: Accepted


@dataclass(slots=True)
class _Replay:
    key: str
    first: int
    last: int


class Ledger:
    def __init__(self, store: Store):
        self.store = store
        self._config: Config | None = None
        self._cache = StockCache()

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

    def post_many(self, requests: Sequence[Mapping[str, Any]]) -> list[PostingResult | LedgerError]:
        """Post a batch in one transaction. Each request is accepted or rejected on its own; a
        rejected one writes nothing. Retrying the batch never applies a request twice."""
        parsed: list[PostingRequest | LedgerError] = []
        for raw in requests:
            try:
                parsed.append(parse_posting(raw))
            except LedgerError as error:
                parsed.append(error)
        outcomes = self.transact(lambda tx, session: self._post_in(tx, session, parsed))
        refused = [
            (request, outcome)
            for request, outcome in zip(parsed, outcomes, strict=True)
            if isinstance(outcome, LedgerError) and outcome.code in REFUSALS
        ]
        if refused:
            self.store.in_write(lambda tx: record_refusals(tx, refused))
        return outcomes

    def transact(self, work: Callable[[Tx, PostingSession], T]) -> T:
        """Run `work` in one write transaction with a posting session, flush what it posted and
        commit; retried whole on transient conflicts."""

        def attempt(tx: Tx) -> tuple[T, bool]:
            session = self._session(tx)
            result = work(tx, session)
            session.flush()
            return result, session.opened_periods

        result, opened_periods = self.store.in_write(attempt, keep_caches=True)
        if opened_periods:
            self._config = None  # the months it opened are master data now
        return result

    def _session(self, tx: Tx) -> PostingSession:
        generation = self.store.generation
        if self._cache.generation != generation or self._cache.too_big():
            self._cache = StockCache(generation)
            config = self.config(tx)
        else:
            config = self._config or self.config(tx)
        return PostingSession(tx, config, self._cache)

    def _post_in(
        self, tx: Tx, session: PostingSession, parsed: list[PostingRequest | LedgerError]
    ) -> list[PostingResult | LedgerError]:
        seen = known_keys(tx, [r.idempotency_key for r in parsed if isinstance(r, PostingRequest)])
        outcomes: list[Accepted | _Again | _Replay | LedgerError] = []
        for request in parsed:
            if isinstance(request, LedgerError):
                outcomes.append(request)
            else:
                outcomes.append(self._post_one(session, request, seen))
        session.flush()
        return [self._result(tx, session, outcome) for outcome in outcomes]

    def _post_one(
        self, session: PostingSession, req: PostingRequest, seen: dict[str, tuple]
    ) -> Accepted | _Again | _Replay | LedgerError:
        earlier = session.by_key.get(req.idempotency_key)
        if earlier is not None:
            if earlier.fingerprint != req.fingerprint:
                return conflict(req.idempotency_key)
            return _Again(earlier)
        row = seen.get(req.idempotency_key)
        if row is not None:
            if row[0] != req.fingerprint:
                return conflict(req.idempotency_key)
            return _Replay(req.idempotency_key, row[1], row[2])
        draft = Draft(session)
        try:
            plan(req, draft)
        except LedgerError as error:
            return error
        return session.accept(draft, req.idempotency_key, req.fingerprint)

    def _result(
        self, tx: Tx, session: PostingSession, outcome: Accepted | _Again | _Replay | LedgerError
    ) -> PostingResult | LedgerError:
        if isinstance(outcome, LedgerError):
            return outcome
        if isinstance(outcome, _Replay):
            rows = tx.all(
                f"select {EVENT_COLUMNS} from stock_event where event_id between ? and ? "
                "order by event_id",
                (outcome.first, outcome.last),
            )
            lots = queries.lot_numbers(tx, {row[6] for row in rows if row[6]})
            return PostingResult(outcome.key, True, rows, session.config, lots)
        accepted = outcome.accepted if isinstance(outcome, _Again) else outcome
        rows = [event.stored for event in accepted.events]
        again = isinstance(outcome, _Again)
        return PostingResult(accepted.key, again, rows, session.config, session.lot_numbers)

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

    # Reads take an optional viewer: without one (a trusted caller such as the pipeline) they
    # see everything; with one, only granted facilities and, without cost_view or
    # finance_audit, no cost fields.

    def balance(
        self,
        sku: str,
        facility: str | None = None,
        as_of: str | None = None,
        viewer: Viewer | None = None,
    ) -> dict[str, Any]:
        with self.store.read() as tx:
            return queries.balance(tx, self.config(tx), sku, facility, as_of, viewer)

    def card(
        self,
        sku: str,
        facility: str,
        start: str | None = None,
        end: str | None = None,
        viewer: Viewer | None = None,
    ) -> dict[str, Any]:
        with self.store.read() as tx:
            return queries.card(tx, self.config(tx), sku, facility, start, end, viewer)

    def valuation(self, sku: str, facility: str, viewer: Viewer | None = None) -> dict[str, Any]:
        with self.store.read() as tx:
            return queries.valuation(tx, self.config(tx), sku, facility, viewer)

    def outbox(self, after: int = 0, limit: int = 10_000) -> list[dict[str, Any]]:
        """Outbox messages after sequence `after`, in order: the extraction feed."""
        with self.store.read() as tx:
            return queries.outbox(tx, self.config(tx), after, limit)


def record_refusals(tx: Tx, refused: list[tuple[PostingRequest | LedgerError, LedgerError]]):
    for request, error in refused:
        if isinstance(request, PostingRequest):
            actor, role, subject = request.actor, request.role.value, request.idempotency_key
            detail = {"kind": request.kind.value, "sku": request.sku, "facility": request.facility}
        else:
            actor, role, subject, detail = "unknown", "unknown", "request", {}
        detail.update(error=error.code, message=error.message)
        masterdata.audit(tx, actor, role, "post", subject, detail, "refused")


def known_keys(tx: Tx, keys: list[str]) -> dict[str, tuple]:
    """The idempotency records of a batch's keys, read in a few queries instead of one each."""
    found: dict[str, tuple] = {}
    unique = sorted(set(keys))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        rows = tx.all(
            "select key, request_hash, first_event_id, last_event_id from idempotency "
            f"where key in ({', '.join('?' * len(chunk))})",
            chunk,
        )
        found.update((row[0], row[1:]) for row in rows)
    return found


def conflict(key: str) -> LedgerError:
    error = LedgerError(
        "idempotency_conflict",
        f"idempotency_key: {key!r} was already used for a different request",
        field="idempotency_key",
    )
    error.status = 409
    return error
