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
UPDATE jobs SET package_version = scenarios.package_version
    FROM submissions JOIN scenarios ON scenarios.id = submissions.scenario_id
    WHERE submissions.id = jobs.submission_id;
DROP INDEX jobs_status;
CREATE INDEX jobs_status ON jobs (status, rescore, created_at);

-- One result per submission and version.
ALTER TABLE results ADD COLUMN package_version INTEGER NOT NULL DEFAULT 0;
UPDATE results SET package_version = scenarios.package_version
    FROM submissions JOIN scenarios ON scenarios.id = submissions.scenario_id
    WHERE submissions.id = results.submission_id;
ALTER TABLE results DROP CONSTRAINT results_pkey;
ALTER TABLE results ADD PRIMARY KEY (submission_id, package_version);
