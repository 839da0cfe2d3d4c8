"""SQLite backend: one file, WAL, one writer at a time (BEGIN IMMEDIATE), synchronous=FULL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger.storage.base import Store, Tx
from ledger.storage.schema import SCHEMA_VERSION, append_only, counters, render

TRIGGER = """
create trigger if not exists {table}_no_{verb} before {verb} on {table}
begin
    select raise(abort, '{table} is append-only: {verb} refused');
end
"""


class SqliteTx(Tx):
    store: SqliteStore

    def next_ids(self, counter: str, count: int) -> int:
        # The write lock is held for the whole transaction, so max + 1 cannot race and,
        # since these tables are never deleted from, leaves no gaps.
        counters = self.store.counters
        first = counters.get(counter)
        if first is None:
            column = self.store.id_columns[counter]
            row = self.one(f"select coalesce(max({column}), 0) from {counter}")
            first = row[0] + 1
        counters[counter] = first + count
        return first

    def new_ids(self, counter: str, count: int) -> list[int]:
        first = self.next_ids(counter, count)
        return list(range(first, first + count))


class SqliteStore(Store):
    name = "sqlite"

    def __init__(self, url: str, *, synchronous: str = "FULL"):
        self.url = url
        path = url.removeprefix("sqlite:").removeprefix("//")
        if path.startswith("/") and not url.startswith("sqlite:////"):
            path = path[1:]
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        self.conn.execute("pragma journal_mode = wal")
        self.conn.execute(f"pragma synchronous = {synchronous}")
        self.conn.execute("pragma foreign_keys = on")
        self.conn.execute("pragma busy_timeout = 30000")
        self.counters: dict[str, int] = {}
        self.id_columns = counters()
        self._data_version: int | None = None

    def init_schema(self) -> None:
        with self.write() as tx:
            for statement in render("integer", "integer"):
                tx.run(statement)
            for table in append_only():
                for verb in ("update", "delete"):
                    tx.run(TRIGGER.format(table=table, verb=verb))
            tx.run(
                "insert into ledger_meta (key, value) values ('schema_version', ?) "
                "on conflict (key) do update set value = excluded.value",
                (str(SCHEMA_VERSION),),
            )

    @contextmanager
    def write(self, keep_caches: bool = False) -> Iterator[Tx]:
        cursor = self.conn.cursor()
        cursor.execute("begin immediate")
        # data_version changes only when another connection commits; unchanged since our own
        # last commit means what we cached is still the database's state.
        version = cursor.execute("pragma data_version").fetchone()[0]
        if version != self._data_version:
            self._forget()
        try:
            yield SqliteTx(self, cursor)
        except BaseException:
            self._forget()
            cursor.execute("rollback")
            raise
        else:
            cursor.execute("commit")
            self._data_version = version
            if not keep_caches:
                self._forget()
        finally:
            cursor.close()

    def _forget(self) -> None:
        self.counters = {}
        self._data_version = None
        self.generation += 1

    @contextmanager
    def read(self) -> Iterator[Tx]:
        cursor = self.conn.cursor()
        cursor.execute("begin")  # one WAL snapshot for every statement of the read
        try:
            yield SqliteTx(self, cursor)
        finally:
            cursor.execute("rollback")
            cursor.close()

    def is_retryable(self, error: Exception) -> bool:
        return isinstance(error, sqlite3.OperationalError) and "locked" in str(error)

    def close(self) -> None:
        self.conn.close()
