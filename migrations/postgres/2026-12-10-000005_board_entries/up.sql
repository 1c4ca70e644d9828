-- Boards kept as results arrive: each team's best entry per scenario, phase, board
-- (public/private), metric direction and package version, so a board page reads only the
-- rows it shows. Both directions are kept, so a board never depends on knowing the metric
-- when a result is recorded. `score_key` sorts best first (the score when lower is better,
-- its negation when higher is); `over_budget` sorts runs within budget first. The order
-- index is the board's order: over budget, score, latency, submission time, team, submission;
-- the key leads with the team, so that reading a board has only that index to go by.
-- Ids compare byte by byte (COLLATE "C"), as the ranking compares them and SQLite does.
CREATE TABLE board_entries (
    scenario_id TEXT NOT NULL,
    phase_id TEXT NOT NULL,
    board TEXT NOT NULL,
    direction TEXT NOT NULL,
    package_version INTEGER NOT NULL,
    team_id TEXT COLLATE "C" NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    submission_id TEXT COLLATE "C" NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    score_key DOUBLE PRECISION NOT NULL,
    over_budget BOOLEAN NOT NULL,
    latency_ms DOUBLE PRECISION NOT NULL,
    submitted_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, scenario_id, phase_id, board, direction, package_version),
    FOREIGN KEY (submission_id, package_version)
        REFERENCES results (submission_id, package_version) ON DELETE CASCADE
);
CREATE INDEX board_entries_order ON board_entries (
    scenario_id, phase_id, board, direction, package_version,
    over_budget, score_key, latency_ms, submitted_at, team_id, submission_id
);
CREATE INDEX board_entries_result ON board_entries (submission_id, package_version);

-- Filled from the results already recorded: per team, the first of its entries in board
-- order. A score that is not a finite number ranks nowhere; a missing verdict counts as
-- within budget and a missing latency as 0, as the ranking reads them; a latency that is
-- not a number sorts last. -0 and 0 are one score.
INSERT INTO board_entries
SELECT scenario_id, phase_id, board, direction, package_version, team_id, submission_id,
       score, score_key, over_budget, latency_ms, submitted_at
FROM (
    SELECT candidates.*,
           ROW_NUMBER() OVER (
               PARTITION BY scenario_id, phase_id, board, direction, package_version, team_id
               ORDER BY over_budget, score_key, latency_ms, submitted_at, submission_id COLLATE "C"
           ) AS place
    FROM (
        SELECT submissions.scenario_id, submissions.phase_id, boards.board,
               directions.direction, results.package_version, submissions.team_id,
               results.submission_id,
               CASE boards.board WHEN 'public' THEN results.public_score
                                 ELSE results.private_score END AS score,
               CASE directions.direction
                   WHEN 'higher' THEN -(CASE boards.board WHEN 'public' THEN results.public_score
                                                         ELSE results.private_score END)
                   ELSE (CASE boards.board WHEN 'public' THEN results.public_score
                                           ELSE results.private_score END)
               END + 0.0 AS score_key,
               NOT COALESCE(results.within_budget, TRUE) AS over_budget,
               CASE WHEN results.latency_ms = 'NaN' THEN 'Infinity'
                    ELSE COALESCE(results.latency_ms, 0.0) END AS latency_ms,
               submissions.created_at AS submitted_at
        FROM results
        JOIN submissions ON submissions.id = results.submission_id
        CROSS JOIN (SELECT 'public' AS board UNION ALL SELECT 'private') AS boards
        CROSS JOIN (SELECT 'higher' AS direction UNION ALL SELECT 'lower') AS directions
        WHERE results.failure IS NULL
    ) AS candidates
    WHERE score > '-Infinity' AND score < 'Infinity'
) AS ranked
WHERE place = 1;
