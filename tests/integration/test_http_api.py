"""The HTTP API (ledger/http) in-process on SQLite and PostgreSQL: every route's happy path and
its refusals (401 no token, 403 role or facility, 404 unknown, 409 conflict, 422 payload),
idempotent retries through the Idempotency-Key header, and token issue/revoke."""

from __future__ import annotations

import io
import itertools
import json
import warnings
from collections.abc import Iterator
from contextlib import redirect_stdout
from typing import Any

import pytest

with warnings.catch_warnings():  # Starlette would rather have httpx2; httpx works the same
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from ledger.http import create_app, tokens
from stockcard.cli import main
from tests.support import Stock

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PRINCIPALS = {
    "alice": ("alice", "inventory_controller"),  # org-wide, cost_view
    "keeper": ("alice", "store_keeper"),  # org-wide, no cost_view
    "sam": ("sam", "store_keeper"),  # DC1 only
    "sid": ("sid", "store_keeper"),  # ST1 only
    "ian": ("ian", "inventory_controller"),  # DC1 only
    "audrey": ("audrey", "auditor"),
    "fiona": ("fiona", "finance"),
    "frank": ("frank", "finance_manager"),
}
SOURCE = {"document_type": "po", "document_id": "PO-1"}
AT = "2026-10-15T10:00:00Z"
_keys = itertools.count(1)


def key(prefix: str = "k") -> str:
    return f"{prefix}-{next(_keys)}"


class Api:
    """A TestClient with a token per principal: `api.post("sam", path, json)`."""

    def __init__(self, client: TestClient, issued: dict[str, str], stock: Stock):
        self.client = client
        self.tokens = issued
        self.stock = stock

    def headers(self, who: str | None, idem: str | None = None) -> dict[str, str]:
        headers = {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}
        if idem is not None:
            headers["Idempotency-Key"] = idem
        return headers

    def get(self, who: str | None, path: str, **params: Any):
        return self.client.get(path, params=params, headers=self.headers(who))

    def post(self, who: str | None, path: str, body: Any = None, idem: str | None = None):
        return self.client.post(path, json=body, headers=self.headers(who, idem))


@pytest.fixture
def api(stock: Stock, ledger_url: str) -> Iterator[Api]:
    issued = {
        name: tokens.issue(stock.ledger, actor=actor, role=role, by="ops", by_role="sysadmin")[
            "token"
        ]
        for name, (actor, role) in PRINCIPALS.items()
    }
    with TestClient(create_app(ledger_url)) as client:
        yield Api(client, issued, stock)


def error_of(response, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False
    assert body["error"]["code"] == code
    if field is not None:
        assert body["error"]["field"] == field
    return body["error"]


def receipt(**fields: Any) -> dict[str, Any]:
    body = {"kind": "receipt", "sku": "TEE-M", "facility": "DC1", "qty": "10", "unit_cost": "4",
            "currency": "EUR", "source": SOURCE, "occurred_at": AT}  # fmt: skip
    return {**body, **fields}


# -- authentication --------------------------------------------------------------------------


def test_every_route_refuses_a_missing_or_invalid_token(api: Api):
    spec = api.client.get("/openapi.json").json()
    routes = [(method.upper(), path) for path, ops in spec["paths"].items() for method in ops]
    assert len(routes) >= 25
    for method, path in routes:
        url = path.replace("{sku}", "TEE-M").replace("{facility}", "DC1")
        for name in ("reservation_id", "transfer_id", "shipment_id", "session_id"):
            url = url.replace(f"{{{name}}}", "1")
        url = url.replace("{period}", "2026-10")
        for headers in ({}, {"Authorization": "Bearer sc_nope_nope"}, {"Authorization": "x"}):
            response = api.client.request(method, url, json={}, headers=headers)
            error_of(response, 401, "unauthenticated")
            assert response.headers["WWW-Authenticate"] == "Bearer"


def test_tokens_are_issued_once_hashed_and_revocable_from_the_command_line(
    api: Api, ledger_url: str
):
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["ledger", "--db", ledger_url, "token", "issue", "--actor", "sam",
                     "--role", "store_keeper", "--label", "wms", "--as", "ops"])  # fmt: skip
    assert code == 0
    issued = json.loads(out.getvalue())
    token = issued["token"]
    with api.stock.ledger.store.read() as tx:
        stored = tx.all("select token_hash from api_token")
    assert tokens.digest(token) in {row[0] for row in stored}
    assert token not in {row[0] for row in stored}
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/v1/skus/TEE-M/stock", headers=headers).status_code == 200

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["ledger", "--db", ledger_url, "token", "revoke", issued["token_id"],
                     "--as", "ops"]) == 0  # fmt: skip
    api.client.app.state.tokens.ttl = 0  # type: ignore[attr-defined]
    error_of(api.client.get("/v1/skus/TEE-M/stock", headers=headers), 401, "unauthenticated")

    out = io.StringIO()
    with redirect_stdout(out):
        refused = main(["ledger", "--db", ledger_url, "token", "issue", "--actor", "sam", "--role",
                        "store_keeper", "--as", "alice", "--as-role", "store_keeper"])  # fmt: skip
    assert refused == 1
    assert json.loads(out.getvalue())["error"]["code"] == "forbidden"
    listed = tokens.tokens(api.stock.ledger)
    assert all("token" not in entry and "token_hash" not in entry for entry in listed)


# -- stock, card, valuation ------------------------------------------------------------------


def test_stock_lookup_by_sku_shows_only_granted_facilities(api: Api):
    assert api.post("alice", "/v1/postings", receipt(), idem=key()).status_code == 200
    st1 = receipt(facility="ST1", qty="3")
    assert api.post("alice", "/v1/postings", st1, idem=key()).status_code == 200

    everything = api.get("alice", "/v1/skus/TEE-M/stock").json()
    assert [f["facility"] for f in everything["facilities"]] == ["DC1", "ST1"]
    only_dc1 = api.get("sam", "/v1/skus/TEE-M/stock").json()
    assert [(f["facility"], f["on_hand"]) for f in only_dc1["facilities"]] == [("DC1", "10")]
    error_of(api.get("sam", "/v1/skus/NOPE/stock"), 404, "unknown_sku", "sku")


def test_stock_by_position_filters_bin_and_lot_and_refuses_ungranted_facilities(api: Api):
    api.post("alice", "/v1/postings", receipt(bin="A2", qty="4"), idem=key())
    api.post("alice", "/v1/postings", receipt(bin="A1", qty="6"), idem=key())
    found = api.get("sam", "/v1/facilities/DC1/skus/TEE-M/stock").json()
    assert sorted(p["bin"] for p in found["positions"]) == ["A1", "A2"]
    assert found["totals"]["on_hand"] == "10"
    in_a2 = api.get("sam", "/v1/facilities/DC1/skus/TEE-M/stock", bin="A2").json()
    assert [(p["bin"], p["qty"]) for p in in_a2["positions"]] == [("A2", "4")]
    assert api.get("sam", "/v1/facilities/DC1/skus/TEE-M/stock", lot="L9").json()["positions"] == []

    error_of(api.get("sid", "/v1/facilities/DC1/skus/TEE-M/stock"), 403, "forbidden", "facility")
    error_of(api.get("sam", "/v1/facilities/NOPE/skus/TEE-M/stock"), 404, "unknown_facility")
    error_of(api.get("sam", "/v1/facilities/DC1/skus/NOPE/stock"), 404, "unknown_sku")


def test_stock_card_pages_events_and_hides_cost_without_cost_view(api: Api):
    for qty in ("1", "2", "3"):
        api.post("alice", "/v1/postings", receipt(qty=qty), idem=key())
    card = api.get("alice", "/v1/facilities/DC1/skus/TEE-M/card", limit=2).json()
    assert [e["qty"] for e in card["events"]] == ["1", "2"]
    assert card["page"] == {"limit": 2, "offset": 0, "total": 3, "next_offset": 2}
    assert "closing_value" in card
    rest = api.get("alice", "/v1/facilities/DC1/skus/TEE-M/card", limit=2, offset=2).json()
    assert [e["qty"] for e in rest["events"]] == ["3"]
    assert rest["page"]["next_offset"] is None

    keeper = api.get("sam", "/v1/facilities/DC1/skus/TEE-M/card").json()
    assert "closing_value" not in keeper
    assert all("cost_delta" not in event for event in keeper["events"])
    error_of(api.get("sid", "/v1/facilities/DC1/skus/TEE-M/card"), 403, "forbidden")
    error_of(api.get("sam", "/v1/facilities/DC1/skus/TEE-M/card", **{"from": "soon"}), 422,
             "validation_error", "from")  # fmt: skip
    error_of(api.get("sam", "/v1/facilities/DC1/skus/TEE-M/card", limit=0), 422,
             "validation_error", "limit")  # fmt: skip


def test_valuation_needs_cost_view_or_finance_audit(api: Api):
    api.post("alice", "/v1/postings", receipt(), idem=key())
    assert api.get("alice", "/v1/facilities/DC1/skus/TEE-M/valuation").json()["value"] == "40.00"
    assert api.get("audrey", "/v1/facilities/DC1/skus/TEE-M/valuation").status_code == 200
    error_of(api.get("sam", "/v1/facilities/DC1/skus/TEE-M/valuation"), 403, "forbidden", "role")
    error_of(api.get("sid", "/v1/facilities/DC1/skus/TEE-M/valuation"), 403, "forbidden")
    error_of(api.get("alice", "/v1/facilities/DC1/skus/NOPE/valuation"), 404, "unknown_sku")


# -- postings --------------------------------------------------------------------------------


def test_posting_with_the_idempotency_header_replays_and_conflicts(api: Api):
    first = api.post("sam", "/v1/postings", receipt(), idem="po-1")
    assert first.status_code == 200
    assert first.json()["events"][0]["actor"] == "sam"
    again = api.post("sam", "/v1/postings", receipt(), idem="po-1")
    assert again.json()["replayed"] is True
    assert again.json()["events"] == first.json()["events"]
    assert api.stock.on_hand("TEE-M") == "10"

    error_of(api.post("sam", "/v1/postings", receipt(qty="11"), idem="po-1"), 409,
             "idempotency_conflict", "idempotency_key")  # fmt: skip
    error_of(api.post("sam", "/v1/postings", receipt(idempotency_key="other"), idem="po-1"), 422,
             "validation_error", "idempotency_key")  # fmt: skip
    body_key = api.post("sam", "/v1/postings", receipt(idempotency_key="po-2"))
    assert body_key.json()["idempotency_key"] == "po-2"


def test_posting_refusals(api: Api):
    error_of(api.post("sam", "/v1/postings", receipt(actor="alice"), idem=key()), 403,
             "forbidden", "actor")  # fmt: skip
    error_of(api.post("sam", "/v1/postings", receipt(role="inventory_controller"), idem=key()),
             403, "forbidden", "role")  # fmt: skip
    with api.stock.ledger.store.read() as tx:
        refusals = tx.all("select actor, outcome from audit_log where action = 'http.write'")
    assert refusals == [("sam", "refused"), ("sam", "refused")]
    error_of(api.post("audrey", "/v1/postings", receipt(), idem=key()), 403, "forbidden")
    error_of(api.post("sam", "/v1/postings", receipt(facility="ST1"), idem=key()), 403,
             "forbidden", "actor")  # fmt: skip
    error_of(api.post("sam", "/v1/postings", receipt(qty=["1"]), idem=key()), 422,
             "validation_error", "qty")  # fmt: skip
    error_of(api.post("sam", "/v1/postings", receipt(colour="red"), idem=key()), 422,
             "validation_error", "colour")  # fmt: skip
    error_of(api.post("sam", "/v1/postings", receipt(qty="-3"), idem=key()), 422,
             "validation_error", "qty")  # fmt: skip
    error_of(api.post("sam", "/v1/postings", {"kind": "receipt"}, idem=key()), 422,
             "validation_error", "sku")  # fmt: skip
    error_of(api.post("sam", "/v1/postings", receipt(sku="NOPE"), idem=key()), 404, "unknown_sku")
    response = api.client.post(
        "/v1/postings", content=b"{not json", headers=api.headers("sam", key())
    )
    error_of(response, 422, "validation_error", "body")


def test_batch_posting_answers_each_item_in_order(api: Api):
    items = [receipt(qty="5"), receipt(sku="NOPE"), receipt(actor="alice"), receipt(qty="2")]
    first = api.post("sam", "/v1/postings/batch", {"items": items}, idem="batch-1")
    assert first.status_code == 200
    results = first.json()["results"]
    assert first.json()["ok"] is False
    assert [r["ok"] for r in results] == [True, False, False, True]
    assert results[0]["idempotency_key"] == "batch-1:0"
    assert results[1]["error"]["code"] == "unknown_sku" and results[1]["status"] == 404
    assert results[2]["error"]["code"] == "forbidden" and results[2]["status"] == 403
    assert api.stock.on_hand("TEE-M") == "7"

    again = api.post("sam", "/v1/postings/batch", {"items": items}, idem="batch-1").json()
    assert [r.get("replayed") for r in again["results"]] == [True, None, None, True]
    assert api.stock.on_hand("TEE-M") == "7"
    error_of(api.post("sam", "/v1/postings/batch", {"items": "x"}), 422, "validation_error",
             "items")  # fmt: skip


# -- reservations ----------------------------------------------------------------------------


def reserve_body(**fields: Any) -> dict[str, Any]:
    order = {"document_type": "order", "document_id": "SO-1", "line": "1"}
    body = {"sku": "TEE-M", "facility": "DC1", "qty": "4", "channel": "ecommerce",
            "reference": order}  # fmt: skip
    return {**body, **fields}


def test_reservation_lifecycle_and_atp(api: Api):
    api.post("alice", "/v1/postings", receipt(), idem=key())
    made = api.post("sam", "/v1/reservations", reserve_body(), idem="res-1")
    assert made.status_code == 200, made.text
    held = made.json()["reservation"]
    rid = held["reservation_id"]
    assert api.post("sam", "/v1/reservations", reserve_body(), idem="res-1").json()["replayed"]
    atp = api.get("sam", "/v1/facilities/DC1/skus/TEE-M/atp").json()
    assert (atp["reserved"], atp["atp"]) == ("4", "6")

    for step in ("allocate", "commit"):
        moved = api.post("sam", f"/v1/reservations/{rid}/{step}", {}, idem=key(step))
        assert moved.status_code == 200, moved.text
    consumed = api.post("sam", f"/v1/reservations/{rid}/consume", {"occurred_at": AT}, idem=key())
    assert consumed.status_code == 200, consumed.text
    shown = api.get("sam", f"/v1/reservations/{rid}").json()
    assert shown["status"] == "consumed"
    assert [h["action"] for h in shown["history"]][:1] == ["reserve"]
    assert api.stock.on_hand("TEE-M") == "6"

    error_of(api.post("sam", f"/v1/reservations/{rid}/allocate", {}, idem=key()), 409,
             "invalid_transition")  # fmt: skip
    error_of(api.get("sid", f"/v1/reservations/{rid}"), 403, "forbidden")
    error_of(api.get("sam", "/v1/reservations/999999"), 404, "unknown_reservation")
    error_of(api.post("sam", "/v1/reservations/999999/allocate", {}, idem=key()), 404,
             "unknown_reservation")  # fmt: skip
    error_of(api.post("sam", f"/v1/reservations/{rid}/allocate", {"reservation_id": rid + 1},
                      idem=key()), 422, "validation_error", "reservation_id")  # fmt: skip


def test_reservation_refusals(api: Api):
    api.post("alice", "/v1/postings", receipt(), idem=key())
    error_of(api.post("audrey", "/v1/reservations", reserve_body(), idem=key()), 403, "forbidden")
    error_of(api.post("sid", "/v1/reservations", reserve_body(), idem=key()), 403, "forbidden")
    error_of(api.post("sam", "/v1/reservations", reserve_body(channel=None), idem=key()), 422,
             "validation_error", "channel")  # fmt: skip
    error_of(api.post("sam", "/v1/reservations", reserve_body(sku="NOPE"), idem=key()), 404,
             "unknown_sku")  # fmt: skip
    error_of(api.get("sid", "/v1/facilities/DC1/skus/TEE-M/atp"), 403, "forbidden")
    api.post("sam", "/v1/reservations", reserve_body(), idem="r-9")
    error_of(api.post("sam", "/v1/reservations", reserve_body(qty="5"), idem="r-9"), 409,
             "idempotency_conflict")  # fmt: skip


# -- transfers -------------------------------------------------------------------------------


def test_transfer_request_submit_ship_receive_and_listing(api: Api):
    api.post("alice", "/v1/postings", receipt(qty="20"), idem=key())
    lines = [{"sku": "TEE-M", "qty": "10"}]
    body = {"source": "DC1", "destination": "ST1", "lines": lines}
    created = api.post("alice", "/v1/transfers", body, idem="tr-1")
    assert created.status_code == 200, created.text
    tid = created.json()["transfer_id"]
    assert api.post("alice", "/v1/transfers", body, idem="tr-1").json()["transfer_id"] == tid
    submitted = api.post("alice", f"/v1/transfers/{tid}/submit", {}, idem=key())
    assert submitted.json()["status"] == "submitted", submitted.text
    error_of(api.post("frank", f"/v1/transfers/{tid}/approve", {"reason": "ok"}, idem=key()),
             409, "invalid_transition")  # fmt: skip
    shipped = api.post("alice", f"/v1/transfers/{tid}/ship",
                       {"lines": lines, "occurred_at": AT}, idem=key())  # fmt: skip
    assert shipped.status_code == 200, shipped.text
    sid = shipped.json()["shipment"]["shipment_id"]
    arrival = {"lines": lines, "occurred_at": "2026-10-16T10:00:00Z"}
    received = api.post("alice", f"/v1/shipments/{sid}/receive", arrival, idem=key())
    assert received.status_code == 200, received.text
    assert api.stock.on_hand("TEE-M", "ST1") == "10"
    detail = api.get("alice", f"/v1/transfers/{tid}").json()
    assert detail["transfer_id"] == tid and detail["shipments"]

    other = api.post("alice", "/v1/transfers", {**body, "destination": "TRANSIT"}, idem=key())
    if other.status_code == 200:
        oid = other.json()["transfer_id"]
    else:
        oid = api.post("alice", "/v1/transfers", body, idem=key()).json()["transfer_id"]
    cancelled = api.post("alice", f"/v1/transfers/{oid}/cancel", {"reason": "no need"}, idem=key())
    assert cancelled.json()["status"] == "cancelled", cancelled.text

    listed = api.get("alice", "/v1/transfers", limit=1).json()
    assert listed["page"]["total"] == 2 and len(listed["items"]) == 1
    assert listed["items"][0]["transfer_id"] == oid
    done = api.get("alice", "/v1/transfers", status="cancelled").json()
    assert [t["transfer_id"] for t in done["items"]] == [oid]
    error_of(api.get("alice", "/v1/transfers", status="lost"), 422, "validation_error", "status")
    error_of(api.get("alice", "/v1/transfers", source="NOPE"), 404, "unknown_facility")


def test_transfer_approval_and_refusals(api: Api):
    api.stock.ledger.apply([{"type": "approval_policy", "transfer_value_threshold": "10"}],
                           actor="setup", role="sysadmin")  # fmt: skip
    api.post("alice", "/v1/postings", receipt(qty="20"), idem=key())
    body = {"source": "DC1", "destination": "ST1", "lines": [{"sku": "TEE-M", "qty": "10"}]}
    tid = api.post("alice", "/v1/transfers", body, idem=key()).json()["transfer_id"]
    pending = api.post("alice", f"/v1/transfers/{tid}/submit", {}, idem=key()).json()
    assert pending["status"] == "pending_approval"
    approved = api.post("frank", f"/v1/transfers/{tid}/approve", {"reason": "ok"}, idem=key())
    assert approved.json()["status"] == "submitted", approved.text

    error_of(api.post("audrey", "/v1/transfers", body, idem=key()), 403, "forbidden")
    error_of(api.post("alice", "/v1/transfers", {**body, "lines": "x"}, idem=key()), 422,
             "validation_error", "lines")  # fmt: skip
    error_of(api.get("alice", "/v1/transfers/999999"), 404, "unknown_transfer")
    error_of(api.post("alice", "/v1/transfers/999999/submit", {}, idem=key()), 404,
             "unknown_transfer")  # fmt: skip
    receipt_body = {"lines": body["lines"], "occurred_at": AT}
    error_of(api.post("alice", "/v1/shipments/999999/receive", receipt_body, idem=key()), 404,
             "unknown_shipment")  # fmt: skip


# -- counts ----------------------------------------------------------------------------------


def test_count_start_record_finalise_and_review(api: Api):
    api.stock.ledger.apply(
        [{"type": "reason_code", "code": "count_variance", "description": "Count variance",
          "kinds": ["count_variance"]}], actor="setup", role="sysadmin",
    )  # fmt: skip
    api.post("alice", "/v1/postings", receipt(bin="A1"), idem=key())
    started = api.post("sam", "/v1/counts", {"facility": "DC1", "bins": ["A1"]}, idem="c-1")
    assert started.status_code == 200, started.text
    session = started.json()["session"]
    sheet = api.get("sam", f"/v1/counts/{session}/sheet").json()
    (line,) = [entry["line"] for entry in sheet["lines"]]
    counted = {"counts": [{"line": line, "qty": "10"}]}
    recorded = api.post("sam", f"/v1/counts/{session}/entries", counted, idem=key())
    assert recorded.status_code == 200, recorded.text
    error_of(api.get("sam", f"/v1/counts/{session}/review"), 403, "forbidden", "role")
    error_of(api.get("sid", f"/v1/counts/{session}/sheet"), 403, "forbidden")
    assert api.get("ian", f"/v1/counts/{session}/review").status_code == 200
    final = api.post(
        "ian", f"/v1/counts/{session}/finalise", {"comment": "ok", "occurred_at": AT}, idem=key()
    )
    assert final.json()["status"] == "finalised", final.text

    error_of(api.post("audrey", "/v1/counts", {"facility": "DC1"}, idem=key()), 403, "forbidden")
    error_of(api.post("sam", "/v1/counts", {"facility": "DC1", "bins": "A1"}, idem=key()), 422,
             "validation_error", "bins")  # fmt: skip
    error_of(api.get("ian", "/v1/counts/999999/review"), 404, "unknown_count_session")


# -- periods ---------------------------------------------------------------------------------


def test_periods_list_close_reopen_lock(api: Api):
    listed = api.get("sam", "/v1/periods", limit=2).json()
    assert [p["period"] for p in listed["items"]] == ["2026-09", "2026-10"]
    assert listed["page"]["next_offset"] == 2
    error_of(api.post("sam", "/v1/periods/2026-09/close"), 403, "forbidden")
    closed = api.post("fiona", "/v1/periods/2026-09/close")
    assert closed.status_code == 200, closed.text
    assert [
        p["period"] for p in api.get("sam", "/v1/periods", status="closed").json()["items"]
    ] == ["2026-09"]
    reopened = api.post("frank", "/v1/periods/2026-09/reopen", {"justification": "late invoice"})
    assert reopened.status_code == 200, reopened.text
    api.post("fiona", "/v1/periods/2026-09/close")
    assert api.post("frank", "/v1/periods/2026-09/lock").status_code == 200
    error_of(api.post("frank", "/v1/periods/2026-09/reopen", {"justification": "x"}), 422,
             "period_locked", "period")  # fmt: skip
    error_of(api.post("fiona", "/v1/periods/1999-01/close"), 404, "unknown_period", "period")


def test_openapi_describes_bodies(api: Api):
    spec = api.client.get("/openapi.json").json()
    posting = spec["paths"]["/v1/postings"]["post"]
    ref = posting["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/Posting")
    assert "qty" in spec["components"]["schemas"]["Posting"]["properties"]
    assert "200" in posting["responses"] and "422" in posting["responses"]
    assert "bearer" in json.dumps(spec["components"]["securitySchemes"]).lower()
