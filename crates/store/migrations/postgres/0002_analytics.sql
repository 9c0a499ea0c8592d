-- Customer analytics (PostgreSQL). Keep in step with migrations/sqlite/0002_analytics.sql: the test
-- `schemas_match_across_backends` compares the two.
-- One row per contact, rewritten by every analysis run (`guanxi analyze`, the scheduled run, POST
-- /api/v1/analytics/run). Dates are DATE, timestamps TIMESTAMPTZ, JSON is JSONB.

CREATE TABLE customer_metrics (
    contact_id UUID PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
    as_of DATE NOT NULL,
    first_order_on DATE,
    last_order_on DATE,
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
    tier_reason JSONB NOT NULL DEFAULT '{}',
    lifecycle_stage TEXT NOT NULL,
    stage_since DATE NOT NULL,
    stage_reason JSONB NOT NULL DEFAULT '{}',
    p_alive DOUBLE PRECISION,
    expected_purchases_90d DOUBLE PRECISION,
    predicted_clv_12m_minor BIGINT,
    churn_risk DOUBLE PRECISION,
    churn_reasons JSONB NOT NULL DEFAULT '[]',
    cluster BIGINT,
    recommendations JSONB NOT NULL DEFAULT '[]',
    run_id UUID NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX customer_metrics_tier ON customer_metrics(tier, contact_id);
CREATE INDEX customer_metrics_stage ON customer_metrics(lifecycle_stage, contact_id);
CREATE INDEX customer_metrics_segment ON customer_metrics(rfm_segment, contact_id);

CREATE TABLE model_runs (
    id UUID PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    duration_ms BIGINT,
    data_from DATE,
    data_to DATE,
    customers BIGINT NOT NULL,
    orders BIGINT NOT NULL,
    -- Fitted parameters, standard errors, log-likelihoods, churn AUC/Brier, cluster profiles, rule lists,
    -- association rules, and which models could not be fitted and why.
    params JSONB NOT NULL DEFAULT '{}',
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'insufficient_data', 'failed')),
    error TEXT
);
CREATE INDEX model_runs_started ON model_runs(started_at);
