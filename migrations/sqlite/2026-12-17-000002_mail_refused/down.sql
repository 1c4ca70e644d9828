ALTER TABLE notifications DROP COLUMN mail_refused_at;
