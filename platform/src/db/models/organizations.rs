//! Organisations: the departments (new towns) that post scenarios.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::DbConnection;
use crate::db::ids::{OrganizationId, UserId};
use crate::db::models::{Page, audit, conflict_if_duplicate, paged};
use crate::db::now_millis;
use crate::db::schema::organizations;
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = organizations)]
pub struct Organization {
    pub id: OrganizationId,
    pub name_zh: String,
    pub name_en: String,
    #[serde(skip)]
    pub created_at: i64,
}

/// What an admin gives to add an organisation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationForm {
    pub id: OrganizationId,
    pub name_zh: String,
    pub name_en: String,
}

/// A page of the organisations, oldest first.
pub fn list_paged(conn: &mut DbConnection, page: Page) -> QueryResult<(Vec<Organization>, i64)> {
    paged!(
        conn,
        page,
        organizations::table,
        order: (organizations::created_at.asc(), organizations::id.asc()),
        select: Organization::as_select(),
    )
}

/// Every organisation, oldest first (for choices of town; there are tens, not thousands).
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<Organization>> {
    organizations::table
        .order(organizations::created_at.asc())
        .then_order_by(organizations::id.asc())
        .select(Organization::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: &OrganizationId) -> QueryResult<Option<Organization>> {
    organizations::table
        .find(id)
        .select(Organization::as_select())
        .first(conn)
        .optional()
}

pub fn exists(conn: &mut DbConnection, id: &OrganizationId) -> QueryResult<bool> {
    Ok(find(conn, id)?.is_some())
}

pub fn create(
    conn: &mut DbConnection,
    form: OrganizationForm,
    actor: Option<&UserId>,
) -> Result<Organization, AppError> {
    crate::validate::slug("id", form.id.as_str())?;
    crate::validate::text("name_zh", &form.name_zh, 100)?;
    crate::validate::text("name_en", &form.name_en, 100)?;
    let organization = Organization {
        id: form.id,
        name_zh: form.name_zh,
        name_en: form.name_en,
        created_at: now_millis(),
    };
    diesel::insert_into(organizations::table)
        .values(&organization)
        .execute(conn)
        .map_err(conflict_if_duplicate(|| {
            AppError::conflict(
                "organization_exists",
                format!("organisation `{}` already exists", organization.id),
            )
        }))?;
    audit::record(
        conn,
        actor,
        "organization.create",
        "organization",
        organization.id.as_str(),
        serde_json::json!({"name_en": organization.name_en}),
    )?;
    Ok(organization)
}
