-- Package versions: every package a scenario has been given, numbered from 1, kept whole
-- (the spec workers evaluate by), so a result names the version it was scored on and a
-- re-score of an earlier submission runs on the version its job names.
CREATE TABLE package_versions (
    scenario_id TEXT NOT NULL REFERENCES scenarios(id) ON DELETE CASCADE,
    version INTEGER NOT NULL CHECK (version > 0),
    spec TEXT NOT NULL,
    archive_digest TEXT,
    uploaded_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scenario_id, version)
);
-- The version in force; 0 while the scenario has no package.
ALTER TABLE scenarios ADD COLUMN package_version INTEGER NOT NULL DEFAULT 0;
INSERT INTO package_versions (scenario_id, version, spec, archive_digest, uploaded_by, created_at)
    SELECT id, 1, spec, NULL, NULL, updated_at FROM scenarios WHERE spec <> '{}';
UPDATE scenarios SET package_version = 1 WHERE spec <> '{}';

-- A job evaluates a submission on one version; a re-score (after a new version) waits
-- behind every first evaluation and never touches the submission's quota or stage.
ALTER TABLE jobs ADD COLUMN package_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN rescore BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE jobs SET package_version = COALESCE((
    SELECT scenarios.package_version FROM submissions
    JOIN scenarios ON scenarios.id = submissions.scenario_id
    WHERE submissions.id = jobs.submission_id
), 0);
DROP INDEX jobs_status;
CREATE INDEX jobs_status ON jobs (status, rescore, created_at);

-- One result per submission and version (SQLite cannot change a primary key in place).
CREATE TABLE results_by_version (
    submission_id TEXT NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    package_version INTEGER NOT NULL,
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
    devices TEXT,
    PRIMARY KEY (submission_id, package_version)
);
INSERT INTO results_by_version
    SELECT results.submission_id,
           COALESCE((SELECT scenarios.package_version FROM submissions
                     JOIN scenarios ON scenarios.id = submissions.scenario_id
                     WHERE submissions.id = results.submission_id), 0),
           metric, public_score, public_low, public_high, private_score, private_low,
           private_high, sample_score, within_budget, latency_ms, failure, report_digest,
           sample_logs_digest, hidden_logs_digest, worker_id, finished_at, device_seconds,
           devices
    FROM results;
DROP TABLE results;
ALTER TABLE results_by_version RENAME TO results;
CREATE INDEX results_finished_at ON results (finished_at);
