"""The HTTP API's app: a pool of ledger connections, token authentication and error mapping.

Routes live in ledger/http/routes.py and stay thin: they pass the token's actor and role to
the ledger, which authorises every write and filters every read exactly as it does for the
Python API and the command line.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.api import Ledger
from ledger.errors import LedgerError
from ledger.http.tokens import TokenCache


class LedgerPool:
    """Up to `size` ledgers on one URL, each used by one request at a time (a ledger holds one
    database connection). Opened lazily, closed with the app."""

    def __init__(self, url: str | None, size: int):
        self.url = url
        self.size = size
        self._idle: queue.LifoQueue[Ledger] = queue.LifoQueue()
        self._opened: list[Ledger] = []
        self._lock = threading.Lock()

    def take_nowait(self) -> Ledger | None:
        """An idle ledger, or a new one while fewer than `size` are open; None when all are busy."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if len(self._opened) < self.size:
                ledger = Ledger.open(self.url)
                self._opened.append(ledger)
                return ledger
        return None

    def take(self) -> Ledger:
        """A ledger, waiting for one to be given back when all are busy."""
        return self.take_nowait() or self._idle.get()

    def give_back(self, ledger: Ledger) -> None:
        self._idle.put(ledger)

    def close(self) -> None:
        with self._lock:
            for ledger in self._opened:
                ledger.close()
            self._opened.clear()
        while not self._idle.empty():
            self._idle.get_nowait()


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"ok": False, "error": error}


def status_of(error: LedgerError) -> int:
    """The HTTP status of a rejection: 404 for unknown ids and codes, else the ledger's own."""
    if error.code.startswith("unknown_"):
        return 404
    return error.status


async def ledger_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, LedgerError)
    return JSONResponse({"ok": False, "error": error.to_json()}, status_code=status_of(error))


async def validation_failed(request: Request, error: Exception) -> JSONResponse:
    """Pydantic's refusals in the ledger's shape: the first problem, named by its field."""
    assert isinstance(error, RequestValidationError)
    problems = list(error.errors())
    first = problems[0] if problems else {"loc": ("body",), "msg": "is invalid"}
    loc = [str(part) for part in first.get("loc", ("body",)) if not is_type_tag(part)]
    field = ".".join(loc[1:]) if len(loc) > 1 and first.get("type") != "json_invalid" else loc[0]
    rule = str(first.get("msg", "is invalid")).replace("Value error, ", "")
    return JSONResponse(error_body("validation_error", f"{field}: {rule}", field), status_code=422)


def is_type_tag(part: object) -> bool:
    """Pydantic names the union member a value failed as (`str`, `list[Pick]`, `Source`); a
    field name is snake_case and never one of those."""
    text = str(part)
    return text in {"str", "int", "float", "bool"} or "[" in text or text[:1].isupper()


async def http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    codes = {401: "unauthenticated", 404: "not_found", 405: "method_not_allowed"}
    code = codes.get(error.status_code, "http_error")
    body = error_body(code, str(error.detail))
    return JSONResponse(body, status_code=error.status_code, headers=error.headers)


async def internal_error(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse(error_body("internal_error", "the server failed"), status_code=500)


def create_app(url: str | None = None, *, pool_size: int | None = None) -> FastAPI:
    from ledger.http.routes import router

    size = pool_size or int(os.environ.get("STOCKCARD_HTTP_POOL", "4"))
    pool = LedgerPool(url, size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        pool.close()

    app = FastAPI(
        title="stockcard ledger API",
        version="1.0.0",
        description="The stock ledger over HTTP: token-authenticated, JSON in and out.",
        lifespan=lifespan,
    )
    app.state.pool = pool
    app.state.tokens = TokenCache()
    app.add_exception_handler(LedgerError, ledger_error)
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)
    app.include_router(router)
    return app


def from_env() -> FastAPI:
    """The app for `uvicorn --factory`: the ledger URL comes from $STOCKCARD_LEDGER_URL."""
    return create_app(None)
