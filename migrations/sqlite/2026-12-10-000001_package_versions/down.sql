-- Back to one result per submission: the newest version's stands.
CREATE TABLE results_single (
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
    finished_at BIGINT NOT NULL,
    device_seconds REAL,
    devices TEXT
);
INSERT INTO results_single
    SELECT submission_id, metric, public_score, public_low, public_high, private_score,
           private_low, private_high, sample_score, within_budget, latency_ms, failure,
           report_digest, sample_logs_digest, hidden_logs_digest, worker_id, finished_at,
           device_seconds, devices
    FROM results AS newest
    WHERE package_version = (SELECT MAX(package_version) FROM results AS other
                             WHERE other.submission_id = newest.submission_id);
DROP TABLE results;
ALTER TABLE results_single RENAME TO results;
CREATE INDEX results_finished_at ON results (finished_at);

DELETE FROM jobs WHERE rescore;
DROP INDEX jobs_status;
CREATE INDEX jobs_status ON jobs (status, created_at);
ALTER TABLE jobs DROP COLUMN rescore;
ALTER TABLE jobs DROP COLUMN package_version;

ALTER TABLE scenarios DROP COLUMN package_version;
DROP TABLE package_versions;
