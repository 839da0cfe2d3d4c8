"""The throwaway PostgreSQL server starts, serves connections and leaves nothing behind."""

from __future__ import annotations

import socket

import psycopg
import pytest

from tests.pgserver import ThrowawayPostgres

pytestmark = pytest.mark.postgres


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_throwaway_postgres_lifecycle() -> None:
    server = ThrowawayPostgres()
    url = server.start()
    port = server.port
    tmpdir = server.tmpdir
    assert port is not None
    assert tmpdir is not None
    try:
        assert url == f"postgresql://postgres@127.0.0.1:{port}/stockcard"
        assert server.url == url

        with psycopg.connect(url) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
            assert conn.execute("select current_database()").fetchone() == ("stockcard",)
            assert conn.execute("show fsync").fetchone() == ("off",)

        other = server.create_database("per_test_db")
        assert other == f"postgresql://postgres@127.0.0.1:{port}/per_test_db"
        with psycopg.connect(other) as conn:
            assert conn.execute("select current_database()").fetchone() == ("per_test_db",)
            conn.execute("create table t (x int)")
            conn.execute("insert into t values (42)")
            assert conn.execute("select x from t").fetchone() == (42,)
    finally:
        server.stop()

    assert not _accepts_connections(port)
    assert not tmpdir.exists()
    server.stop()  # idempotent
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url


def test_context_manager_stops_server() -> None:
    with ThrowawayPostgres() as server:
        port = server.port
        tmpdir = server.tmpdir
        assert port is not None
        assert tmpdir is not None
        with psycopg.connect(server.url) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    assert not _accepts_connections(port)
    assert not tmpdir.exists()
