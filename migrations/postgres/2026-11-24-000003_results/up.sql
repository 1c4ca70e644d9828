-- Results: the key figures of each evaluated submission; the full report and the logs are
-- content-addressed files whose digests are kept here.
CREATE TABLE results (
    submission_id TEXT PRIMARY KEY NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    public_score DOUBLE PRECISION,
    public_low DOUBLE PRECISION,
    public_high DOUBLE PRECISION,
    private_score DOUBLE PRECISION,
    private_low DOUBLE PRECISION,
    private_high DOUBLE PRECISION,
    sample_score DOUBLE PRECISION,
    within_budget BOOLEAN,
    latency_ms DOUBLE PRECISION,
    failure TEXT,
    report_digest TEXT NOT NULL,
    sample_logs_digest TEXT,
    hidden_logs_digest TEXT,
    worker_id TEXT,
    finished_at BIGINT NOT NULL
);
