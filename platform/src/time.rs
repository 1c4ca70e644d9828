//! How the platform writes times: RFC 3339 in UTC for the API, Beijing time (UTC+8, no
//! daylight saving) with its offset on the pages, where the towns and most teams are.

/// Milliseconds since the epoch as RFC 3339 in UTC, the API's one time format.
pub fn iso_time(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// China Standard Time, the same all year.
pub fn beijing() -> chrono::FixedOffset {
    use chrono::Offset;
    // Eight hours is within FixedOffset's range, so the fallback never happens.
    chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| chrono::Utc.fix())
}

/// An RFC 3339 time as people in the towns read it: `2026-11-01 00:00 (UTC+8)`.
pub fn beijing_time(iso: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(iso)
        .map(|t| {
            t.with_timezone(&beijing())
                .format("%Y-%m-%d %H:%M (UTC+8)")
                .to_string()
        })
        .unwrap_or_else(|_| iso.to_owned())
}

/// The value of a `datetime-local` field for an RFC 3339 time, in Beijing time.
pub fn beijing_input(iso: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(iso)
        .map(|t| {
            t.with_timezone(&beijing())
                .format("%Y-%m-%dT%H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| iso.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_show_beijing_time_with_its_offset() {
        assert_eq!(
            beijing_time("2026-10-31T16:00:00.000Z"),
            "2026-11-01 00:00 (UTC+8)"
        );
        assert_eq!(
            beijing_input("2026-10-31T16:00:00.000Z"),
            "2026-11-01T00:00"
        );
        assert_eq!(beijing_time("not a time"), "not a time");
    }
}
