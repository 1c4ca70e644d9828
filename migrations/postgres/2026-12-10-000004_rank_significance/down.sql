ALTER TABLE results DROP COLUMN budget_uncertain;
ALTER TABLE results DROP COLUMN items_digest;
