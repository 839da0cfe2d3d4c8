"""PostgreSQL backend: the shared multi-writer ledger, row locks on the positions it changes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import errors as pg_errors

from ledger.storage.base import Store, Tx
from ledger.storage.schema import GAP_FREE, SCHEMA_VERSION, append_only, counters, render

TRIGGER_FUNCTION = """
create or replace function stockcard_append_only() returns trigger language plpgsql as $$
begin
    raise exception '% is append-only: % refused', tg_table_name, lower(tg_op)
        using errcode = 'restrict_violation';
end
$$
"""
TRIGGER = """
create or replace trigger {table}_append_only before update or delete or truncate on {table}
for each statement execute function stockcard_append_only()
"""
RETRYABLE = (
    pg_errors.UniqueViolation,
    pg_errors.DeadlockDetected,
    pg_errors.SerializationFailure,
    pg_errors.LockNotAvailable,
)


class PostgresTx(Tx):
    lock_suffix = " for update"

    def next_ids(self, counter: str, count: int) -> int:
        # The counter row stays locked until commit: ids are gap-free and in commit order,
        # which is what incremental extraction on the outbox sequence relies on.
        assert counter in GAP_FREE, counter
        row = self.one(
            "update ledger_counter set last_value = last_value + ? where name = ? "
            "returning last_value",
            (count, counter),
        )
        return row[0] - count + 1

    def new_ids(self, counter: str, count: int) -> list[int]:
        # A sequence: no row is written or locked, so a rejected request leaves no trace.
        rows = self.all(f"select nextval('{counter}_ids') from generate_series(1, ?)", (count,))
        return [row[0] for row in rows]


class PostgresStore(Store):
    name = "postgresql"

    def __init__(self, url: str):
        self.url = url
        self.conn = psycopg.connect(url, autocommit=True)

    def dialect(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def init_schema(self) -> None:
        with self.write() as tx:
            tx.run("select pg_advisory_xact_lock(4242)")  # concurrent inits wait their turn
            for statement in render("bigint", "boolean"):
                tx.run(statement)
            tx.run(TRIGGER_FUNCTION)
            for table in append_only():
                tx.run(TRIGGER.format(table=table))
            for table, column in counters().items():
                if table in GAP_FREE:
                    tx.run(
                        f"insert into ledger_counter (name, last_value) "
                        f"select ?, coalesce(max({column}), 0) from {table} "
                        f"on conflict (name) do nothing",
                        (table,),
                    )
                else:
                    tx.run(f"create sequence if not exists {table}_ids")
                    tx.run(
                        f"select setval('{table}_ids', greatest("
                        f"(select last_value from {table}_ids), "
                        f"(select coalesce(max({column}), 0) from {table}), 1))"
                    )
            tx.run(
                "insert into ledger_meta (key, value) values ('schema_version', ?) "
                "on conflict (key) do update set value = excluded.value",
                (str(SCHEMA_VERSION),),
            )

    @contextmanager
    def write(self, keep_caches: bool = False) -> Iterator[Tx]:
        # Other writers commit at any time and nothing tells us cheaply: never reuse state.
        self.generation += 1
        with self.conn.transaction(), self.conn.cursor() as cursor:
            yield PostgresTx(self, cursor)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self.conn.transaction(), self.conn.cursor() as cursor:
            cursor.execute("set transaction isolation level repeatable read, read only")
            yield PostgresTx(self, cursor)

    def is_retryable(self, error: Exception) -> bool:
        return isinstance(error, RETRYABLE)

    def close(self) -> None:
        self.conn.close()
