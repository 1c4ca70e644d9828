DROP TABLE technical_reports;
