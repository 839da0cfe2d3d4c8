"""The storage interface the rules are written against; backends supply dialect and DDL."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

T = TypeVar("T")
Row = tuple[Any, ...]


class Tx(ABC):
    """One open transaction (or autocommit read) on a backend connection."""

    lock_suffix = ""

    def __init__(self, store: Store, cursor: Any):
        self.store = store
        self.cursor = cursor

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        self.run(sql, params)
        return self.cursor.fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self.run(sql, params)
        return self.cursor.fetchall()

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        # Without parameters the driver must not parse placeholders (PL/pgSQL uses % itself).
        if params:
            self.cursor.execute(self.store.dialect(sql), params)
        else:
            self.cursor.execute(self.store.dialect(sql))

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.cursor.executemany(self.store.dialect(sql), rows)

    @abstractmethod
    def next_ids(self, counter: str, count: int) -> int:
        """The first of `count` consecutive ids of a gap-free counter, in commit order."""

    @abstractmethod
    def new_ids(self, counter: str, count: int) -> list[int]:
        """`count` unique ids; gaps allowed, and taking them writes nothing."""

    def locked(self, sql: str) -> str:
        return sql + self.lock_suffix


class Store(ABC):
    """A ledger database. Subclasses give the DDL, the dialect and the transaction rules.

    `generation` tells callers when state they cached from this store may be stale: it changes
    whenever another writer may have committed, a write rolled back, or a write that asked not
    to keep caches committed. While it is unchanged, what this connection last committed is
    still the database's state."""

    url: str
    name: str
    generation = 0

    def dialect(self, sql: str) -> str:
        return sql

    @abstractmethod
    def init_schema(self) -> None:
        """Create or upgrade the tables, indexes and append-only triggers (idempotent)."""

    @abstractmethod
    def write(self, keep_caches: bool = False) -> AbstractContextManager[Tx]:
        """A write transaction that commits on success and rolls back on any error."""

    @abstractmethod
    def read(self) -> AbstractContextManager[Tx]:
        """A consistent read that never blocks writers."""

    def is_retryable(self, error: Exception) -> bool:
        return False

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""

    def in_write(
        self, work: Callable[[Tx], T], attempts: int = 8, *, keep_caches: bool = False
    ) -> T:
        """Run `work` in a write transaction, retrying the whole of it on transient conflicts."""
        for attempt in range(attempts):
            try:
                with self.write(keep_caches) as tx:
                    return work(tx)
            except Exception as error:
                if attempt + 1 == attempts or not self.is_retryable(error):
                    raise
                time.sleep(0.001 * 2**attempt)
        raise AssertionError("unreachable")
