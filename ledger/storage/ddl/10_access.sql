-- Access control: grants of a role to an actor, for one facility or all (facility_id null),
-- within a validity window; approval thresholds per organisation or facility.
create table if not exists role_grant (
    actor text not null,
    role text not null,
    facility_id {id} references facility (facility_id),
    valid_from text,
    valid_to text,
    permissions text not null,
    granted_at text not null,
    granted_by text not null
);
create unique index if not exists role_grant_key
    on role_grant (actor, role, coalesce(facility_id, 0));
create table if not exists approval_policy (
    scope text primary key,
    facility_id {id} references facility (facility_id),
    adjustment_value_threshold_e6 {id},
    transfer_value_threshold_e6 {id},
    transfer_pct_threshold_e6 {id},
    no_self_approval {bool} not null
);
