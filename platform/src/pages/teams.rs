//! `/teams/{id}` (members, invitations, enrolments, recent submissions, the invite form)
//! and `/invitations` (accept or decline), on the API's rules.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::CurrentUser;
use crate::auth::session::CsrfForm;
use crate::db::ids::{InvitationId, TeamId};
use crate::db::models::teams::{InvitationStatus, MemberRole};
use crate::db::models::{enrolments, submissions, teams, users};
use crate::error::AppError;
use crate::pages::paging::{Pager, ROWS_PER_PAGE, page_number};
use crate::pages::scenarios::when;
use crate::pages::{PageContext, see_other};
use crate::services::teams::{invite_member, team_for_member};
use crate::time::iso_time;

#[derive(Serialize)]
struct Row {
    cells: Vec<String>,
    link: Option<String>,
}

#[derive(Serialize)]
struct TeamPage {
    id: String,
    name: String,
    institution: String,
    /// The institution's account page, for its members.
    organization: Option<String>,
    members: Vec<Row>,
    invitations: Vec<Row>,
    invitations_pager: Pager,
    enrolments: Vec<Row>,
    enrolments_pager: Pager,
    submissions: Vec<Row>,
    submissions_pager: Pager,
    is_owner: bool,
    /// The viewer is a member (judges and admins may read a team they are not in).
    is_member: bool,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TeamQuery {
    pub invited: Option<String>,
    pub created: Option<String>,
    /// The leave form came back without its confirmation box ticked.
    pub confirm_leave: Option<String>,
    /// The page of submissions (newest first).
    pub page: Option<u32>,
    pub enrolments_page: Option<u32>,
    pub invitations_page: Option<u32>,
    /// Rows of each list.
    pub per_page: Option<u32>,
}

/// `GET /teams/{id}` — members, judges and admins.
pub async fn show(
    page: PageContext,
    user: CurrentUser,
    path: web::Path<TeamId>,
    query: web::Query<TeamQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (names, lang) = (std::sync::Arc::clone(&page.state.site.catalogs), page.lang);
    let rows = |number| page_number(number, query.per_page, ROWS_PER_PAGE);
    let (submitted, enrolled) = (rows(query.page)?, rows(query.enrolments_page)?);
    let invited = rows(query.invitations_page)?;
    let (view, totals) = page
        .state
        .db
        .read(move |conn| {
            let team = team_for_member(conn, &id, &user)?;
            let role = teams::role_of(conn, &id, &user.id)?;
            let is_owner = role == Some(MemberRole::Owner);
            let members = teams::members(conn, &id)?;
            let (pending, pending_total) =
                teams::invitations_of_team(conn, &id, Some(InvitationStatus::Pending), invited)?;
            let mut invitations = Vec::new();
            for invitation in pending {
                let login = users::find(conn, &invitation.invitee_id)?
                    .map_or_else(|| invitation.invitee_id.0.clone(), |u| u.login);
                invitations.push(Row {
                    cells: vec![login, when(&iso_time(invitation.created_at))],
                    link: None,
                });
            }
            let (enrolments, enrolments_total) = enrolments::for_team(conn, &id, enrolled)?;
            let (recent, submissions_total) = submissions::for_team(conn, &id, submitted)?;
            let view = TeamPage {
                id: team.id.0.clone(),
                name: team.name,
                institution: team.institution,
                organization: team.organization_id.map(|id| id.0),
                members: members
                    .into_iter()
                    .map(|m| Row {
                        cells: vec![
                            m.display_name,
                            m.login,
                            names.code(lang, "role", m.role.as_str()),
                        ],
                        link: None,
                    })
                    .collect(),
                invitations,
                invitations_pager: Pager::default(),
                enrolments: enrolments
                    .into_iter()
                    .map(|e| Row {
                        link: Some(format!("/scenarios/{}", e.scenario_id)),
                        cells: vec![e.scenario_id.0, when(&iso_time(e.created_at))],
                    })
                    .collect(),
                enrolments_pager: Pager::default(),
                submissions: recent
                    .into_iter()
                    .map(|s| Row {
                        link: Some(format!("/submissions/{}", s.id)),
                        cells: vec![
                            s.id.0,
                            s.scenario_id.0,
                            names.code(lang, "stage", s.status.as_str()),
                            when(&iso_time(s.created_at)),
                        ],
                    })
                    .collect(),
                submissions_pager: Pager::default(),
                is_owner,
                is_member: role.is_some(),
                notice: None,
                error: None,
            };
            Ok((view, (pending_total, enrolments_total, submissions_total)))
        })
        .await?;
    let (pending_total, enrolments_total, submissions_total) = totals;
    let view = TeamPage {
        notice: if query.created.is_some() {
            Some(page.text("team.created"))
        } else {
            query.invited.is_some().then(|| page.text("team.invited"))
        },
        error: query
            .confirm_leave
            .is_some()
            .then(|| page.text("team.confirm_leave_missing")),
        invitations_pager: Pager::new(
            &page,
            invited,
            view.invitations.len(),
            pending_total,
            "invitations_page",
        ),
        enrolments_pager: Pager::new(
            &page,
            enrolled,
            view.enrolments.len(),
            enrolments_total,
            "enrolments_page",
        ),
        submissions_pager: Pager::new(
            &page,
            submitted,
            view.submissions.len(),
            submissions_total,
            "page",
        ),
        ..view
    };
    let title = view.name.clone();
    page.render("pages/team", &title, view).await
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    pub login: String,
}

/// `POST /teams/{id}/invitations` — the team's owners.
pub async fn invite(
    page: PageContext,
    user: CurrentUser,
    path: web::Path<TeamId>,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let team = id.clone();
    page.state
        .db
        .write(move |conn| invite_member(conn, &team, &form.login, &user))
        .await?;
    Ok(see_other(&format!("/teams/{id}?invited=1")))
}

#[derive(Serialize)]
struct InvitationRow {
    id: String,
    team: String,
    institution: String,
    /// "张三 (@zhang)": who sent it.
    invited_by: String,
    since: String,
}

#[derive(Serialize)]
struct InvitationsPage {
    invitations: Vec<InvitationRow>,
    pager: Pager,
}

#[derive(Debug, Deserialize)]
pub struct InvitationsQuery {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// `GET /invitations` — the signed-in user's pending invitations.
pub async fn invitations(
    page: PageContext,
    user: CurrentUser,
    query: web::Query<InvitationsQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = page_number(query.page, query.per_page, ROWS_PER_PAGE)?;
    let (rows, total) = page
        .state
        .db
        .read(move |conn| {
            let mut rows = Vec::new();
            let (pending, total) = teams::pending_invitations_for(conn, &user.id, paging)?;
            for invitation in pending {
                let (team, institution) = teams::find(conn, &invitation.team_id)?.map_or_else(
                    || (invitation.team_id.0.clone(), String::new()),
                    |t| (t.name, t.institution),
                );
                let invited_by = users::find(conn, &invitation.invited_by)?.map_or_else(
                    || invitation.invited_by.0.clone(),
                    |u| format!("{} (@{})", u.display_name, u.login),
                );
                rows.push(InvitationRow {
                    id: invitation.id.0.clone(),
                    team,
                    institution,
                    invited_by,
                    since: when(&iso_time(invitation.created_at)),
                });
            }
            Ok((rows, total))
        })
        .await?;
    let title = page.text("invitations.title");
    let pager = Pager::new(&page, paging, rows.len(), total, "page");
    page.render(
        "pages/invitations",
        &title,
        InvitationsPage {
            invitations: rows,
            pager,
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

/// `POST /invitations/{id}/accept|decline` — the invitee.
pub async fn respond(
    page: PageContext,
    user: CurrentUser,
    path: web::Path<(InvitationId, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    let (id, answer) = path.into_inner();
    let accept = match answer.as_str() {
        "accept" => true,
        "decline" => false,
        _ => return Err(AppError::missing("page", "")),
    };
    let team = page
        .state
        .db
        .write(move |conn| {
            let invitation = teams::find_invitation(conn, &id)?
                .ok_or_else(|| AppError::missing("invitation", &id))?;
            teams::respond(conn, &invitation, &user.id, accept)?;
            Ok(invitation.team_id)
        })
        .await?;
    // A new member goes to the team's page; a declined invitation back to the list.
    Ok(see_other(&if accept {
        format!("/teams/{team}")
    } else {
        "/invitations".to_owned()
    }))
}
