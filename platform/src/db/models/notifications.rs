//! In-app notifications: who is told of which event, and which of them they have read.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::ids::{OrganizationId, TeamId, UserId};
use crate::db::models::Page;
use crate::db::models::scenarios::Scenario;
use crate::db::now_millis;
use crate::db::schema::{department_members, notifications, team_members};

jiebang_scenarios::text_enum! {
    sql;
    /// The event a notification tells of; the catalogs hold one sentence per kind
    /// (`notification_<kind>`), filled from the notification's parameters.
    pub enum NotificationKind: "notification kind" {
        /// A submission of the reader's team was scored and is on the boards.
        EvaluationFinished = "evaluation_finished",
        /// A submission of the reader's team ended by a failure.
        EvaluationFailed = "evaluation_failed",
        /// The reader was invited to join a team.
        Invitation = "invitation",
        /// The reader was put on a scenario's judging panel.
        PanelAssigned = "panel_assigned",
        /// The award of a scenario the reader's team is a finalist of was announced (公示).
        AnnouncementPublished = "announcement_published",
        /// Someone objected to the award of the reader's department's scenario.
        ObjectionFiled = "objection_filed",
        /// The department answered the reader's objection.
        ObjectionAnswered = "objection_answered",
        /// The award of a scenario the reader's team is a finalist of is final.
        ResultFinal = "result_final",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub struct Notification {
    pub id: i64,
    pub user_id: UserId,
    pub kind: NotificationKind,
    /// JSON object the catalog sentence is filled from.
    pub params: String,
    pub link: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// What an event tells: its kind, the sentence's parameters and the page it points at.
#[derive(Debug, Clone)]
pub struct Notice {
    pub kind: NotificationKind,
    pub params: serde_json::Value,
    pub link: String,
}

impl Notice {
    /// A notice about a scenario, its title in both languages for the catalog sentence.
    pub fn about_scenario(kind: NotificationKind, scenario: &Scenario, link: String) -> Self {
        Self {
            kind,
            params: serde_json::json!({
                "scenario_id": scenario.id,
                "scenario_zh": scenario.title_zh,
                "scenario_en": scenario.title_en,
            }),
            link,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = notifications)]
struct NewNotification<'a> {
    user_id: &'a UserId,
    kind: NotificationKind,
    params: &'a str,
    link: &'a str,
    created_at: i64,
}

/// Tells each of `users` (once each) of the event; call it inside the transaction that
/// records the event, so a notification exists exactly when its event does.
pub fn notify(conn: &mut DbConnection, users: &[UserId], notice: &Notice) -> QueryResult<()> {
    let params = notice.params.to_string();
    let now = now_millis();
    let mut seen = std::collections::HashSet::new();
    // One row at a time: few readers per event, and it is portable across both backends'
    // multi-row insert rules.
    for user_id in users.iter().filter(|user| seen.insert(*user)) {
        diesel::insert_into(notifications::table)
            .values(NewNotification {
                user_id,
                kind: notice.kind,
                params: &params,
                link: &notice.link,
                created_at: now,
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Tells every member of a team.
pub fn notify_team(conn: &mut DbConnection, team: &TeamId, notice: &Notice) -> QueryResult<()> {
    let members: Vec<UserId> = team_members::table
        .filter(team_members::team_id.eq(team))
        .select(team_members::user_id)
        .load(conn)?;
    notify(conn, &members, notice)
}

/// Tells every member of a department.
pub fn notify_department(
    conn: &mut DbConnection,
    organization: &OrganizationId,
    notice: &Notice,
) -> QueryResult<()> {
    let members: Vec<UserId> = department_members::table
        .filter(department_members::organization_id.eq(organization))
        .select(department_members::user_id)
        .load(conn)?;
    notify(conn, &members, notice)
}

/// One page of a person's notifications, newest first, with their total and unread count.
pub fn list(
    conn: &mut DbConnection,
    user: &UserId,
    page: Page,
) -> QueryResult<(Vec<Notification>, i64, i64)> {
    let own = notifications::table.filter(notifications::user_id.eq(user));
    let total = own.count().get_result(conn)?;
    let unread = unread(conn, user)?;
    let rows = own
        .order(notifications::id.desc())
        .limit(page.limit())
        .offset(page.offset())
        .select(Notification::as_select())
        .load(conn)?;
    Ok((rows, total, unread))
}

/// How many of a person's notifications are unread (the bell's number).
pub fn unread(conn: &mut DbConnection, user: &UserId) -> QueryResult<i64> {
    notifications::table
        .filter(notifications::user_id.eq(user))
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(conn)
}

/// Marks a person's notifications read: all of them, or those of `ids` that are theirs
/// (another person's ids are ignored, never touched). Returns how many changed.
pub fn mark_read(
    conn: &mut DbConnection,
    user: &UserId,
    ids: Option<&[i64]>,
) -> QueryResult<usize> {
    let own = notifications::table
        .filter(notifications::user_id.eq(user))
        .filter(notifications::read_at.is_null());
    let now = now_millis();
    match ids {
        None => diesel::update(own)
            .set(notifications::read_at.eq(now))
            .execute(conn),
        Some(ids) => diesel::update(own.filter(notifications::id.eq_any(ids)))
            .set(notifications::read_at.eq(now))
            .execute(conn),
    }
}
