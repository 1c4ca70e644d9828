-- Judging: a rubric per scenario (criteria measured from the results or judged 1–10 by the
-- panel, weights summing to 100), the panel of judges with the affiliations each declared,
-- and each judge's score sheet per finalist (team) with one score per judged criterion.
CREATE TABLE judgings (
    scenario_id TEXT PRIMARY KEY NOT NULL REFERENCES scenarios(id) ON DELETE CASCADE,
    blind BOOLEAN NOT NULL DEFAULT FALSE,
    updated_by TEXT REFERENCES users(id),
    updated_at BIGINT NOT NULL
);

CREATE TABLE rubric_criteria (
    scenario_id TEXT NOT NULL REFERENCES judgings(scenario_id) ON DELETE CASCADE,
    criterion TEXT NOT NULL,
    position INTEGER NOT NULL,
    label TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('measured', 'judged')),
    measure TEXT CHECK (measure IN ('score', 'latency', 'device_seconds')),
    weight INTEGER NOT NULL CHECK (weight BETWEEN 1 AND 100),
    guidance TEXT NOT NULL,
    PRIMARY KEY (scenario_id, criterion)
);

CREATE TABLE panel_members (
    scenario_id TEXT NOT NULL REFERENCES scenarios(id) ON DELETE CASCADE,
    judge_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    assigned_by TEXT REFERENCES users(id),
    assigned_at BIGINT NOT NULL,
    declared_at BIGINT,
    PRIMARY KEY (scenario_id, judge_id)
);
CREATE INDEX panel_members_judge ON panel_members (judge_id);

CREATE TABLE judge_affiliations (
    scenario_id TEXT NOT NULL,
    judge_id TEXT NOT NULL,
    institution TEXT NOT NULL,
    declared_at BIGINT NOT NULL,
    PRIMARY KEY (scenario_id, judge_id, institution),
    FOREIGN KEY (scenario_id, judge_id) REFERENCES panel_members (scenario_id, judge_id)
        ON DELETE CASCADE
);

CREATE TABLE score_sheets (
    scenario_id TEXT NOT NULL REFERENCES scenarios(id) ON DELETE CASCADE,
    judge_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    comment TEXT NOT NULL,
    submitted_at BIGINT NOT NULL,
    PRIMARY KEY (scenario_id, judge_id, team_id)
);

CREATE TABLE judge_scores (
    scenario_id TEXT NOT NULL,
    judge_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    criterion TEXT NOT NULL,
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 10),
    PRIMARY KEY (scenario_id, judge_id, team_id, criterion),
    FOREIGN KEY (scenario_id, judge_id, team_id)
        REFERENCES score_sheets (scenario_id, judge_id, team_id) ON DELETE CASCADE
);
