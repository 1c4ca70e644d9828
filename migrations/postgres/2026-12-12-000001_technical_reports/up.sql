-- A team's technical report (a PDF) attached to one of its submissions of the final phase;
-- the file lives in the content-addressed store, the row names it. Attaching again replaces
-- the submission's report. Scenario and team are kept here so judges' pages find a
-- finalist's latest report in one look-up.
CREATE TABLE technical_reports (
    submission_id TEXT PRIMARY KEY NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    scenario_id TEXT NOT NULL REFERENCES scenarios(id) ON DELETE CASCADE,
    team_id TEXT NOT NULL REFERENCES teams(id),
    digest TEXT NOT NULL,
    size BIGINT NOT NULL CHECK (size > 0),
    uploaded_by TEXT REFERENCES users(id),
    uploaded_at BIGINT NOT NULL
);
CREATE INDEX technical_reports_team ON technical_reports (scenario_id, team_id, uploaded_at);
