//! How the platform writes times: RFC 3339 in UTC for the API.

/// Milliseconds since the epoch as RFC 3339 in UTC, the API's one time format.
pub fn iso_time(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
