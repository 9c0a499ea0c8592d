-- Guanxi foundation schema (PostgreSQL). Keep in step with migrations/sqlite/0001_foundation.sql: the test
-- `schemas_match_across_backends` compares the two.
-- Ids are UUIDv7; `seq` is the row's integer key, used by the search index. Money is integer minor units.

CREATE TABLE teams (
    id UUID PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id UUID PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'member')),
    team_id UUID REFERENCES teams(id),
    locale TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_tokens (
    id UUID PRIMARY KEY NOT NULL,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'read_write')),
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);

CREATE TABLE sessions (
    id_hash BYTEA PRIMARY KEY NOT NULL,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    data JSONB NOT NULL DEFAULT '{}',
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE login_failures (
    key TEXT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL
);

CREATE TABLE idempotency_keys (
    user_id UUID NOT NULL,
    key TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    status BIGINT,
    response JSONB,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE custom_fields (
    id UUID PRIMARY KEY NOT NULL,
    object TEXT NOT NULL,
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    kind TEXT NOT NULL,
    options JSONB NOT NULL DEFAULT '[]',
    required BOOLEAN NOT NULL DEFAULT FALSE,
    position BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (object, key)
);

CREATE TABLE companies (
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id UUID PRIMARY KEY,
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
    tags JSONB NOT NULL DEFAULT '[]',
    owner_id UUID REFERENCES users(id),
    team_id UUID REFERENCES teams(id),
    visibility TEXT NOT NULL CHECK (visibility IN ('private', 'team', 'public')),
    custom JSONB NOT NULL DEFAULT '{}',
    version BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX companies_team ON companies(team_id, id);
CREATE INDEX companies_owner ON companies(owner_id, id);
CREATE INDEX companies_name ON companies(name);
CREATE INDEX companies_domain ON companies(domain);

CREATE TABLE contacts (
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id UUID PRIMARY KEY,
    family_name TEXT,
    given_name TEXT,
    display_name TEXT NOT NULL,
    emails JSONB NOT NULL DEFAULT '[]',
    phones JSONB NOT NULL DEFAULT '[]',
    primary_email TEXT,
    primary_phone TEXT,
    address_country TEXT,
    address_province TEXT,
    address_city TEXT,
    address_district TEXT,
    address_street TEXT,
    address_postcode TEXT,
    company_id UUID REFERENCES companies(id) ON DELETE SET NULL,
    job_title TEXT,
    gender TEXT,
    birthday DATE,
    preferred_language TEXT,
    source TEXT NOT NULL,
    source_detail TEXT,
    tags JSONB NOT NULL DEFAULT '[]',
    owner_id UUID REFERENCES users(id),
    team_id UUID REFERENCES teams(id),
    visibility TEXT NOT NULL CHECK (visibility IN ('private', 'team', 'public')),
    custom JSONB NOT NULL DEFAULT '{}',
    version BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
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
    contact_id UUID NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('email', 'phone')),
    value TEXT NOT NULL,
    PRIMARY KEY (contact_id, kind, value)
);
CREATE INDEX contact_points_value ON contact_points(kind, value);

-- Tags of contacts and companies, for has_tag filters (the tags column keeps the order for display).
CREATE TABLE record_tags (
    object TEXT NOT NULL,
    record_id UUID NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (object, record_id, tag)
);
CREATE INDEX record_tags_tag ON record_tags(object, tag, record_id);

CREATE TABLE products (
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id UUID PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    category TEXT,
    list_price_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    custom JSONB NOT NULL DEFAULT '{}',
    version BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE orders (
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id UUID PRIMARY KEY,
    number TEXT UNIQUE,
    contact_id UUID NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    company_id UUID REFERENCES companies(id) ON DELETE SET NULL,
    status TEXT NOT NULL CHECK (status IN ('paid', 'refunded', 'cancelled')),
    currency TEXT NOT NULL,
    total_minor BIGINT NOT NULL,
    ordered_at TIMESTAMPTZ NOT NULL,
    custom JSONB NOT NULL DEFAULT '{}',
    version BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX orders_contact ON orders(contact_id, ordered_at);
CREATE INDEX orders_company ON orders(company_id, ordered_at);
CREATE INDEX orders_ordered ON orders(ordered_at, id);

CREATE TABLE order_lines (
    order_id UUID NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    product_id UUID REFERENCES products(id) ON DELETE SET NULL,
    description TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    discount_minor BIGINT NOT NULL,
    line_total_minor BIGINT NOT NULL,
    PRIMARY KEY (order_id, position)
);
CREATE INDEX order_lines_product ON order_lines(product_id);

CREATE TABLE activities (
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id UUID PRIMARY KEY,
    kind TEXT NOT NULL,
    contact_id UUID REFERENCES contacts(id) ON DELETE CASCADE,
    company_id UUID REFERENCES companies(id) ON DELETE CASCADE,
    occurred_at TIMESTAMPTZ NOT NULL,
    actor_id UUID REFERENCES users(id),
    subject TEXT,
    body TEXT,
    metadata JSONB NOT NULL DEFAULT '{}',
    version BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX activities_contact ON activities(contact_id, occurred_at);
CREATE INDEX activities_company ON activities(company_id, occurred_at);
CREATE INDEX activities_occurred ON activities(occurred_at, id);

CREATE TABLE tasks (
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id UUID PRIMARY KEY,
    title TEXT NOT NULL,
    notes TEXT,
    due_at TIMESTAMPTZ,
    remind_at TIMESTAMPTZ,
    assignee_id UUID REFERENCES users(id),
    contact_id UUID REFERENCES contacts(id) ON DELETE CASCADE,
    company_id UUID REFERENCES companies(id) ON DELETE CASCADE,
    done BOOLEAN NOT NULL,
    done_at TIMESTAMPTZ,
    created_by UUID REFERENCES users(id),
    version BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX tasks_assignee ON tasks(assignee_id, done, remind_at);
CREATE INDEX tasks_contact ON tasks(contact_id);

-- Search: tsvectors built from tokens made by guanxi-text with array_to_tsvector (no parser, so CJK and Latin
-- behave exactly as on SQLite); keyed by contacts.seq / companies.seq.
CREATE TABLE contact_fts (
    seq BIGINT PRIMARY KEY REFERENCES contacts(seq) ON DELETE CASCADE,
    tokens TSVECTOR NOT NULL
);
CREATE INDEX contact_fts_tokens ON contact_fts USING GIN (tokens);
CREATE TABLE company_fts (
    seq BIGINT PRIMARY KEY REFERENCES companies(seq) ON DELETE CASCADE,
    tokens TSVECTOR NOT NULL
);
CREATE INDEX company_fts_tokens ON company_fts USING GIN (tokens);
