-- HTTP API tokens: each maps to an actor and a role; the actor's facility grants are the
-- ledger's own (role_grant). Only a SHA-256 hash of the token is kept, never the token.
create table if not exists api_token (
    token_id text primary key,
    token_hash text not null unique,
    actor text not null,
    role text not null,
    label text,
    issued_at text not null,
    issued_by text not null,
    revoked_at text,
    revoked_by text
);
