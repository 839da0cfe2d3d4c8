"""Access control (L8): grants by facility and time, approval gates, cost visibility and the
audit trail of refused attempts."""

from __future__ import annotations

from typing import Any

import pytest

from ledger import Ledger, LedgerError
from ledger.access import Viewer
from tests.support import Stock, dump_tables


def refused(ledger: Ledger, request: dict[str, Any], code: str, field: str) -> LedgerError:
    """The request is refused with `code`; only the audit trail records the attempt."""
    before = dump_tables(ledger)
    with pytest.raises(LedgerError) as caught:
        ledger.post(request)
    assert (caught.value.code, caught.value.field) == (code, field), caught.value.message
    after = dump_tables(ledger)
    earlier = before.pop("audit_log")
    added = [row for row in after.pop("audit_log") if row not in earlier]
    assert [(row[2], row[4], row[6]) for row in added] == [(request["actor"], "post", "refused")]
    for tables in (before, after):
        tables["ledger_counter"] = [r for r in tables["ledger_counter"] if r[0] != "audit_log"]
    assert after == before
    return caught.value


def test_a_store_keeper_posts_only_where_granted(stock: Stock):
    stock.post(kind="receipt", sku="TEE-M", facility="DC1", qty="5", unit_cost="4.00",
               currency="EUR", actor="sam", role="store_keeper")  # fmt: skip
    request = stock.request(kind="receipt", sku="TEE-M", facility="ST1", qty="5",
                            unit_cost="4.00", currency="EUR", actor="sam",
                            role="store_keeper")  # fmt: skip
    error = refused(stock.ledger, request, "forbidden", "actor")
    assert "ST1" in error.message
    assert error.status == 403


def test_an_expired_grant_no_longer_allows_posting(stock: Stock):
    request = stock.request(kind="receipt", sku="TEE-M", facility="DC1", qty="5",
                            unit_cost="4.00", currency="EUR", actor="ivy")  # fmt: skip
    error = refused(stock.ledger, request, "forbidden", "actor")
    assert "expired" in error.message


def test_an_actor_cannot_claim_a_role_it_was_not_granted(stock: Stock):
    request = stock.request(kind="receipt", sku="TEE-M", facility="DC1", qty="5",
                            unit_cost="4.00", currency="EUR", actor="sam",
                            role="inventory_controller")  # fmt: skip
    refused(stock.ledger, request, "forbidden", "actor")


def test_a_grant_takes_effect_within_its_window(stock: Stock):
    stock.ledger.apply(
        [{"type": "grant", "actor": "nora", "role": "store_keeper", "facility": "DC1",
          "valid_from": "2020-01-01T00:00:00Z", "valid_to": "2099-01-01T00:00:00Z"}],
        actor="setup", role="sysadmin",
    )  # fmt: skip
    stock.post(kind="receipt", sku="TEE-M", facility="DC1", qty="1", unit_cost="4.00",
               currency="EUR", actor="nora", role="store_keeper")  # fmt: skip
    assert stock.on_hand("TEE-M") == "1"


def test_a_reversal_is_authorised_where_the_stock_is(stock: Stock):
    receipt = stock.receive("TEE-M", "5", "4.00")
    request = stock.request(kind="reversal", reverses=receipt.event_ids[0], comment="wrong",
                            actor="sid", role="store_keeper")  # fmt: skip
    refused(stock.ledger, request, "forbidden", "actor")


class TestApprovalGate:
    @pytest.fixture
    def gated(self, stock: Stock) -> Stock:
        stock.ledger.apply(
            [{"type": "approval_policy", "adjustment_value_threshold": "100.00",
              "no_self_approval": True}],
            actor="setup", role="sysadmin",
        )  # fmt: skip
        stock.receive("TEE-M", "100", "5.00")  # 500.00
        return stock

    def write_off(self, stock: Stock, qty: str, **fields: Any) -> dict[str, Any]:
        return stock.request(kind="adjustment", sku="TEE-M", facility="DC1", qty=qty,
                             reason_code="damage", comment="water damage", **fields)  # fmt: skip

    def test_a_small_write_off_needs_no_approver(self, gated: Stock):
        result = gated.ledger.post(self.write_off(gated, "-20"))  # 100.00, not over
        assert result.events[0]["approved_by"] is None

    def test_a_large_write_off_needs_an_approver(self, gated: Stock):
        error = refused(gated.ledger, self.write_off(gated, "-21"), "approval_required", "approver")
        assert "105" in error.message and "100" in error.message  # 21 * 5.00 over 100.00

    def test_the_poster_cannot_approve_their_own_write_off(self, gated: Stock):
        request = self.write_off(gated, "-30", approver="alice")
        refused(gated.ledger, request, "self_approval", "approver")

    def test_the_approver_needs_an_approving_grant_at_the_facility(self, gated: Stock):
        request = self.write_off(gated, "-30", approver="sam")  # a store keeper
        refused(gated.ledger, request, "forbidden", "approver")

    def test_an_approved_write_off_names_its_approver_on_the_stock_card(self, gated: Stock):
        result = gated.ledger.post(self.write_off(gated, "-30", approver="ian"))
        assert result.events[0]["approved_by"] == "ian"
        card = gated.ledger.card("TEE-M", "DC1")
        assert card["events"][-1]["approved_by"] == "ian"
        assert gated.on_hand("TEE-M") == "70"


class TestReading:
    def test_lookup_by_sku_shows_only_granted_facilities(self, stock: Stock):
        stock.receive("TEE-M", "5", "4.00")
        stock.receive("TEE-M", "3", "4.00", facility="ST1")
        everywhere = stock.ledger.balance("TEE-M")
        assert [f["facility"] for f in everywhere["facilities"]] == ["DC1", "ST1"]
        as_sid = stock.ledger.balance("TEE-M", viewer=Viewer("sid", "store_keeper"))
        assert [f["facility"] for f in as_sid["facilities"]] == ["ST1"]

    def test_cost_fields_need_cost_view_or_finance_audit(self, stock: Stock):
        stock.receive("TEE-M", "5", "4.00")
        blind = stock.ledger.card("TEE-M", "DC1", viewer=Viewer("sam", "store_keeper"))
        assert "cost_delta" not in blind["events"][0] and "closing_value" not in blind
        assert blind["events"][0]["qty"] == "5"
        seen = stock.ledger.card("TEE-M", "DC1", viewer=Viewer("alice", "inventory_controller"))
        assert seen["events"][0]["cost_delta"] == "20.00"
        audited = stock.ledger.valuation("TEE-M", "DC1", viewer=Viewer("audrey", "auditor"))
        assert audited["value"] == "20.00"
        with pytest.raises(LedgerError) as error:
            stock.ledger.valuation("TEE-M", "DC1", viewer=Viewer("sam", "store_keeper"))
        assert error.value.code == "forbidden"

    def test_a_facility_not_granted_cannot_be_read(self, stock: Stock):
        with pytest.raises(LedgerError) as error:
            stock.ledger.card("TEE-M", "DC1", viewer=Viewer("sid", "store_keeper"))
        assert (error.value.code, error.value.field) == ("forbidden", "facility")


class TestConfiguration:
    def test_the_first_apply_of_a_new_ledger_sets_it_up(self, ledger: Ledger):
        results = ledger.apply(
            [{"type": "grant", "actor": "root-admin", "role": "sysadmin"}],
            actor="root-admin", role="sysadmin",
        )  # fmt: skip
        assert results[0]["status"] == "created"

    def test_after_set_up_only_a_granted_sysadmin_applies(self, stock: Stock):
        record = {"type": "reason_code", "code": "theft", "kinds": ["adjustment"]}
        with pytest.raises(LedgerError) as error:
            stock.ledger.apply([record], actor="mallory", role="sysadmin")
        assert (error.value.code, error.value.field) == ("forbidden", "actor")
        assert stock.ledger.apply([record], actor="ops", role="sysadmin")[0]["status"] == "created"

    def test_period_transitions_need_an_organisation_wide_grant(self, stock: Stock):
        with pytest.raises(LedgerError) as error:
            stock.ledger.close_period("2026-09", actor="sam", role="finance")
        assert error.value.code == "forbidden"
        closed = stock.ledger.close_period("2026-09", actor="fiona", role="finance")
        assert closed["status"] == "closed"
