"""Storage backends behind one small interface: SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from ledger.storage.base import Store, Tx

DEFAULT_URL = "sqlite:///data/ledger.sqlite"


def open_store(url: str) -> Store:
    """The backend a ledger URL names: sqlite:///path or postgresql://…"""
    if url.startswith("sqlite:"):
        from ledger.storage.sqlite import SqliteStore

        return SqliteStore(url)
    if url.startswith(("postgresql:", "postgres:")):
        from ledger.storage.postgres import PostgresStore

        return PostgresStore(url)
    raise ValueError(f"ledger URL {url!r}: expected sqlite:///PATH or postgresql://…")


__all__ = ["DEFAULT_URL", "Store", "Tx", "open_store"]
