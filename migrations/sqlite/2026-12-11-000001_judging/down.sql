DROP TABLE judge_scores;
DROP TABLE score_sheets;
DROP TABLE judge_affiliations;
DROP TABLE panel_members;
DROP TABLE rubric_criteria;
DROP TABLE judgings;
