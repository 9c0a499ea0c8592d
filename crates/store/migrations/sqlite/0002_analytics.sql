-- Customer analytics (SQLite). Keep in step with migrations/postgres/0002_analytics.sql: the test
-- `schemas_match_across_backends` compares the two.
-- One row per contact, rewritten by every analysis run (`guanxi analyze`, the scheduled run, POST
-- /api/v1/analytics/run). Dates are YYYY-MM-DD text; JSON is text.

CREATE TABLE customer_metrics (
    contact_id BLOB PRIMARY KEY NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    as_of TEXT NOT NULL,
    first_order_on TEXT,
    last_order_on TEXT,
    recency_days BIGINT,
    frequency BIGINT NOT NULL,
    monetary_total_minor BIGINT NOT NULL,
    monetary_mean_minor BIGINT NOT NULL,
    r_score BIGINT,
    f_score BIGINT,
    m_score BIGINT,
    rfm_segment TEXT,
    tier TEXT NOT NULL,
    -- Index into the run's tier rule list (params.tier_rules); NULL = the Ordinary fallback.
    tier_rule BIGINT,
    tier_reason TEXT NOT NULL DEFAULT '{}',
    lifecycle_stage TEXT NOT NULL,
    stage_since TEXT NOT NULL,
    stage_reason TEXT NOT NULL DEFAULT '{}',
    p_alive REAL,
    expected_purchases_90d REAL,
    predicted_clv_12m_minor BIGINT,
    churn_risk REAL,
    churn_reasons TEXT NOT NULL DEFAULT '[]',
    cluster BIGINT,
    recommendations TEXT NOT NULL DEFAULT '[]',
    run_id BLOB NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX customer_metrics_tier ON customer_metrics(tier, contact_id);
CREATE INDEX customer_metrics_stage ON customer_metrics(lifecycle_stage, contact_id);
CREATE INDEX customer_metrics_segment ON customer_metrics(rfm_segment, contact_id);

CREATE TABLE model_runs (
    id BLOB PRIMARY KEY NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    duration_ms BIGINT,
    data_from TEXT,
    data_to TEXT,
    customers BIGINT NOT NULL,
    orders BIGINT NOT NULL,
    -- Fitted parameters, standard errors, log-likelihoods, churn AUC/Brier, cluster profiles, rule lists,
    -- association rules, and which models could not be fitted and why.
    params TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'insufficient_data', 'failed')),
    error TEXT
);
CREATE INDEX model_runs_started ON model_runs(started_at);
