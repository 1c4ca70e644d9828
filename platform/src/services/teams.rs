//! Teams as their members see them, and who may act for a team.

use serde::Serialize;

use crate::auth::CurrentUser;
use crate::db::DbConnection;
use crate::db::ids::{InvitationId, OrganizationId, ScenarioId, SubmissionId, TeamId, UserId};
use crate::db::models::notifications::{self, Notice, NotificationKind};
use crate::db::models::submissions::{Submission, SubmissionStage};
use crate::db::models::teams::{
    self, Invitation, InvitationStatus, Member, MemberRole, Team, TeamKind,
};
use crate::error::AppError;
use crate::time::iso_time;

#[derive(Debug, Serialize)]
pub struct TeamView {
    pub id: TeamId,
    pub name: String,
    pub kind: TeamKind,
    pub institution: String,
    /// The institution's organisation record: its account and statement
    /// (`/organizations/{id}`).
    pub organization_id: Option<OrganizationId>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<MemberView>>,
}

impl TeamView {
    pub fn new(team: Team, members: Option<Vec<Member>>) -> Self {
        Self {
            id: team.id,
            name: team.name,
            kind: team.kind,
            institution: team.institution,
            organization_id: team.organization_id,
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
pub fn team_for_member(
    conn: &mut DbConnection,
    id: &TeamId,
    user: &CurrentUser,
) -> Result<Team, AppError> {
    let team = teams::find(conn, id)?.ok_or_else(|| AppError::missing("team", id))?;
    if user.sees_all_work() || teams::role_of(conn, id, &user.id)?.is_some() {
        Ok(team)
    } else {
        Err(AppError::forbidden(
            "team_members_only",
            format!("only members of team `{id}` may see this"),
        )
        .with("team", id))
    }
}

/// Invites a person by login to the team: only its owners may (the API's and the team
/// page's rule).
pub fn invite_member(
    conn: &mut DbConnection,
    team: &TeamId,
    login: &str,
    user: &CurrentUser,
) -> Result<Invitation, AppError> {
    let found = team_for_member(conn, team, user)?;
    if teams::role_of(conn, team, &user.id)? != Some(MemberRole::Owner) {
        return Err(AppError::forbidden(
            "team_owners_only",
            "only the team's owners may invite",
        ));
    }
    let invitation = teams::invite(conn, team, login.trim(), &user.id)?;
    notifications::notify(
        conn,
        std::slice::from_ref(&invitation.invitee_id),
        &Notice {
            kind: NotificationKind::Invitation,
            params: serde_json::json!({
                "team_id": found.id,
                "team": found.name,
                "inviter": user.login,
            }),
            link: "/invitations".to_owned(),
        },
    )?;
    Ok(invitation)
}
