//! Team routes: create, invite, accept, leave, and a team's own enrolments and submissions.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::api::input::{Json, Query};
use crate::api::list_page;
use crate::auth::CurrentUser;
use crate::db::ids::{InvitationId, TeamId};
use crate::db::models::enrolments;
use crate::db::models::submissions;
use crate::db::models::teams::{self, TeamForm};
use crate::error::AppError;
use crate::services::paging::{PageQuery, Paginated};
use crate::services::scenarios::EnrolmentView;
use crate::services::teams::{
    InvitationView, SubmissionView, TeamView, invite_member, team_for_member,
};
use crate::state::AppState;

/// `POST /api/v1/teams` — any signed-in user; they become its owner.
pub async fn create(
    state: web::Data<AppState>,
    user: CurrentUser,
    Json(form): Json<TeamForm>,
) -> Result<HttpResponse, AppError> {
    let view = state
        .db
        .write(move |conn| {
            let team = teams::create(conn, form, &user.id)?;
            let members = teams::members(conn, &team.id)?;
            Ok(TeamView::new(team, Some(members)))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// `GET /api/v1/teams` — the caller's teams.
pub async fn mine(
    state: web::Data<AppState>,
    user: CurrentUser,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    list_page(&state, query, move |conn, page| {
        let rows = teams::for_user_paged(conn, &user.id, page)?;
        Ok(Paginated::of(rows, page, |team| TeamView::new(team, None)))
    })
    .await
}

/// `GET /api/v1/teams/{id}` — members, judges, admins.
pub async fn show(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<TeamId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let view = state
        .db
        .read(move |conn| {
            let team = team_for_member(conn, &id, &user)?;
            let members = teams::members(conn, &team.id)?;
            Ok(TeamView::new(team, Some(members)))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteForm {
    pub login: String,
}

/// `POST /api/v1/teams/{id}/invitations` — the team's owners.
pub async fn invite(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<TeamId>,
    Json(form): Json<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let invitation = state
        .db
        .write(move |conn| invite_member(conn, &id, &form.login, &user))
        .await?;
    Ok(HttpResponse::Created().json(InvitationView::from(invitation)))
}

/// `GET /api/v1/teams/{id}/invitations` — members.
pub async fn team_invitations(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<TeamId>,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    list_page(&state, query, move |conn, page| {
        team_for_member(conn, &id, &user)?;
        let rows = teams::invitations_of_team(conn, &id, None, page)?;
        Ok(Paginated::of(rows, page, InvitationView::from))
    })
    .await
}

/// `GET /api/v1/invitations` — the caller's pending invitations.
pub async fn my_invitations(
    state: web::Data<AppState>,
    user: CurrentUser,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    list_page(&state, query, move |conn, page| {
        let rows = teams::pending_invitations_for(conn, &user.id, page)?;
        Ok(Paginated::of(rows, page, InvitationView::from))
    })
    .await
}

async fn respond(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: InvitationId,
    accept: bool,
) -> Result<HttpResponse, AppError> {
    state
        .db
        .write(move |conn| {
            let invitation = teams::find_invitation(conn, &id)?
                .ok_or_else(|| AppError::missing("invitation", &id))?;
            teams::respond(conn, &invitation, &user.id, accept)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/invitations/{id}/accept` — the invitee.
pub async fn accept(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<InvitationId>,
) -> Result<HttpResponse, AppError> {
    respond(state, user, path.into_inner(), true).await
}

/// `POST /api/v1/invitations/{id}/decline` — the invitee.
pub async fn decline(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<InvitationId>,
) -> Result<HttpResponse, AppError> {
    respond(state, user, path.into_inner(), false).await
}

/// `POST /api/v1/teams/{id}/leave` — a member.
pub async fn leave(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<TeamId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    state
        .db
        .write(move |conn| {
            teams::find(conn, &id)?.ok_or_else(|| AppError::missing("team", &id))?;
            teams::leave(conn, &id, &user.id)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/teams/{id}/enrolments` — members, judges, admins.
pub async fn enrolments(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<TeamId>,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    list_page(&state, query, move |conn, page| {
        let team = team_for_member(conn, &id, &user)?;
        let rows = enrolments::for_team(conn, &id, page)?;
        Ok(Paginated::of(rows, page, |e| {
            EnrolmentView::new(e, Some(team.name.clone()))
        }))
    })
    .await
}

/// `GET /api/v1/teams/{id}/submissions` — members, judges, admins; nobody else's.
pub async fn submissions(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<TeamId>,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    list_page(&state, query, move |conn, page| {
        team_for_member(conn, &id, &user)?;
        let rows = submissions::for_team(conn, &id, page)?;
        Ok(Paginated::of(rows, page, SubmissionView::from))
    })
    .await
}
