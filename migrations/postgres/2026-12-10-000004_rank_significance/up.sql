-- Rank significance. `items_digest`: the content-addressed file (gzip-compressed JSON) of
-- the hidden run's per-item pairs on each board's part, from which the boards tell which
-- adjacent rows are statistically tied; judges' and the platform's only, never a team's.
-- Kept as a file rather than rows: a few thousand items a result times 100,000 results
-- would be hundreds of millions of rows read whole anyway. `budget_uncertain`: the budget
-- lies inside the confidence interval of the latency percentile, so the verdict could go
-- either way. Both are NULL for results recorded before they existed.
ALTER TABLE results ADD COLUMN items_digest TEXT;
ALTER TABLE results ADD COLUMN budget_uncertain BOOLEAN;
