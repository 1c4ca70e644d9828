//! A person's notifications as the API and the pages show them, and marking them read.

use serde::{Deserialize, Serialize};

use crate::db::DbConnection;
use crate::db::ids::UserId;
use crate::db::models::Page;
use crate::db::models::notifications::{self, Notification, NotificationKind};
use crate::error::AppError;
use crate::time::iso_time;

/// Ids marked read at most at once (a page is at most 100).
pub const MAX_IDS: usize = 1_000;

#[derive(Debug, Serialize)]
pub struct NotificationView {
    pub id: i64,
    pub kind: NotificationKind,
    /// What the catalog sentence `notification.<kind>` is filled from.
    pub params: serde_json::Value,
    pub link: String,
    pub created_at: String,
    pub read: bool,
}

impl From<Notification> for NotificationView {
    fn from(row: Notification) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            params: serde_json::from_str(&row.params).unwrap_or(serde_json::Value::Null),
            link: row.link,
            created_at: iso_time(row.created_at),
            read: row.read_at.is_some(),
        }
    }
}

/// One page of the caller's notifications, newest first.
#[derive(Debug, Serialize)]
pub struct NotificationsPage {
    pub items: Vec<NotificationView>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
    pub unread: i64,
}

pub fn page_for(
    conn: &mut DbConnection,
    user: &UserId,
    page: Page,
) -> Result<NotificationsPage, AppError> {
    let (rows, total, unread) = notifications::list(conn, user, page)?;
    Ok(NotificationsPage {
        items: rows.into_iter().map(NotificationView::from).collect(),
        page: page.number,
        per_page: page.size,
        total,
        unread,
    })
}

/// The body of `POST /api/v1/notifications/read`: the ids to mark, or none for all.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadForm {
    #[serde(default)]
    pub ids: Option<Vec<i64>>,
}

/// Marks the caller's notifications read (all, or the listed ones that are theirs);
/// answers the unread count left.
pub fn mark_read(conn: &mut DbConnection, user: &UserId, form: &ReadForm) -> Result<i64, AppError> {
    if form.ids.as_ref().is_some_and(|ids| ids.len() > MAX_IDS) {
        return Err(crate::validate::FieldProblem::new(
            "ids",
            "too_many",
            format!("at most {MAX_IDS} ids at once"),
        )
        .with("max", MAX_IDS)
        .into());
    }
    notifications::mark_read(conn, user, form.ids.as_deref())?;
    Ok(notifications::unread(conn, user)?)
}
