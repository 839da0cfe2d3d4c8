"""Access control (L8): roles, facility grants with validity windows, the actions each role may
take, approval gates and cost visibility.

An actor acts in a role only where a grant gives it that role: for one facility or for the
whole organisation, from `valid_from` until `valid_to`. Every write calls `authorise`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ledger.errors import LedgerError, forbidden
from ledger.vocabulary import Role

# What each action needs, by role. Workflows name their actions here.
ACTIONS: dict[str, frozenset[Role]] = {
    "stock.post": frozenset(
        {Role.STORE_KEEPER, Role.INVENTORY_CONTROLLER, Role.FINANCE, Role.FINANCE_MANAGER}
    ),
    "cost.post": frozenset({Role.FINANCE, Role.FINANCE_MANAGER}),
    "consignment.settle": frozenset({Role.FINANCE, Role.FINANCE_MANAGER}),
    "adjustment.approve": frozenset({Role.INVENTORY_CONTROLLER, Role.FINANCE_MANAGER}),
    "reservation.write": frozenset({Role.STORE_KEEPER, Role.INVENTORY_CONTROLLER}),
    "transfer.request": frozenset({Role.STORE_KEEPER, Role.INVENTORY_CONTROLLER}),
    "transfer.approve": frozenset({Role.INVENTORY_CONTROLLER, Role.FINANCE_MANAGER}),
    "transfer.execute": frozenset({Role.STORE_KEEPER, Role.INVENTORY_CONTROLLER}),
    "receiving.write": frozenset({Role.STORE_KEEPER, Role.INVENTORY_CONTROLLER}),
    "qc.release": frozenset({Role.INVENTORY_CONTROLLER}),
    "recall.write": frozenset({Role.INVENTORY_CONTROLLER}),
    "count.record": frozenset({Role.STORE_KEEPER, Role.INVENTORY_CONTROLLER}),
    "count.approve": frozenset({Role.INVENTORY_CONTROLLER}),
    "count.configure": frozenset({Role.SYSADMIN, Role.INVENTORY_CONTROLLER}),
    "period.close": frozenset({Role.FINANCE, Role.FINANCE_MANAGER}),
    "period.elevated": frozenset({Role.FINANCE_MANAGER}),
    "config.write": frozenset({Role.SYSADMIN}),
}

PERMISSIONS = frozenset({"cost_view", "finance_audit"})

# Refusals by access control or an approval gate: attempts to get past a control, which the
# audit trail keeps even though the refused write itself leaves nothing (L8.4).
REFUSALS = frozenset({"forbidden", "approval_required", "self_approval"})


@dataclass(frozen=True, slots=True)
class Grant:
    actor: str
    role: Role
    facility_id: int | None  # None: every facility of the organisation
    valid_from: str | None
    valid_to: str | None
    permissions: frozenset[str]

    def covers(self, facility_id: int | None, at: str) -> bool:
        if self.facility_id is not None and self.facility_id != facility_id:
            return False
        if self.valid_from is not None and at < self.valid_from:
            return False
        return self.valid_to is None or at < self.valid_to


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is reading: results are limited to the facilities they are granted and cost fields
    are left out without `cost_view` there or `finance_audit` (L8.3, L9.2)."""

    actor: str
    role: str


def grants_of(grants: dict[str, list[Grant]], actor: str, role: str) -> list[Grant]:
    return [grant for grant in grants.get(actor, ()) if grant.role.value == role]


def authorise(
    grants: dict[str, list[Grant]],
    actor: str,
    role: str,
    action: str,
    facility_id: int | None,
    at: str,
    facility_code: str | None = None,
) -> None:
    """Refuse unless `role` may take `action` and `actor` holds a grant of that role covering
    the facility (or, for organisation-wide actions, any facility) at time `at`."""
    if Role._value2member_map_.get(role) not in ACTIONS[action]:
        raise forbidden(role, action.replace(".", " "))
    held = grants_of(grants, actor, role)
    if facility_id is None:
        valid = any(g.facility_id is None and g.covers(None, at) for g in held)
    else:
        valid = any(g.covers(facility_id, at) for g in held)
    if not valid:
        where = f" at {facility_code}" if facility_code else ""
        expired = [g for g in held if g.facility_id in (None, facility_id)]
        why = "an expired or not yet valid grant" if expired else "no grant"
        error = LedgerError(
            "forbidden",
            f"actor: {actor!r} has {why} as {role}{where}",
            field="actor",
        )
        error.status = 403
        raise error


def authorise_approver(
    grants: dict[str, list[Grant]],
    approver: str,
    action: str,
    facility_id: int,
    at: str,
    facility_code: str,
) -> str:
    """The role in which `approver` may approve `action` at the facility, or a refusal."""
    for grant in grants.get(approver, ()):
        if grant.role in ACTIONS[action] and grant.covers(facility_id, at):
            return grant.role.value
    error = LedgerError(
        "forbidden",
        f"approver: {approver!r} holds no grant to approve at {facility_code}",
        field="approver",
    )
    error.status = 403
    raise error


def can_see_cost(
    grants: dict[str, list[Grant]], viewer: Viewer | None, facility_id: int, at: str
) -> bool:
    if viewer is None:
        return True
    for grant in grants_of(grants, viewer.actor, viewer.role):
        if "finance_audit" in grant.permissions and grant.covers(None, at):
            return True
        if "cost_view" in grant.permissions and grant.covers(facility_id, at):
            return True
    return False


def can_see(
    grants: dict[str, list[Grant]], viewer: Viewer | None, facility_id: int, at: str
) -> bool:
    if viewer is None:
        return True
    return any(g.covers(facility_id, at) for g in grants_of(grants, viewer.actor, viewer.role))


def approval_needed(threshold: Decimal | None, value: Decimal) -> bool:
    return threshold is not None and abs(value) > threshold
