DROP INDEX results_finished_at;
ALTER TABLE results DROP COLUMN devices;
ALTER TABLE results DROP COLUMN device_seconds;
