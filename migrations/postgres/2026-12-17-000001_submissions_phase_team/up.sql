-- The leaderboard page's entries and last-submission columns (`entries_of_teams`: count and
-- latest created_at per team of the page, in one phase) read from this index alone.
CREATE INDEX submissions_phase_team ON submissions (phase_id, team_id, created_at);
