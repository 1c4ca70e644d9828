-- Results: the key figures of each evaluated submission; the full report and the logs are
-- content-addressed files whose digests are kept here.
CREATE TABLE results (
    submission_id TEXT PRIMARY KEY NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    public_score REAL,
    public_low REAL,
    public_high REAL,
    private_score REAL,
    private_low REAL,
    private_high REAL,
    sample_score REAL,
    within_budget BOOLEAN,
    latency_ms REAL,
    failure TEXT,
    report_digest TEXT NOT NULL,
    sample_logs_digest TEXT,
    hidden_logs_digest TEXT,
    worker_id TEXT,
    finished_at BIGINT NOT NULL
);
