//! The periods money is counted in, all in Beijing time: the day of a sponsored allowance
//! (the quota's day), the month of a statement and of credit, the year of the subsidy cap.

use chrono::{Datelike, NaiveDate, TimeZone};

use crate::db::models::submissions::quota_day_start;
use crate::time::beijing;

const DAY_MILLIS: i64 = 24 * 3600 * 1000;

/// `[start, end)` of the Beijing day holding `at`.
pub fn day_range(at: i64) -> (i64, i64) {
    let start = quota_day_start(at);
    (start, start + DAY_MILLIS)
}

fn local_date(at: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(at)
        .unwrap_or_default()
        .with_timezone(&beijing())
        .date_naive()
}

fn start_of(date: NaiveDate) -> i64 {
    beijing()
        .from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
        .single()
        .map_or(0, |t| t.timestamp_millis())
}

/// The Beijing month holding `at`, as `YYYY-MM`.
pub fn month_of(at: i64) -> String {
    local_date(at).format("%Y-%m").to_string()
}

/// `[start, end)` of a `YYYY-MM` month, or `None` when it is not one.
pub fn month_range(month: &str) -> Option<(i64, i64)> {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)?
    };
    Some((start_of(first), start_of(next)))
}

/// `[start, end)` of the Beijing calendar year holding `at`.
pub fn year_range(at: i64) -> (i64, i64) {
    let year = local_date(at).year();
    let first = |y| NaiveDate::from_ymd_opt(y, 1, 1).map_or(0, start_of);
    (first(year), first(year + 1))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn periods_are_beijing_months_and_years() {
        // 2026-12-31 16:30 UTC is 2027-01-01 00:30 in Beijing.
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 12, 31, 16, 30, 0)
            .unwrap()
            .timestamp_millis();
        assert_eq!(month_of(at), "2027-01");
        let (start, end) = month_range("2027-01").unwrap();
        assert!(start <= at && at < end);
        assert_eq!(end - start, 31 * DAY_MILLIS);
        assert_eq!(year_range(at).0, start);
        assert_eq!(month_range("2027-13"), None);
        assert_eq!(month_range("x"), None);
        let (day_start, day_end) = day_range(at);
        assert_eq!((day_start, day_end - day_start), (start, DAY_MILLIS));
    }
}
