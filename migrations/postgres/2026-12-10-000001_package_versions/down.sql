-- Back to one result per submission: the newest version's stands.
DELETE FROM results AS older
    WHERE package_version < (SELECT MAX(package_version) FROM results AS other
                             WHERE other.submission_id = older.submission_id);
ALTER TABLE results DROP CONSTRAINT results_pkey;
ALTER TABLE results ADD PRIMARY KEY (submission_id);
ALTER TABLE results DROP COLUMN package_version;

DELETE FROM jobs WHERE rescore;
DROP INDEX jobs_status;
CREATE INDEX jobs_status ON jobs (status, created_at);
ALTER TABLE jobs DROP COLUMN rescore;
ALTER TABLE jobs DROP COLUMN package_version;

ALTER TABLE scenarios DROP COLUMN package_version;
DROP TABLE package_versions;
