//! People, their global roles (admin, judge, operator) and their department memberships.

use diesel::prelude::*;
use serde::Deserialize;

use crate::db::DbConnection;
use crate::db::ids::{OrganizationId, UserId};
use crate::db::models::{Page, audit, conflict_if_duplicate, organizations, paged};
use crate::db::now_millis;
use crate::db::schema::{department_members, user_roles, users};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub login: String,
    pub display_name: String,
    pub email: Option<String>,
    pub created_at: i64,
}

jiebang_scenarios::text_enum! {
    sql;
    /// A role that is not tied to a team or an organisation.
    pub enum Role: "role" {
        Admin = "admin",
        Judge = "judge",
        Operator = "operator",
    }
}

/// What it takes to create a user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserForm {
    pub login: String,
    pub display_name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Organisations this user works for as a department member.
    #[serde(default)]
    pub departments: Vec<OrganizationId>,
}

pub fn create(
    conn: &mut DbConnection,
    form: UserForm,
    actor: Option<&UserId>,
) -> Result<User, AppError> {
    let mut checks = crate::validate::Checks::default();
    checks.check(crate::validate::login("login", &form.login));
    checks.check(crate::validate::text(
        "display_name",
        &form.display_name,
        100,
    ));
    if let Some(email) = &form.email {
        checks.check(crate::validate::email("email", email));
    }
    for (index, organization) in form.departments.iter().enumerate() {
        if !organizations::exists(conn, organization)? {
            checks.push(
                crate::validate::FieldProblem::new(
                    &format!("departments[{index}]"),
                    "unknown_organization",
                    format!("no organisation `{organization}`"),
                )
                .with("id", organization),
            );
        }
    }
    checks.finish()?;
    let user = User {
        id: UserId::generate(),
        login: form.login,
        display_name: form.display_name,
        email: form.email,
        created_at: now_millis(),
    };
    diesel::insert_into(users::table)
        .values(&user)
        .execute(conn)
        .map_err(conflict_if_duplicate(|| {
            AppError::conflict("login_taken", format!("login `{}` is taken", user.login))
                .with("login", &user.login)
        }))?;
    audit::record(
        conn,
        actor,
        "user.create",
        "user",
        user.id.as_str(),
        serde_json::json!({"login": user.login}),
    )?;
    for role in form.roles {
        grant_role(conn, &user.id, role, actor)?;
    }
    for organization in &form.departments {
        add_to_department(conn, &user.id, organization, actor)?;
    }
    Ok(user)
}

pub fn grant_role(
    conn: &mut DbConnection,
    user: &UserId,
    role: Role,
    actor: Option<&UserId>,
) -> Result<(), AppError> {
    if roles_of(conn, user)?.contains(&role) {
        return Ok(());
    }
    diesel::insert_into(user_roles::table)
        .values((
            user_roles::user_id.eq(user),
            user_roles::role.eq(role),
            user_roles::granted_at.eq(now_millis()),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        "user.grant_role",
        "user",
        user.as_str(),
        serde_json::json!({"role": role.as_str()}),
    )?;
    Ok(())
}

pub fn add_to_department(
    conn: &mut DbConnection,
    user: &UserId,
    organization: &OrganizationId,
    actor: Option<&UserId>,
) -> Result<(), AppError> {
    if departments_of(conn, user)?.contains(organization) {
        return Ok(());
    }
    diesel::insert_into(department_members::table)
        .values((
            department_members::organization_id.eq(organization),
            department_members::user_id.eq(user),
            department_members::added_at.eq(now_millis()),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        "organization.add_member",
        "organization",
        organization.as_str(),
        serde_json::json!({"user_id": user}),
    )?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &UserId) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_login(conn: &mut DbConnection, login: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::login.eq(login))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// A page of every user, oldest first.
pub fn list_paged(conn: &mut DbConnection, page: Page) -> QueryResult<(Vec<User>, i64)> {
    paged!(
        conn,
        page,
        users::table,
        order: (users::created_at.asc(), users::id.asc()),
        select: User::as_select(),
    )
}

/// Every user, oldest first (for `jiebang admin list-users`).
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<User>> {
    users::table
        .order(users::created_at.asc())
        .select(User::as_select())
        .load(conn)
}

pub fn roles_of(conn: &mut DbConnection, user: &UserId) -> QueryResult<Vec<Role>> {
    user_roles::table
        .filter(user_roles::user_id.eq(user))
        .select(user_roles::role)
        .load(conn)
}

pub fn departments_of(conn: &mut DbConnection, user: &UserId) -> QueryResult<Vec<OrganizationId>> {
    department_members::table
        .filter(department_members::user_id.eq(user))
        .order(department_members::organization_id.asc())
        .select(department_members::organization_id)
        .load(conn)
}

pub fn anyone_has_role(conn: &mut DbConnection, role: Role) -> QueryResult<bool> {
    let count: i64 = user_roles::table
        .filter(user_roles::role.eq(role))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}
