//! The append-only audit log: who changed what, when.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConnection;
use crate::db::ids::UserId;
use crate::db::models::Page;
use crate::db::now_millis;
use crate::db::schema::audit_log;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor_id: Option<String>,
    pub action: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub detail: String,
}

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
struct NewAuditEntry<'a> {
    at: i64,
    actor_id: Option<&'a str>,
    action: &'a str,
    subject_kind: &'a str,
    subject_id: &'a str,
    detail: String,
}

/// Appends one entry; call it inside the transaction that makes the change.
pub fn record(
    conn: &mut DbConnection,
    actor: Option<&UserId>,
    action: &str,
    subject_kind: &str,
    subject_id: &str,
    detail: serde_json::Value,
) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(NewAuditEntry {
            at: now_millis(),
            actor_id: actor.map(UserId::as_str),
            action,
            subject_kind,
            subject_id,
            detail: detail.to_string(),
        })
        .execute(conn)?;
    Ok(())
}

/// Newest first.
pub fn list(conn: &mut DbConnection, page: Page) -> QueryResult<(Vec<AuditEntry>, i64)> {
    let total = audit_log::table.count().get_result(conn)?;
    let entries = audit_log::table
        .order(audit_log::id.desc())
        .limit(page.limit())
        .offset(page.offset())
        .select(AuditEntry::as_select())
        .load(conn)?;
    Ok((entries, total))
}

pub fn for_subject(
    conn: &mut DbConnection,
    subject_kind: &str,
    subject_id: &str,
) -> QueryResult<Vec<AuditEntry>> {
    audit_log::table
        .filter(audit_log::subject_kind.eq(subject_kind))
        .filter(audit_log::subject_id.eq(subject_id))
        .order(audit_log::id.asc())
        .select(AuditEntry::as_select())
        .load(conn)
}
