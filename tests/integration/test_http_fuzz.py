"""Schema-driven fuzzing of the HTTP API: schemathesis generates requests from /openapi.json
and sends them in-process with a valid token; no request may make the server fail (5xx).

Bounded: a few examples per operation, on SQLite (the routes are the same on PostgreSQL, which
tests/integration/test_http_api.py covers), with some stock and a reservation to find.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from ledger import Ledger
from ledger.http import create_app, tokens
from tests.support import WORLD, Stock

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# The schema is read from the app when this module is collected; the ledger behind it is
# created (and removed) by the module fixture below before any request is sent.
_DIRECTORY = Path(tempfile.mkdtemp(prefix="stockcard-fuzz-"))
_URL = f"sqlite:///{_DIRECTORY}/ledger.sqlite"
_APP = create_app(_URL)
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@pytest.fixture(scope="module")
def fuzz_ledger() -> Iterator[dict[str, Any]]:
    with Ledger.open(_URL) as ledger:
        ledger.init()
        ledger.apply(WORLD, actor="setup", role="sysadmin")
        stock = Stock(ledger)
        stock.receive("TEE-M", "50", "4.00")
        issued = tokens.issue(
            ledger, actor="alice", role="inventory_controller", by="ops", by_role="sysadmin"
        )
    yield {"url": _URL, "token": issued["token"]}
    _APP.state.pool.close()
    shutil.rmtree(_DIRECTORY, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_makes_the_server_fail(case: Any, fuzz_ledger: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {fuzz_ledger['token']}"}
    case.call_and_validate(headers=headers, checks=[not_a_server_error])
