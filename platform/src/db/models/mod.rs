//! Row types, their insert and change forms, and the queries over them, one file per record.

pub mod audit;
pub mod awards;
pub mod board_entries;
pub mod catalog_sync;
pub mod charges;
pub mod enrolments;
pub mod identities;
pub mod jobs;
pub mod judging;
pub mod notifications;
pub mod oidc_logins;
pub mod organizations;
pub mod package_versions;
pub mod phases;
pub mod prices;
pub mod results;
pub mod reviews;
pub mod scenarios;
pub mod sessions;
pub mod slurm_submissions;
pub mod submissions;
pub mod teams;
pub mod technical_reports;
pub mod tokens;
pub mod usage_samples;
pub mod users;
pub mod vouchers;
pub mod workers;

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// True when an insert failed because a unique key already holds the value.
pub fn is_unique_violation(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

/// For `map_err` on an insert: a unique-key violation becomes the conflict `on_duplicate`
/// builds; any other error passes through.
pub fn conflict_if_duplicate(
    on_duplicate: impl FnOnce() -> crate::error::AppError,
) -> impl FnOnce(DieselError) -> crate::error::AppError {
    move |error| {
        if is_unique_violation(&error) {
            on_duplicate()
        } else {
            error.into()
        }
    }
}

/// One page of `query` in `order` and how many rows the query has in all, as
/// `QueryResult<(rows, total)>`; `query` is written once and built twice (to count, to load).
macro_rules! paged {
    ($conn:expr, $page:expr, $query:expr, order: $order:expr, select: $select:expr $(,)?) => {{
        let total: i64 = $query.count().get_result($conn)?;
        let rows = $query
            .order($order)
            .limit($page.limit())
            .offset($page.offset())
            .select($select)
            .load($conn)?;
        Ok((rows, total))
    }};
}
pub(crate) use paged;

/// One page of a listing.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub number: u32,
    pub size: u32,
}

impl Page {
    pub fn offset(self) -> i64 {
        i64::from(self.number.saturating_sub(1)) * i64::from(self.size)
    }

    pub fn limit(self) -> i64 {
        i64::from(self.size)
    }
}
