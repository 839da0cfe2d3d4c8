"""API tokens: issued to an actor in a role, stored only as a SHA-256 hash, revocable.

A token reads `sc_<token_id>_<secret>`; the id is public (used to revoke), the whole token is
shown once when issued. Issuing and revoking are configuration writes (sysadmin) and audited.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from ledger import access, masterdata, timeutil
from ledger.api import Ledger
from ledger.errors import LedgerError, validation_error
from ledger.storage import Tx
from ledger.vocabulary import Role

PREFIX = "sc_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a token speaks for."""

    token_id: str
    actor: str
    role: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(
    ledger: Ledger, *, actor: str, role: str, by: str, by_role: str, label: str | None = None
) -> dict[str, Any]:
    """A new token for `actor` in `role`; the token itself is in the result and nowhere else."""
    if Role._value2member_map_.get(role) is None:
        raise validation_error("role", f"must be one of {', '.join(r.value for r in Role)}")
    if not actor or actor != actor.strip() or len(actor) > 200:
        raise validation_error("actor", "must be a non-empty trimmed name")
    token_id = secrets.token_hex(6)
    token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"

    def write(tx: Tx) -> dict[str, Any]:
        now = timeutil.stored(timeutil.now())
        config = ledger.config(tx)
        access.authorise(config.grants, by, by_role, "config.write", None, now)
        if not access.grants_of(config.grants, actor, role):
            raise validation_error("role", f"actor {actor!r} holds no grant as {role}")
        tx.run(
            "insert into api_token (token_id, token_hash, actor, role, label, issued_at, "
            "issued_by) values (?, ?, ?, ?, ?, ?, ?)",
            (token_id, digest(token), actor, role, label, now, by),
        )
        detail = {"actor": actor, "role": role, "label": label}
        masterdata.audit(tx, by, by_role, "token.issue", token_id, detail)
        return {"ok": True, "token_id": token_id, "token": token, "actor": actor, "role": role}

    return ledger.store.in_write(write)


def revoke(ledger: Ledger, token_id: str, *, by: str, by_role: str) -> dict[str, Any]:
    def write(tx: Tx) -> dict[str, Any]:
        now = timeutil.stored(timeutil.now())
        access.authorise(ledger.config(tx).grants, by, by_role, "config.write", None, now)
        row = tx.one("select revoked_at from api_token where token_id = ?", (token_id,))
        if row is None:
            raise LedgerError(
                "unknown_token", f"token_id: no such token {token_id!r}", field="token_id"
            )
        if row[0] is None:
            tx.run(
                "update api_token set revoked_at = ?, revoked_by = ? where token_id = ?",
                (now, by, token_id),
            )
            masterdata.audit(tx, by, by_role, "token.revoke", token_id, {})
        return {"ok": True, "token_id": token_id, "revoked": True, "already": row[0] is not None}

    return ledger.store.in_write(write)


def tokens(ledger: Ledger) -> list[dict[str, Any]]:
    """Every token's id, actor, role and state; never the token or its hash."""
    with ledger.store.read() as tx:
        rows = tx.all(
            "select token_id, actor, role, label, issued_at, issued_by, revoked_at "
            "from api_token order by issued_at, token_id"
        )
    return [
        {
            "token_id": row[0],
            "actor": row[1],
            "role": row[2],
            "label": row[3],
            "issued_at": timeutil.iso(row[4]),
            "issued_by": row[5],
            "revoked_at": timeutil.iso(row[6]),
        }
        for row in rows
    ]


class TokenCache:
    """Token lookups for one process, remembered for `ttl` seconds so a hot read path does not
    query the token table on every request; a revocation is honoured within `ttl`."""

    def __init__(self, ttl: float = 5.0):
        self.ttl = ttl
        self._seen: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def remembered(self, token: str) -> Principal | Literal[False] | None:
        """The principal (or None: refused) if looked up within `ttl`; False if not."""
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        with self._lock:
            cached = self._seen.get(digest(token))
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        return False

    def resolve(self, ledger: Ledger, token: str) -> Principal | None:
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        key = digest(token)
        now = time.monotonic()
        with ledger.store.read() as tx:
            row = tx.one(
                "select token_id, actor, role from api_token "
                "where token_hash = ? and revoked_at is null",
                (key,),
            )
        found = Principal(row[0], row[1], row[2]) if row is not None else None
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[key] = (now, found)
        return found
