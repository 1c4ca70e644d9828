//! Teams, their members and invitations.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::DbConnection;
use crate::db::ids::{InvitationId, OrganizationId, TeamId, UserId};
use crate::db::models::{Page, audit, conflict_if_duplicate, organizations, paged, users};
use crate::db::now_millis;
use crate::db::schema::{team_invitations, team_members, teams, users as users_table};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = teams)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub kind: TeamKind,
    pub institution: String,
    pub created_by: UserId,
    pub created_at: i64,
    /// The institution's organisation record (`institution` is its name), which pays.
    pub organization_id: Option<OrganizationId>,
}

jiebang_scenarios::text_enum! {
    sql;
    /// Universities and companies take part alike; the kind is shown on boards.
    pub enum TeamKind: "team kind" {
        University = "university",
        Company = "company",
    }
}

jiebang_scenarios::text_enum! {
    sql;
    /// A member's standing in a team.
    pub enum MemberRole: "team role" {
        /// Invites members; a team keeps at least one while it has members.
        Owner = "owner",
        Member = "member",
    }
}

jiebang_scenarios::text_enum! {
    sql;
    /// Where an invitation to join a team stands.
    pub enum InvitationStatus: "invitation status" {
        Pending = "pending",
        Accepted = "accepted",
        Declined = "declined",
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamForm {
    pub name: String,
    pub kind: TeamKind,
    pub institution: String,
}

/// A member as shown to the team.
#[derive(Debug, Clone, Queryable, Serialize)]
pub struct Member {
    pub user_id: UserId,
    pub login: String,
    pub display_name: String,
    pub role: MemberRole,
    pub joined_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = team_invitations)]
pub struct Invitation {
    pub id: InvitationId,
    pub team_id: TeamId,
    pub invitee_id: UserId,
    pub invited_by: UserId,
    pub status: InvitationStatus,
    pub created_at: i64,
    pub responded_at: Option<i64>,
}

pub fn create(conn: &mut DbConnection, form: TeamForm, creator: &UserId) -> Result<Team, AppError> {
    crate::validate::text("name", &form.name, 100)?;
    crate::validate::text("institution", &form.institution, 200)?;
    let organization = organizations::institution_named(conn, &form.institution)?;
    let team = Team {
        id: TeamId::generate(),
        name: form.name.trim().to_owned(),
        kind: form.kind,
        institution: form.institution.trim().to_owned(),
        created_by: creator.clone(),
        created_at: now_millis(),
        organization_id: Some(organization),
    };
    diesel::insert_into(teams::table)
        .values(&team)
        .execute(conn)
        .map_err(conflict_if_duplicate(|| {
            AppError::conflict(
                "team_name_taken",
                format!("a team named `{}` exists", team.name),
            )
            .with("name", &team.name)
        }))?;
    add_member(conn, &team.id, creator, MemberRole::Owner)?;
    audit::record(
        conn,
        Some(creator),
        "team.create",
        "team",
        team.id.as_str(),
        serde_json::json!({"name": team.name, "kind": team.kind}),
    )?;
    Ok(team)
}

fn add_member(
    conn: &mut DbConnection,
    team: &TeamId,
    user: &UserId,
    role: MemberRole,
) -> QueryResult<()> {
    diesel::insert_into(team_members::table)
        .values((
            team_members::team_id.eq(team),
            team_members::user_id.eq(user),
            team_members::role.eq(role),
            team_members::joined_at.eq(now_millis()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &TeamId) -> QueryResult<Option<Team>> {
    teams::table
        .find(id)
        .select(Team::as_select())
        .first(conn)
        .optional()
}

/// A page of the user's teams, oldest first.
pub fn for_user_paged(
    conn: &mut DbConnection,
    user: &UserId,
    page: Page,
) -> QueryResult<(Vec<Team>, i64)> {
    paged!(
        conn,
        page,
        teams::table
            .inner_join(team_members::table)
            .filter(team_members::user_id.eq(user)),
        order: (teams::created_at.asc(), teams::id.asc()),
        select: Team::as_select(),
    )
}

/// Every team of the user, oldest first (a person is in a handful).
pub fn for_user(conn: &mut DbConnection, user: &UserId) -> QueryResult<Vec<Team>> {
    teams::table
        .inner_join(team_members::table)
        .filter(team_members::user_id.eq(user))
        .order(teams::created_at.asc())
        .select(Team::as_select())
        .load(conn)
}

/// The member's role in the team, or `None` for outsiders.
pub fn role_of(
    conn: &mut DbConnection,
    team: &TeamId,
    user: &UserId,
) -> QueryResult<Option<MemberRole>> {
    team_members::table
        .filter(team_members::team_id.eq(team))
        .filter(team_members::user_id.eq(user))
        .select(team_members::role)
        .first(conn)
        .optional()
}

pub fn members(conn: &mut DbConnection, team: &TeamId) -> QueryResult<Vec<Member>> {
    team_members::table
        .inner_join(users_table::table)
        .filter(team_members::team_id.eq(team))
        .order(team_members::joined_at.asc())
        .select((
            team_members::user_id,
            users_table::login,
            users_table::display_name,
            team_members::role,
            team_members::joined_at,
        ))
        .load(conn)
}

pub fn invite(
    conn: &mut DbConnection,
    team: &TeamId,
    invitee_login: &str,
    inviter: &UserId,
) -> Result<Invitation, AppError> {
    let invitee = users::find_by_login(conn, invitee_login)?.ok_or_else(|| {
        AppError::from(
            crate::validate::FieldProblem::new(
                "login",
                "unknown_user",
                format!("no user with login `{invitee_login}`"),
            )
            .with("login", invitee_login),
        )
    })?;
    if role_of(conn, team, &invitee.id)?.is_some() {
        return Err(AppError::conflict(
            "already_member",
            format!("`{invitee_login}` is already a member of this team"),
        )
        .with("login", invitee_login));
    }
    let pending: i64 = team_invitations::table
        .filter(team_invitations::team_id.eq(team))
        .filter(team_invitations::invitee_id.eq(&invitee.id))
        .filter(team_invitations::status.eq(InvitationStatus::Pending))
        .count()
        .get_result(conn)?;
    if pending > 0 {
        return Err(AppError::conflict(
            "already_invited",
            format!("`{invitee_login}` already has a pending invitation to this team"),
        )
        .with("login", invitee_login));
    }
    let invitation = Invitation {
        id: InvitationId::generate(),
        team_id: team.clone(),
        invitee_id: invitee.id,
        invited_by: inviter.clone(),
        status: InvitationStatus::Pending,
        created_at: now_millis(),
        responded_at: None,
    };
    diesel::insert_into(team_invitations::table)
        .values(&invitation)
        .execute(conn)?;
    audit::record(
        conn,
        Some(inviter),
        "team.invite",
        "team",
        team.as_str(),
        serde_json::json!({"invitation_id": invitation.id, "invitee_id": invitation.invitee_id}),
    )?;
    Ok(invitation)
}

pub fn find_invitation(
    conn: &mut DbConnection,
    id: &InvitationId,
) -> QueryResult<Option<Invitation>> {
    team_invitations::table
        .find(id)
        .select(Invitation::as_select())
        .first(conn)
        .optional()
}

/// A page of the user's pending invitations, oldest first.
pub fn pending_invitations_for(
    conn: &mut DbConnection,
    user: &UserId,
    page: Page,
) -> QueryResult<(Vec<Invitation>, i64)> {
    paged!(
        conn,
        page,
        team_invitations::table
            .filter(team_invitations::invitee_id.eq(user))
            .filter(team_invitations::status.eq(InvitationStatus::Pending)),
        order: (team_invitations::created_at.asc(), team_invitations::id.asc()),
        select: Invitation::as_select(),
    )
}

/// A page of a team's invitations (only those still pending when `status` says so),
/// oldest first.
pub fn invitations_of_team(
    conn: &mut DbConnection,
    team: &TeamId,
    status: Option<InvitationStatus>,
    page: Page,
) -> QueryResult<(Vec<Invitation>, i64)> {
    let of_team = || {
        let mut query = team_invitations::table
            .filter(team_invitations::team_id.eq(team.clone()))
            .into_boxed();
        if let Some(status) = status {
            query = query.filter(team_invitations::status.eq(status));
        }
        query
    };
    paged!(
        conn,
        page,
        of_team(),
        order: (team_invitations::created_at.asc(), team_invitations::id.asc()),
        select: Invitation::as_select(),
    )
}

/// Accepts or declines; only the invitee may answer, and only once.
pub fn respond(
    conn: &mut DbConnection,
    invitation: &Invitation,
    user: &UserId,
    accept: bool,
) -> Result<(), AppError> {
    if &invitation.invitee_id != user {
        return Err(AppError::missing("invitation", &invitation.id));
    }
    if invitation.status != InvitationStatus::Pending {
        return Err(AppError::conflict(
            "invitation_closed",
            format!("this invitation was already {}", invitation.status),
        )
        .with("status", invitation.status));
    }
    let status = if accept {
        InvitationStatus::Accepted
    } else {
        InvitationStatus::Declined
    };
    diesel::update(team_invitations::table.find(&invitation.id))
        .set((
            team_invitations::status.eq(status),
            team_invitations::responded_at.eq(now_millis()),
        ))
        .execute(conn)?;
    if accept && role_of(conn, &invitation.team_id, user)?.is_none() {
        add_member(conn, &invitation.team_id, user, MemberRole::Member)?;
    }
    audit::record(
        conn,
        Some(user),
        if accept { "team.join" } else { "team.decline" },
        "team",
        invitation.team_id.as_str(),
        serde_json::json!({"invitation_id": invitation.id}),
    )?;
    Ok(())
}

/// Leaves a team. The last owner cannot leave members behind without an owner.
pub fn leave(conn: &mut DbConnection, team: &TeamId, user: &UserId) -> Result<(), AppError> {
    let role = role_of(conn, team, user)?.ok_or_else(|| {
        AppError::forbidden("not_team_member", "you are not a member of this team")
    })?;
    let members = members(conn, team)?;
    let other_owners = members
        .iter()
        .filter(|m| m.role == MemberRole::Owner && &m.user_id != user)
        .count();
    if role == MemberRole::Owner && other_owners == 0 && members.len() > 1 {
        return Err(AppError::conflict(
            "last_owner",
            "you are the team's only owner; the other members would be left without one",
        ));
    }
    diesel::delete(
        team_members::table
            .filter(team_members::team_id.eq(team))
            .filter(team_members::user_id.eq(user)),
    )
    .execute(conn)?;
    audit::record(
        conn,
        Some(user),
        "team.leave",
        "team",
        team.as_str(),
        serde_json::json!({}),
    )?;
    Ok(())
}

/// Whether the user is in a team of the organisation (a member of an institution).
pub fn in_organization(
    conn: &mut DbConnection,
    organization: &OrganizationId,
    user: &UserId,
) -> QueryResult<bool> {
    let n: i64 = teams::table
        .inner_join(team_members::table)
        .filter(teams::organization_id.eq(organization))
        .filter(team_members::user_id.eq(user))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The names of these teams, for listings that show a team by name.
pub fn names(
    conn: &mut DbConnection,
    ids: &[TeamId],
) -> QueryResult<std::collections::HashMap<TeamId, String>> {
    Ok(teams::table
        .filter(teams::id.eq_any(ids))
        .select((teams::id, teams::name))
        .load::<(TeamId, String)>(conn)?
        .into_iter()
        .collect())
}
