DROP TABLE objections;
DROP TABLE award_winners;
DROP TABLE awards;
