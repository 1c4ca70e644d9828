ALTER TABLE jobs DROP COLUMN disturbance;
ALTER TABLE jobs DROP COLUMN not_before;
ALTER TABLE jobs DROP COLUMN quiet_waits;
