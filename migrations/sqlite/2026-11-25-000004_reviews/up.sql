-- Reviews: a judge's score (1–5), award recommendation and text for one submission; a
-- judge has at most one review of a submission and edits it in place.
CREATE TABLE reviews (
    id TEXT PRIMARY KEY NOT NULL,
    submission_id TEXT NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    judge_id TEXT NOT NULL REFERENCES users(id),
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    recommendation TEXT NOT NULL CHECK (recommendation IN ('none', 'shortlist', 'award')),
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (submission_id, judge_id)
);
CREATE INDEX reviews_by_judge ON reviews (judge_id);
