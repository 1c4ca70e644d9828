ALTER TABLE results DROP COLUMN private_items_in_set;
ALTER TABLE results DROP COLUMN private_items;
ALTER TABLE results DROP COLUMN public_items_in_set;
ALTER TABLE results DROP COLUMN public_items;
