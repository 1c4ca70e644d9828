-- The department's award after judging: the winners with their share of the bounty (integer
-- fen) and reasons, announced publicly (公示) for an objection period; objections filed by
-- anyone signed in, each answered by the department.
CREATE TABLE awards (
    scenario_id TEXT PRIMARY KEY NOT NULL REFERENCES scenarios(id) ON DELETE CASCADE,
    reasons TEXT NOT NULL,
    objection_days INTEGER NOT NULL CHECK (objection_days BETWEEN 1 AND 30),
    decided_by TEXT REFERENCES users(id),
    decided_at BIGINT NOT NULL,
    announced_at BIGINT,
    objections_close_at BIGINT
);

CREATE TABLE award_winners (
    scenario_id TEXT NOT NULL REFERENCES awards(scenario_id) ON DELETE CASCADE,
    team_id TEXT NOT NULL REFERENCES teams(id),
    position INTEGER NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
    reason TEXT NOT NULL,
    PRIMARY KEY (scenario_id, team_id)
);

CREATE TABLE objections (
    id TEXT PRIMARY KEY NOT NULL,
    scenario_id TEXT NOT NULL REFERENCES awards(scenario_id) ON DELETE CASCADE,
    filed_by TEXT NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    filed_at BIGINT NOT NULL,
    answer TEXT,
    answered_by TEXT REFERENCES users(id),
    answered_at BIGINT
);
CREATE INDEX objections_scenario ON objections (scenario_id, filed_at);
