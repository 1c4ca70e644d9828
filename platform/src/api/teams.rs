//! Team routes: create, invite, accept, leave, and a team's own enrolments and submissions.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::api::input::{Json, Query};
use crate::api::scenarios::EnrolmentView;
use crate::api::{PageQuery, Paginated, iso_time, page_of};
use crate::auth::CurrentUser;
use crate::db::DbConnection;
use crate::db::ids::{InvitationId, ScenarioId, SubmissionId, TeamId, UserId};
use crate::db::models::enrolments;
use crate::db::models::submissions::{self, Submission, SubmissionStage};
use crate::db::models::teams::{
    self, Invitation, InvitationStatus, Member, MemberRole, Team, TeamForm, TeamKind,
};
use crate::error::AppError;
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct TeamView {
    pub id: TeamId,
    pub name: String,
    pub kind: TeamKind,
    pub institution: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<MemberView>>,
}

impl TeamView {
    fn new(team: Team, members: Option<Vec<Member>>) -> Self {
        Self {
            id: team.id,
            name: team.name,
            kind: team.kind,
            institution: team.institution,
            created_at: iso_time(team.created_at),
            members: members.map(|all| all.into_iter().map(MemberView::from).collect()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct MemberView {
    pub user_id: UserId,
    pub login: String,
    pub display_name: String,
    pub role: MemberRole,
    pub joined_at: String,
}

impl From<Member> for MemberView {
    fn from(member: Member) -> Self {
        Self {
            user_id: member.user_id,
            login: member.login,
            display_name: member.display_name,
            role: member.role,
            joined_at: iso_time(member.joined_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct InvitationView {
    pub id: InvitationId,
    pub team_id: TeamId,
    pub invitee_id: UserId,
    pub invited_by: UserId,
    pub status: InvitationStatus,
    pub created_at: String,
}

impl From<Invitation> for InvitationView {
    fn from(invitation: Invitation) -> Self {
        Self {
            id: invitation.id,
            team_id: invitation.team_id,
            invitee_id: invitation.invitee_id,
            invited_by: invitation.invited_by,
            status: invitation.status,
            created_at: iso_time(invitation.created_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SubmissionView {
    pub id: SubmissionId,
    pub scenario_id: ScenarioId,
    pub team_id: TeamId,
    pub image_digest: String,
    pub image_size: i64,
    pub status: SubmissionStage,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Submission> for SubmissionView {
    fn from(submission: Submission) -> Self {
        Self {
            id: submission.id,
            scenario_id: submission.scenario_id,
            team_id: submission.team_id,
            image_digest: submission.image_digest,
            image_size: submission.image_size,
            status: submission.status,
            created_at: iso_time(submission.created_at),
            updated_at: iso_time(submission.updated_at),
        }
    }
}

/// The team, if the caller is a member (or sees all work as judge or admin).
pub(crate) fn team_for_member(
    conn: &mut DbConnection,
    id: &TeamId,
    user: &CurrentUser,
) -> Result<Team, AppError> {
    let team =
        teams::find(conn, id)?.ok_or_else(|| AppError::not_found(format_args!("team `{id}`")))?;
    if user.sees_all_work() || teams::role_of(conn, id, &user.id)?.is_some() {
        Ok(team)
    } else {
        Err(AppError::forbidden(format!(
            "only members of team `{id}` may see this"
        )))
    }
}

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
pub async fn mine(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let items = state
        .db
        .read(move |conn| {
            Ok(teams::for_user(conn, &user.id)?
                .into_iter()
                .map(|team| TeamView::new(team, None))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
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
        .write(move |conn| {
            team_for_member(conn, &id, &user)?;
            if teams::role_of(conn, &id, &user.id)? != Some(MemberRole::Owner) {
                return Err(AppError::forbidden("only the team's owners may invite"));
            }
            teams::invite(conn, &id, &form.login, &user.id)
        })
        .await?;
    Ok(HttpResponse::Created().json(InvitationView::from(invitation)))
}

/// `GET /api/v1/teams/{id}/invitations` — members.
pub async fn team_invitations(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<TeamId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let items = state
        .db
        .read(move |conn| {
            team_for_member(conn, &id, &user)?;
            Ok(teams::invitations_of_team(conn, &id)?
                .into_iter()
                .map(InvitationView::from)
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// `GET /api/v1/invitations` — the caller's pending invitations.
pub async fn my_invitations(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let items = state
        .db
        .read(move |conn| {
            Ok(teams::pending_invitations_for(conn, &user.id)?
                .into_iter()
                .map(InvitationView::from)
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
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
                .ok_or_else(|| AppError::not_found(format_args!("invitation `{id}`")))?;
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
            teams::find(conn, &id)?
                .ok_or_else(|| AppError::not_found(format_args!("team `{id}`")))?;
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
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let items = state
        .db
        .read(move |conn| {
            let team = team_for_member(conn, &id, &user)?;
            Ok(enrolments::for_team(conn, &id)?
                .into_iter()
                .map(|e| EnrolmentView::new(e, Some(team.name.clone())))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// `GET /api/v1/teams/{id}/submissions` — members, judges, admins; nobody else's.
pub async fn submissions(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<TeamId>,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let page = page_of(query.page, query.per_page)?;
    let body = state
        .db
        .read(move |conn| {
            team_for_member(conn, &id, &user)?;
            let (rows, total) = submissions::for_team(conn, &id, page)?;
            let items = rows.into_iter().map(SubmissionView::from).collect();
            Ok(Paginated::<SubmissionView>::new(items, page, total))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
