DROP TABLE jobs;
DROP TABLE workers;
DROP TABLE submission_events;
ALTER TABLE submissions DROP COLUMN failure;
ALTER TABLE submissions DROP COLUMN counts_toward_quota;
