//! The admin console: users (create, roles, departments, a token for someone who cannot
//! sign in through the provider), organisations, and the audit log, each through the same
//! functions as the JSON API.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::Admin;
use crate::auth::session::CsrfForm;
use crate::db::ids::UserId;
use crate::db::models::tokens::{self, IssuedToken, TokenKind};
use crate::db::models::users::{self, Role, UserForm};
use crate::db::models::{audit, organizations};
use crate::error::AppError;
use crate::pages::paging::{ListQuery, Pager, ROWS_PER_PAGE, page_number};
use crate::pages::scenarios::{pick, when};
use crate::pages::{PageContext, no_store, see_other};
use crate::time::iso_time;
use crate::validate::FieldProblem;

use super::{Choice, FormProblems, form_problems, refused};

#[derive(Serialize)]
struct UserRow {
    id: String,
    login: String,
    display_name: String,
    email: String,
    roles: String,
    departments: String,
    created: String,
}

#[derive(Serialize)]
struct OrganizationRow {
    id: String,
    name: String,
    url: String,
}

/// The user form's fields as typed.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct UserFields {
    login: String,
    display_name: String,
    email: String,
    /// One checkbox a role (a form sends a ticked box as `yes`; repeated names do not
    /// survive URL-encoded decoding into a struct).
    role_admin: String,
    role_judge: String,
    role_operator: String,
    department: String,
}

impl UserFields {
    fn roles(&self) -> Vec<Role> {
        [
            (&self.role_admin, Role::Admin),
            (&self.role_judge, Role::Judge),
            (&self.role_operator, Role::Operator),
        ]
        .into_iter()
        .filter(|(ticked, _)| *ticked == "yes")
        .map(|(_, role)| role)
        .collect()
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct OrganizationFields {
    id: String,
    name_zh: String,
    name_en: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenFields {
    name: String,
}

#[derive(Serialize)]
struct RoleChoice {
    value: &'static str,
    label: String,
    checked: bool,
}

#[derive(Serialize)]
struct AdminPage {
    users: Vec<UserRow>,
    pager: Pager,
    organizations: Vec<OrganizationRow>,
    departments: Vec<Choice>,
    roles: Vec<RoleChoice>,
    user: UserFields,
    user_errors: BTreeMap<String, String>,
    user_problem: Option<String>,
    organization: OrganizationFields,
    organization_errors: BTreeMap<String, String>,
    organization_problem: Option<String>,
    /// A token just issued for someone: shown this once.
    issued: Option<IssuedFor>,
    notice: Option<String>,
}

#[derive(Serialize)]
struct IssuedFor {
    login: String,
    token: IssuedToken,
}

#[derive(Debug, Deserialize)]
pub struct AdminQuery {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
    pub created: Option<String>,
}

/// What one rendering of the page carries besides the lists: the forms as typed and what
/// was wrong with them, a secret to show once, a notice.
#[derive(Default)]
struct Forms {
    user: (UserFields, FormProblems),
    organization: (OrganizationFields, FormProblems),
    issued: Option<IssuedFor>,
    notice: Option<String>,
}

const ROLES: [Role; 3] = [Role::Admin, Role::Judge, Role::Operator];

async fn render(
    page: &PageContext,
    list: ListQuery,
    forms: Forms,
) -> Result<HttpResponse, AppError> {
    let paging = page_number(list.page, list.per_page, ROWS_PER_PAGE)?;
    let (users, total, organizations) = page
        .state
        .db
        .read(move |conn| {
            let (rows, total) = users::list_paged(conn, paging)?;
            let mut users = Vec::with_capacity(rows.len());
            for user in rows {
                let roles = users::roles_of(conn, &user.id)?;
                let departments = users::departments_of(conn, &user.id)?;
                users.push((user, roles, departments));
            }
            Ok((users, total, organizations::list(conn)?))
        })
        .await?;
    let names: BTreeMap<String, String> = organizations
        .iter()
        .map(|o| (o.id.0.clone(), pick(page.lang, &o.name_zh, &o.name_en)))
        .collect();
    let users: Vec<UserRow> = users
        .into_iter()
        .map(|(user, roles, departments)| UserRow {
            id: user.id.0,
            login: user.login,
            display_name: user.display_name,
            email: user.email.unwrap_or_default(),
            roles: roles
                .iter()
                .map(|r| page.code("role", r.as_str()))
                .collect::<Vec<_>>()
                .join("、"),
            departments: departments
                .iter()
                .map(|d| names.get(&d.0).cloned().unwrap_or_else(|| d.0.clone()))
                .collect::<Vec<_>>()
                .join("、"),
            created: when(&iso_time(user.created_at)),
        })
        .collect();
    let pager = Pager::new(page, paging, users.len(), total, "page");
    let (user, user_problems) = forms.user;
    let (organization, organization_problems) = forms.organization;
    let view = AdminPage {
        users,
        pager,
        roles: ROLES
            .iter()
            .map(|role| RoleChoice {
                value: role.as_str(),
                label: page.code("role", role.as_str()),
                checked: user.roles().contains(role),
            })
            .collect(),
        departments: names
            .iter()
            .map(|(id, name)| Choice {
                value: id.clone(),
                label: name.clone(),
            })
            .collect(),
        organizations: organizations
            .iter()
            .map(|o| OrganizationRow {
                id: o.id.0.clone(),
                name: pick(page.lang, &o.name_zh, &o.name_en),
                url: format!("/organizations/{}", o.id),
            })
            .collect(),
        user,
        user_errors: user_problems.fields,
        user_problem: user_problems.problem,
        organization,
        organization_errors: organization_problems.fields,
        organization_problem: organization_problems.problem,
        issued: forms.issued,
        notice: forms.notice,
    };
    page.render("console/admin", &page.text("admin.title"), view)
        .await
}

fn first_page() -> ListQuery {
    ListQuery {
        page: None,
        per_page: None,
    }
}

/// `GET /console/admin` — admins.
pub async fn admin(
    page: PageContext,
    _admin: Admin,
    query: web::Query<AdminQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let notice = query
        .created
        .map(|login| page.text("admin.user_created").replace("{login}", &login));
    let list = ListQuery {
        page: query.page,
        per_page: query.per_page,
    };
    let forms = Forms {
        notice,
        ..Forms::default()
    };
    render(&page, list, forms).await
}

/// `POST /console/admin/users` — `POST /api/v1/users`.
pub async fn create_user(
    page: PageContext,
    Admin(admin): Admin,
    CsrfForm(fields): CsrfForm<UserFields>,
) -> Result<HttpResponse, AppError> {
    let form: Result<UserForm, AppError> = serde_json::from_value(json!({
        "login": fields.login.trim(),
        "display_name": fields.display_name.trim(),
        "email": Some(fields.email.trim()).filter(|e| !e.is_empty()),
        "roles": fields.roles(),
        "departments": Some(fields.department.trim()).filter(|d| !d.is_empty()).into_iter().collect::<Vec<_>>(),
    }))
    .map_err(|e| AppError::from(FieldProblem::new("role", "not_a_choice", e)));
    let created = match form {
        Ok(form) => {
            page.state
                .db
                .write(move |conn| users::create(conn, form, Some(&admin.id)))
                .await
        }
        Err(error) => Err(error),
    };
    match created {
        Ok(user) => Ok(see_other(&format!(
            "/console/admin?created={}",
            form_urlencoded::byte_serialize(user.login.as_bytes()).collect::<String>()
        ))),
        Err(error) => {
            let problems = form_problems(&page, error)?;
            let forms = Forms {
                user: (fields, problems),
                ..Forms::default()
            };
            Ok(refused(render(&page, first_page(), forms).await?))
        }
    }
}

/// `POST /console/admin/users/{id}/tokens` — `POST /api/v1/users/{id}/tokens`: the answer
/// is the page with the secret on it, never a redirect that would put it in an address.
pub async fn issue_token(
    page: PageContext,
    Admin(admin): Admin,
    path: web::Path<UserId>,
    CsrfForm(fields): CsrfForm<TokenFields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let name = match fields.name.trim() {
        "" => page.text("admin.token_default_name"),
        name => name.to_owned(),
    };
    let issued = page
        .state
        .db
        .write(move |conn| {
            let user = users::find(conn, &id)?.ok_or_else(|| AppError::missing("user", &id))?;
            let token = tokens::issue(conn, &id, &name, TokenKind::User, Some(&admin.id))?;
            Ok(IssuedFor {
                login: user.login,
                token,
            })
        })
        .await?;
    let forms = Forms {
        issued: Some(issued),
        ..Forms::default()
    };
    Ok(no_store(render(&page, first_page(), forms).await?))
}

/// `POST /console/admin/organizations` — `POST /api/v1/organizations`.
pub async fn create_organization(
    page: PageContext,
    Admin(admin): Admin,
    CsrfForm(fields): CsrfForm<OrganizationFields>,
) -> Result<HttpResponse, AppError> {
    let form: Result<organizations::OrganizationForm, AppError> = serde_json::from_value(json!({
        "id": fields.id.trim(),
        "name_zh": fields.name_zh.trim(),
        "name_en": fields.name_en.trim(),
    }))
    .map_err(|e| AppError::from(FieldProblem::new("id", "malformed_value", e)));
    let created = match form {
        Ok(form) => {
            page.state
                .db
                .write(move |conn| organizations::create(conn, form, Some(&admin.id)))
                .await
        }
        Err(error) => Err(error),
    };
    match created {
        Ok(organization) => Ok(see_other(&format!("/organizations/{}", organization.id))),
        Err(error) => {
            let problems = form_problems(&page, error)?;
            let forms = Forms {
                organization: (fields, problems),
                ..Forms::default()
            };
            Ok(refused(render(&page, first_page(), forms).await?))
        }
    }
}

#[derive(Serialize)]
struct AuditRow {
    at: String,
    actor: String,
    action: String,
    /// The kind of thing in words, and its id as stored (shown marked as not Chinese).
    subject_kind: String,
    subject_id: String,
    /// The entry's details as `name: value` lines, never raw JSON.
    details: Vec<String>,
}

#[derive(Serialize)]
struct AuditPage {
    entries: Vec<AuditRow>,
    pager: Pager,
}

/// A detail value as a person reads it: text as it is, anything else compactly.
fn detail_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Array(items) => {
            items.iter().map(detail_text).collect::<Vec<_>>().join(", ")
        }
        serde_json::Value::Object(fields) => fields
            .iter()
            .map(|(name, value)| format!("{name} = {}", detail_text(value)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// `GET /console/admin/audit` — `GET /api/v1/audit` as a page, newest first.
pub async fn audit_log(
    page: PageContext,
    _admin: Admin,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let paging = page_number(query.page, query.per_page, ROWS_PER_PAGE)?;
    let (entries, total, logins) = page
        .state
        .db
        .read(move |conn| {
            let (entries, total) = audit::list(conn, paging)?;
            let mut logins = BTreeMap::new();
            for actor in entries.iter().filter_map(|e| e.actor_id.as_ref()) {
                if !logins.contains_key(actor)
                    && let Some(user) = users::find(conn, &UserId(actor.clone()))?
                {
                    logins.insert(actor.clone(), user.login);
                }
            }
            Ok((entries, total, logins))
        })
        .await?;
    let entries: Vec<AuditRow> = entries
        .into_iter()
        .map(|entry| {
            let detail: serde_json::Value =
                serde_json::from_str(&entry.detail).unwrap_or(serde_json::Value::Null);
            let details = match &detail {
                serde_json::Value::Object(fields) => fields
                    .iter()
                    .map(|(name, value)| format!("{name}: {}", detail_text(value)))
                    .collect(),
                serde_json::Value::Null => Vec::new(),
                other => vec![detail_text(other)],
            };
            AuditRow {
                at: when(&iso_time(entry.at)),
                actor: entry.actor_id.as_ref().map_or_else(
                    || page.text("admin.system"),
                    |id| logins.get(id).cloned().unwrap_or_else(|| id.clone()),
                ),
                action: page.code("audit", &entry.action),
                subject_kind: page.code("subject", &entry.subject_kind),
                subject_id: entry.subject_id,
                details,
            }
        })
        .collect();
    let pager = Pager::new(&page, paging, entries.len(), total, "page");
    page.render(
        "console/audit",
        &page.text("admin.audit_title"),
        AuditPage { entries, pager },
    )
    .await
}
