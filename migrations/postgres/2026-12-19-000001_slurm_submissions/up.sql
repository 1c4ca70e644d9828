-- One-shot workers submitted to Slurm (`[slurm]`), each for a queued job that needed
-- accelerators: Slurm's job id, the gres asked for, Slurm's last reported state, and when
-- the platform saw it start and end (ended ones no longer count as outstanding).
CREATE TABLE slurm_submissions (
    slurm_job_id TEXT PRIMARY KEY NOT NULL,
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    gres TEXT NOT NULL,
    state TEXT NOT NULL,
    submitted_at BIGINT NOT NULL,
    started_at BIGINT,
    ended_at BIGINT
);
CREATE INDEX slurm_submissions_job ON slurm_submissions (job_id, ended_at);
