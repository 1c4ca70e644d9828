-- How many items of each board's part the score covers, and how many that part holds:
-- every item is scored, so the two are equal for a finished run; NULL for results
-- recorded before they were kept.
ALTER TABLE results ADD COLUMN public_items BIGINT;
ALTER TABLE results ADD COLUMN public_items_in_set BIGINT;
ALTER TABLE results ADD COLUMN private_items BIGINT;
ALTER TABLE results ADD COLUMN private_items_in_set BIGINT;
