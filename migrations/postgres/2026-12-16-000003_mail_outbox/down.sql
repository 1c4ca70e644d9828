DROP INDEX notifications_unmailed;
ALTER TABLE notifications DROP COLUMN mailed_at;
