-- The accelerators' utilisation as a time series: one row per device per minute of each
-- evaluation (job_id set), rolled up after a week into one row per device per hour per
-- scenario (job_id ''), deleted after 90 days (services::utilisation). The node's name,
-- the model and the scenario's town are copied in, so a row still reads after its worker
-- or its scenario is gone.
CREATE TABLE usage_samples (
    worker_id TEXT NOT NULL,
    node TEXT NOT NULL,
    device_id TEXT NOT NULL,
    model TEXT NOT NULL,
    scenario_id TEXT NOT NULL,
    town TEXT NOT NULL,
    job_id TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    period_seconds INTEGER NOT NULL CHECK (period_seconds IN (60, 3600)),
    leased_seconds DOUBLE PRECISION NOT NULL,
    busy_percent DOUBLE PRECISION,
    busy_samples INTEGER NOT NULL,
    memory_peak_bytes BIGINT,
    PRIMARY KEY (worker_id, device_id, period_start, scenario_id, job_id)
);
CREATE INDEX usage_samples_period ON usage_samples (period_seconds, period_start);
