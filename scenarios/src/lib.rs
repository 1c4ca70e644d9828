//! Scenario packages: their format, validation, metrics and ranking rules.
