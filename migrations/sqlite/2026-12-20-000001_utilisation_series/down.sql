DROP INDEX usage_samples_period;
DROP TABLE usage_samples;
