//! Organisations: the departments (new towns) that post scenarios, and the institutions
//! (universities, companies) that teams belong to and compute vouchers are issued to.

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
    pub kind: OrganizationKind,
    /// Own charges (integer fen) the organisation may run up in a month once its vouchers
    /// and allowances are spent; 0 means none.
    #[serde(skip)]
    pub monthly_credit_fen: i64,
}

jiebang_scenarios::text_enum! {
    sql;
    /// One table holds both sides of a challenge: the towns post scenarios, the institutions
    /// enter them through their teams. Both are what a voucher or a statement is about.
    pub enum OrganizationKind: "organisation kind" {
        /// A new town's department (需求方): posts scenarios; its id is a slug.
        Department = "department",
        /// A university or company (揭榜方): its teams enter; its name is unique.
        Institution = "institution",
    }
}

/// What an admin gives to add an organisation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationForm {
    pub id: OrganizationId,
    pub name_zh: String,
    pub name_en: String,
}

/// A page of the departments, oldest first.
pub fn list_paged(conn: &mut DbConnection, page: Page) -> QueryResult<(Vec<Organization>, i64)> {
    paged!(
        conn,
        page,
        organizations::table.filter(organizations::kind.eq(OrganizationKind::Department)),
        order: (organizations::created_at.asc(), organizations::id.asc()),
        select: Organization::as_select(),
    )
}

/// Every department, oldest first (for choices of town; there are tens, not thousands).
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<Organization>> {
    organizations::table
        .filter(organizations::kind.eq(OrganizationKind::Department))
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

/// Whether `id` is a department (what scenarios and department members belong to).
pub fn exists(conn: &mut DbConnection, id: &OrganizationId) -> QueryResult<bool> {
    Ok(find(conn, id)?.is_some_and(|o| o.kind == OrganizationKind::Department))
}

/// The institution of this name (trimmed), created on first use: a team's free-text
/// institution becomes one organisation record, whichever team names it first.
pub fn institution_named(conn: &mut DbConnection, name: &str) -> QueryResult<OrganizationId> {
    let name = name.trim();
    if let Some(id) = institution_id(conn, name)? {
        return Ok(id);
    }
    let organization = Organization {
        id: OrganizationId::generate(),
        name_zh: name.to_owned(),
        name_en: name.to_owned(),
        created_at: now_millis(),
        kind: OrganizationKind::Institution,
        monthly_credit_fen: 0,
    };
    // Two teams naming a new institution at once: the second insert meets the unique
    // index and both teams get the first one's record. The insert is its own savepoint so
    // that on PostgreSQL the surrounding transaction survives the refusal.
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(organizations::table)
            .values(&organization)
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(organization.id),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => institution_id(conn, name)?.ok_or(diesel::result::Error::NotFound),
        Err(other) => Err(other),
    }
}

fn institution_id(conn: &mut DbConnection, name: &str) -> QueryResult<Option<OrganizationId>> {
    organizations::table
        .filter(organizations::kind.eq(OrganizationKind::Institution))
        .filter(organizations::name_zh.eq(name))
        .select(organizations::id)
        .first::<OrganizationId>(conn)
        .optional()
}

/// Sets how much own charge the organisation may run up a month; audited.
pub fn set_monthly_credit(
    conn: &mut DbConnection,
    id: &OrganizationId,
    fen: i64,
    actor: Option<&UserId>,
) -> Result<(), AppError> {
    if fen < 0 {
        return Err(crate::validate::FieldProblem::new(
            "monthly_credit_fen",
            "negative",
            "must be 0 or more",
        )
        .into());
    }
    let changed = diesel::update(organizations::table.find(id))
        .set(organizations::monthly_credit_fen.eq(fen))
        .execute(conn)?;
    if changed == 0 {
        return Err(AppError::missing("organisation", id));
    }
    audit::record(
        conn,
        actor,
        "organization.credit",
        "organization",
        id.as_str(),
        serde_json::json!({"monthly_credit_fen": fen}),
    )?;
    Ok(())
}

pub fn create(
    conn: &mut DbConnection,
    form: OrganizationForm,
    actor: Option<&UserId>,
) -> Result<Organization, AppError> {
    let mut checks = crate::validate::Checks::default();
    checks.check(crate::validate::slug("id", form.id.as_str()));
    checks.check(crate::validate::text("name_zh", &form.name_zh, 100));
    checks.check(crate::validate::text("name_en", &form.name_en, 100));
    checks.finish()?;
    let organization = Organization {
        id: form.id,
        name_zh: form.name_zh,
        name_en: form.name_en,
        created_at: now_millis(),
        kind: OrganizationKind::Department,
        monthly_credit_fen: 0,
    };
    diesel::insert_into(organizations::table)
        .values(&organization)
        .execute(conn)
        .map_err(conflict_if_duplicate(|| {
            AppError::conflict(
                "organization_exists",
                format!("organisation `{}` already exists", organization.id),
            )
            .with("organization", &organization.id)
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

/// The organisation with this id, or else the one with this Chinese or English name (the
/// command line names institutions by name; their ids are random).
pub fn by_id_or_name(conn: &mut DbConnection, key: &str) -> QueryResult<Option<Organization>> {
    if let Some(found) = find(conn, &OrganizationId::from(key))? {
        return Ok(Some(found));
    }
    organizations::table
        .filter(
            organizations::name_zh
                .eq(key)
                .or(organizations::name_en.eq(key)),
        )
        .order(organizations::created_at.asc())
        .select(Organization::as_select())
        .first(conn)
        .optional()
}
