"""Fixtures: every ledger test runs on SQLite and on a throwaway PostgreSQL the suite starts."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator

import pytest

from ledger import Ledger
from tests.pgserver import ThrowawayPostgres
from tests.support import WORLD, Stock

_databases = itertools.count(1)


@pytest.fixture(autouse=True)
def keep_main_module() -> Iterator[None]:
    """Streamlit's AppTest installs the app script as sys.modules["__main__"] and leaves it
    there; a later test's spawned worker processes would re-run that script. Put it back."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(scope="session")
def pg_server() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.sqlite"
    server: ThrowawayPostgres = request.getfixturevalue("pg_server")
    return server.create_database(f"ledger_{next(_databases)}")


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    with Ledger.open(ledger_url) as opened:
        opened.init()
        yield opened


@pytest.fixture
def stock(ledger: Ledger) -> Stock:
    ledger.apply(WORLD, actor="setup", role="sysadmin")
    return Stock(ledger)
