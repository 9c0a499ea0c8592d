-- Guanxi foundation schema (SQLite). Keep in step with migrations/postgres/0001_foundation.sql: the test
-- `schemas_match_across_backends` compares the two.
-- Ids are UUIDv7 stored as 16-byte BLOBs; `seq` is the row's integer key, used by the FTS5 index.
-- Timestamps are RFC 3339 UTC text as written by sqlx (they sort chronologically); money is integer minor units.

CREATE TABLE teams (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id BLOB PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'member')),
    team_id BLOB REFERENCES teams(id),
    locale TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'read_write')),
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);

CREATE TABLE sessions (
    id_hash BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    data TEXT NOT NULL DEFAULT '{}',
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE login_failures (
    key TEXT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    window_start TEXT NOT NULL
);

CREATE TABLE idempotency_keys (
    user_id BLOB NOT NULL,
    key TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status BIGINT,
    response TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE custom_fields (
    id BLOB PRIMARY KEY NOT NULL,
    object TEXT NOT NULL,
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    kind TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '[]',
    required BOOLEAN NOT NULL DEFAULT FALSE,
    position BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (object, key)
);

CREATE TABLE companies (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    name TEXT NOT NULL,
    domain TEXT,
    industry TEXT,
    size_band TEXT,
    address_country TEXT,
    address_province TEXT,
    address_city TEXT,
    address_district TEXT,
    address_street TEXT,
    address_postcode TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    owner_id BLOB REFERENCES users(id),
    team_id BLOB REFERENCES teams(id),
    visibility TEXT NOT NULL CHECK (visibility IN ('private', 'team', 'public')),
    custom TEXT NOT NULL DEFAULT '{}',
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX companies_team ON companies(team_id, id);
CREATE INDEX companies_owner ON companies(owner_id, id);
CREATE INDEX companies_name ON companies(name);
CREATE INDEX companies_domain ON companies(domain);

CREATE TABLE contacts (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    family_name TEXT,
    given_name TEXT,
    display_name TEXT NOT NULL,
    emails TEXT NOT NULL DEFAULT '[]',
    phones TEXT NOT NULL DEFAULT '[]',
    primary_email TEXT,
    primary_phone TEXT,
    address_country TEXT,
    address_province TEXT,
    address_city TEXT,
    address_district TEXT,
    address_street TEXT,
    address_postcode TEXT,
    company_id BLOB REFERENCES companies(id) ON DELETE SET NULL,
    job_title TEXT,
    gender TEXT,
    birthday TEXT,
    preferred_language TEXT,
    source TEXT NOT NULL,
    source_detail TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    owner_id BLOB REFERENCES users(id),
    team_id BLOB REFERENCES teams(id),
    visibility TEXT NOT NULL CHECK (visibility IN ('private', 'team', 'public')),
    custom TEXT NOT NULL DEFAULT '{}',
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX contacts_team ON contacts(team_id, id);
CREATE INDEX contacts_owner ON contacts(owner_id, id);
CREATE INDEX contacts_company ON contacts(company_id);
CREATE INDEX contacts_created ON contacts(created_at, id);
CREATE INDEX contacts_updated ON contacts(updated_at, id);
CREATE INDEX contacts_display_name ON contacts(display_name, id);
CREATE INDEX contacts_city ON contacts(address_city, id);

-- Every email and phone of a contact, normalised, for exact lookup and duplicate warnings.
CREATE TABLE contact_points (
    contact_id BLOB NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('email', 'phone')),
    value TEXT NOT NULL,
    PRIMARY KEY (contact_id, kind, value)
);
CREATE INDEX contact_points_value ON contact_points(kind, value);

-- Tags of contacts and companies, for has_tag filters (the tags column keeps the order for display).
CREATE TABLE record_tags (
    object TEXT NOT NULL,
    record_id BLOB NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (object, record_id, tag)
);
CREATE INDEX record_tags_tag ON record_tags(object, tag, record_id);

CREATE TABLE products (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    category TEXT,
    list_price_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    custom TEXT NOT NULL DEFAULT '{}',
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE orders (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    number TEXT UNIQUE,
    contact_id BLOB NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    company_id BLOB REFERENCES companies(id) ON DELETE SET NULL,
    status TEXT NOT NULL CHECK (status IN ('paid', 'refunded', 'cancelled')),
    currency TEXT NOT NULL,
    total_minor BIGINT NOT NULL,
    ordered_at TEXT NOT NULL,
    custom TEXT NOT NULL DEFAULT '{}',
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX orders_contact ON orders(contact_id, ordered_at);
CREATE INDEX orders_company ON orders(company_id, ordered_at);
CREATE INDEX orders_ordered ON orders(ordered_at, id);

CREATE TABLE order_lines (
    order_id BLOB NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    product_id BLOB REFERENCES products(id) ON DELETE SET NULL,
    description TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    discount_minor BIGINT NOT NULL,
    line_total_minor BIGINT NOT NULL,
    PRIMARY KEY (order_id, position)
);
CREATE INDEX order_lines_product ON order_lines(product_id);

CREATE TABLE activities (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    contact_id BLOB REFERENCES contacts(id) ON DELETE CASCADE,
    company_id BLOB REFERENCES companies(id) ON DELETE CASCADE,
    occurred_at TEXT NOT NULL,
    actor_id BLOB REFERENCES users(id),
    subject TEXT,
    body TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX activities_contact ON activities(contact_id, occurred_at);
CREATE INDEX activities_company ON activities(company_id, occurred_at);
CREATE INDEX activities_occurred ON activities(occurred_at, id);

CREATE TABLE tasks (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    title TEXT NOT NULL,
    notes TEXT,
    due_at TEXT,
    remind_at TEXT,
    assignee_id BLOB REFERENCES users(id),
    contact_id BLOB REFERENCES contacts(id) ON DELETE CASCADE,
    company_id BLOB REFERENCES companies(id) ON DELETE CASCADE,
    done BOOLEAN NOT NULL,
    done_at TEXT,
    created_by BLOB REFERENCES users(id),
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX tasks_assignee ON tasks(assignee_id, done, remind_at);
CREATE INDEX tasks_contact ON tasks(contact_id);

-- Search: contentless FTS5 over tokens made by guanxi-text (CJK characters and pairs, Latin words, email
-- parts, phone suffixes); rowid = contacts.seq / companies.seq.
CREATE VIRTUAL TABLE contact_fts USING fts5(tokens, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 0', prefix='2 3');
CREATE VIRTUAL TABLE company_fts USING fts5(tokens, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 0', prefix='2 3');
