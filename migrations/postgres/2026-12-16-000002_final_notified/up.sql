-- When the finalists were told that the award became final (the objection period over and
-- every objection answered): set once, so the sweep that tells them never tells twice.
ALTER TABLE awards ADD COLUMN final_notified_at BIGINT;
