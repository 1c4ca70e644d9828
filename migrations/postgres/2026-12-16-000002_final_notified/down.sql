ALTER TABLE awards DROP COLUMN final_notified_at;
