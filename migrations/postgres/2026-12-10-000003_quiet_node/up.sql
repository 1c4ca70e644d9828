-- Jobs whose timed run stayed disturbed by other work on the node wait for a quiet one:
-- how often that happened, when a worker may claim the job again, and which figures
-- passed which thresholds (JSON, for the operator's overview).
ALTER TABLE jobs ADD COLUMN quiet_waits INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN not_before BIGINT;
ALTER TABLE jobs ADD COLUMN disturbance TEXT;
