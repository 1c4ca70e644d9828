-- What each evaluation held of its node's accelerators: the device ids leased and the
-- device-seconds metered, so the operator's console can show utilisation per device.
ALTER TABLE results ADD COLUMN device_seconds REAL;
ALTER TABLE results ADD COLUMN devices TEXT;
CREATE INDEX results_finished_at ON results (finished_at);
