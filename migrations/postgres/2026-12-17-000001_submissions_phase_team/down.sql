DROP INDEX submissions_phase_team;
