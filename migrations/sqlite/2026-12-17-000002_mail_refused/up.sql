-- A notification the mail server or its address refused for good: never tried again, so it
-- cannot hold back the ones after it.
ALTER TABLE notifications ADD COLUMN mail_refused_at BIGINT;
