//! `/teams` (the signed-in person's teams and the create-team form) and leaving a team:
//! the team path's pages around `/teams/{id}`, on the same rules as `/api/v1/teams`.

use actix_web::{HttpResponse, http::StatusCode, web};
use serde::{Deserialize, Serialize};

use crate::auth::CurrentUser;
use crate::auth::session::CsrfForm;
use crate::db::ids::TeamId;
use crate::db::models::teams::{self, TeamForm, TeamKind};
use crate::error::AppError;
use crate::pages::{PageContext, see_other};

#[derive(Serialize)]
struct TeamRow {
    id: String,
    name: String,
    institution: String,
    kind: String,
    role: String,
}

#[derive(Serialize)]
struct KindChoice {
    value: &'static str,
    label: String,
    selected: bool,
}

/// What the person typed, kept exactly as typed, and what is wrong with each field.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct CreateTeamForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub institution: String,
}

#[derive(Default, Serialize)]
struct FieldErrors {
    name: Option<String>,
    kind: Option<String>,
    institution: Option<String>,
}

#[derive(Serialize)]
struct MyTeamsPage {
    teams: Vec<TeamRow>,
    pending_invitations: usize,
    kinds: Vec<KindChoice>,
    fields: CreateTeamForm,
    errors: FieldErrors,
    notice: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct MyTeamsQuery {
    pub left: Option<String>,
}

/// `GET /teams` — the teams of the signed-in person and the form that creates one.
pub async fn index(
    page: PageContext,
    user: CurrentUser,
    query: web::Query<MyTeamsQuery>,
) -> Result<HttpResponse, AppError> {
    let notice = query.left.is_some().then(|| page.text("my_teams.left"));
    render(
        &page,
        user,
        CreateTeamForm::default(),
        FieldErrors::default(),
        notice,
    )
    .await
}

async fn render(
    page: &PageContext,
    user: CurrentUser,
    fields: CreateTeamForm,
    errors: FieldErrors,
    notice: Option<String>,
) -> Result<HttpResponse, AppError> {
    let (rows, pending) = page
        .state
        .db
        .read(move |conn| {
            let mut rows = Vec::new();
            for team in teams::for_user(conn, &user.id)? {
                let role = teams::role_of(conn, &team.id, &user.id)?;
                rows.push((team, role));
            }
            let page_one = crate::services::paging::page_of(Some(1), Some(100))?;
            let (_, pending) = teams::pending_invitations_for(conn, &user.id, page_one)?;
            Ok((rows, pending))
        })
        .await?;
    let view = MyTeamsPage {
        teams: rows
            .into_iter()
            .map(|(team, role)| TeamRow {
                id: team.id.0,
                name: team.name,
                institution: team.institution,
                kind: page.code("team_kind", team.kind.as_str()),
                role: role.map_or_else(String::new, |r| page.code("role", r.as_str())),
            })
            .collect(),
        pending_invitations: usize::try_from(pending).unwrap_or(0),
        kinds: [TeamKind::University, TeamKind::Company]
            .into_iter()
            .map(|kind| KindChoice {
                value: kind.as_str(),
                label: page.code("team_kind", kind.as_str()),
                selected: fields.kind == kind.as_str(),
            })
            .collect(),
        fields,
        errors,
        notice,
    };
    let title = page.text("my_teams.title");
    page.render("pages/my_teams", &title, view).await
}

/// Every problem of the form at once, each in the visitor's language, beside its field.
fn check(page: &PageContext, form: &CreateTeamForm) -> (FieldErrors, Option<TeamKind>) {
    let text_problem = |field: &str, value: &str, max: usize| {
        crate::validate::text(field, value, max).err().map(|_| {
            page.text("my_teams.field_required")
                .replace("{max}", &max.to_string())
        })
    };
    let kind = form.kind.parse::<TeamKind>().ok();
    let errors = FieldErrors {
        name: text_problem("name", &form.name, 100),
        kind: kind.is_none().then(|| page.text("my_teams.kind_required")),
        institution: text_problem("institution", &form.institution, 200),
    };
    (errors, kind)
}

/// `POST /teams` — any signed-in person creates a team and becomes its owner; a refused
/// form comes back with every problem beside its field and the typed values kept.
pub async fn create(
    page: PageContext,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<CreateTeamForm>,
) -> Result<HttpResponse, AppError> {
    let (errors, kind) = check(&page, &form);
    let Some(kind) = kind.filter(|_| errors.name.is_none() && errors.institution.is_none()) else {
        return refused(&page, user, form, errors).await;
    };
    let team_form = TeamForm {
        name: form.name.clone(),
        kind,
        institution: form.institution.clone(),
    };
    let creator = user.id.clone();
    let created = page
        .state
        .db
        .write(move |conn| teams::create(conn, team_form, &creator))
        .await;
    match created {
        Ok(team) => Ok(see_other(&format!("/teams/{}?created=1", team.id))),
        Err(error @ AppError::Conflict { .. }) => {
            let errors = FieldErrors {
                name: Some(page.error_text(&error)),
                ..FieldErrors::default()
            };
            refused(&page, user, form, errors).await
        }
        Err(other) => Err(other),
    }
}

/// The form again, as typed, with its problems: 422.
async fn refused(
    page: &PageContext,
    user: CurrentUser,
    form: CreateTeamForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let mut response = render(page, user, form, errors, None).await?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct LeaveForm {
    /// The confirmation box: leaving takes the person off the team's work at once.
    pub confirm: Option<String>,
}

/// `POST /teams/{id}/leave` — a member leaves after ticking the confirmation box.
pub async fn leave(
    page: PageContext,
    user: CurrentUser,
    path: web::Path<TeamId>,
    CsrfForm(form): CsrfForm<LeaveForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    if form.confirm.as_deref() != Some("yes") {
        return Ok(see_other(&format!("/teams/{id}?confirm_leave=1")));
    }
    let team = id.clone();
    page.state
        .db
        .write(move |conn| {
            teams::find(conn, &team)?.ok_or_else(|| AppError::missing("team", &team))?;
            teams::leave(conn, &team, &user.id)
        })
        .await?;
    Ok(see_other("/teams?left=1"))
}
