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
        self._next: dict[str, int] = {}

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        self.cursor.execute(self.store.dialect(sql), params)
        return self.cursor.fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self.cursor.execute(self.store.dialect(sql), params)
        return self.cursor.fetchall()

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.cursor.execute(self.store.dialect(sql), params)

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.cursor.executemany(self.store.dialect(sql), rows)

    @abstractmethod
    def next_ids(self, counter: str, count: int) -> int:
        """The first of `count` new ids of a counter, gap-free in commit order."""

    def locked(self, sql: str) -> str:
        return sql + self.lock_suffix


class Store(ABC):
    """A ledger database. Subclasses give the DDL, the dialect and the transaction rules."""

    url: str
    name: str

    def dialect(self, sql: str) -> str:
        return sql

    @abstractmethod
    def init_schema(self) -> None:
        """Create or upgrade the tables, indexes and append-only triggers (idempotent)."""

    @abstractmethod
    def write(self) -> AbstractContextManager[Tx]:
        """A write transaction that commits on success and rolls back on any error."""

    @abstractmethod
    def read(self) -> AbstractContextManager[Tx]:
        """A consistent read that never blocks writers."""

    def is_retryable(self, error: Exception) -> bool:
        return False

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""

    def in_write(self, work: Callable[[Tx], T], attempts: int = 8) -> T:
        """Run `work` in a write transaction, retrying the whole of it on transient conflicts."""
        for attempt in range(attempts):
            try:
                with self.write() as tx:
                    return work(tx)
            except Exception as error:
                if attempt + 1 == attempts or not self.is_retryable(error):
                    raise
                time.sleep(0.001 * 2**attempt)
        raise AssertionError("unreachable")
