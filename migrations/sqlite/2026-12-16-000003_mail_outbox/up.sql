-- Notifications not yet e-mailed: the mailer sends them after their transaction commits.
ALTER TABLE notifications ADD COLUMN mailed_at BIGINT;
CREATE INDEX notifications_unmailed ON notifications (id) WHERE mailed_at IS NULL;
