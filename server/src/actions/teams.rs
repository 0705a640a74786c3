//! Team use cases: see who is in one's team, invite people by link, join another team
//! by its link, leave; and the administrator's: open or close sign-up without an invite.

use std::time::Duration;

use crate::auth::CurrentUser;
use crate::db::{self, teams, users};
use crate::error::ApiError;
use crate::state::AppState;

/// How long an invite link stays open.
pub const INVITE_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// Open invite links a team may have at once.
pub const MAX_OPEN_INVITES: usize = 50;

/// What the team page shows.
pub struct Team {
    pub name: String,
    pub members: Vec<teams::MemberRow>,
    pub invites: Vec<teams::InviteRow>,
    /// The viewer's own account.
    pub me: users::UserRow,
    pub signup_open: bool,
}

async fn me(state: &AppState, user: &CurrentUser) -> Result<users::UserRow, ApiError> {
    users::find_by_id(&state.db.read, user.id)
        .await?
        .ok_or(ApiError::Unauthorized)
}

/// The viewer's account and the name of their team, as stored now.
pub async fn membership(
    state: &AppState,
    user: &CurrentUser,
) -> Result<(users::UserRow, String), ApiError> {
    let me = me(state, user).await?;
    let name = teams::name(&state.db.read, me.org_id).await?;
    Ok((me, name.unwrap_or_default()))
}

/// The viewer's team, as stored now (not as the session remembers it).
pub async fn team(state: &AppState, user: &CurrentUser) -> Result<Team, ApiError> {
    let me = me(state, user).await?;
    let pool = &state.db.read;
    let name = teams::name(pool, me.org_id).await?.unwrap_or_default();
    Ok(Team {
        name,
        members: teams::members(pool, me.org_id).await?,
        invites: teams::open_invites(pool, me.org_id, db::now_millis()).await?,
        signup_open: teams::signup_open(pool).await?,
        me,
    })
}

/// Makes an invite link's secret for the viewer's team; it is shown this once.
pub async fn create_invite(state: &AppState, user: &CurrentUser) -> Result<String, ApiError> {
    let me = me(state, user).await?;
    let now = db::now_millis();
    if teams::open_invites(&state.db.read, me.org_id, now)
        .await?
        .len()
        >= MAX_OPEN_INVITES
    {
        return Err(ApiError::invalid(
            "invite",
            format!("a team may have {MAX_OPEN_INVITES} open invite links; revoke one first"),
        ));
    }
    let expires_at = now + INVITE_LIFETIME.as_millis() as i64;
    let secret = teams::create_invite(&state.db.write, me.org_id, me.id, now, expires_at).await?;
    tracing::info!(user_id = me.id, org_id = me.org_id, "invite created");
    Ok(secret)
}

/// Revokes an open invite of the viewer's team.
pub async fn revoke_invite(state: &AppState, user: &CurrentUser, id: i64) -> Result<(), ApiError> {
    let me = me(state, user).await?;
    if teams::revoke_invite(&state.db.write, me.org_id, id, db::now_millis()).await? {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// The team (its id and name) an open invite is for.
pub async fn invite_team(state: &AppState, secret: &str) -> Result<(i64, String), ApiError> {
    let secret = secret.trim();
    if secret.is_empty() || secret.len() > 200 {
        return Err(ApiError::NotFound);
    }
    teams::find_invite(&state.db.read, secret, db::now_millis())
        .await?
        .ok_or(ApiError::NotFound)
}

/// Moves the viewer's account into the team of the open invite `secret`, spending it.
/// As when leaving, the viewer stops seeing the old team's tasks at once (but for those
/// they made): every session ends, and the new token returned starts a fresh one.
pub async fn join(
    state: &AppState,
    user: &CurrentUser,
    secret: &str,
) -> Result<(users::UserRow, String), ApiError> {
    let me = me(state, user).await?;
    let secret = secret.trim();
    let (org, name) = match invite_team(state, secret).await {
        Err(ApiError::NotFound) => return Err(super::accounts::invite_not_open()),
        other => other?,
    };
    if org == me.org_id {
        return Err(ApiError::invalid(
            "invite",
            format!("you are a member of {name} already"),
        ));
    }
    // Spending the invite, the move and the end of the sessions are one.
    super::accounts::end_sessions(state, me.id, None, users::SessionsEnd::Invite(secret)).await?;
    tracing::info!(
        user_id = me.id,
        from = me.org_id,
        to = org,
        "joined a team by invite"
    );
    new_session(state, me.id).await
}

/// Leaves the team for a new one of the viewer's own. The viewer stops seeing the old
/// team's tasks at once: every session ends (and every socket closes, since a socket
/// knows its team from when it opened); the new token returned continues this one.
pub async fn leave(
    state: &AppState,
    user: &CurrentUser,
) -> Result<(users::UserRow, String), ApiError> {
    let me = me(state, user).await?;
    let members = teams::members(&state.db.read, me.org_id).await?;
    if members.iter().all(|m| m.id == me.id) {
        return Err(ApiError::invalid(
            "team",
            "you are the only member of this team; there is nobody to leave",
        ));
    }
    let org = teams::create_own(&state.db.write, &me.username, me.id).await?;
    // A crash before the move leaves an empty team behind, nothing more; the move and
    // the end of the sessions are one.
    super::accounts::end_sessions(state, me.id, None, users::SessionsEnd::Team(org)).await?;
    tracing::info!(user_id = me.id, from = me.org_id, to = org, "left a team");
    new_session(state, me.id).await
}

/// The account as stored now, with a token that starts a new session of it.
async fn new_session(state: &AppState, id: i64) -> Result<(users::UserRow, String), ApiError> {
    let row = users::find_by_id(&state.db.write, id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let token = state.keys.issue(&row);
    Ok((row, token))
}

/// Opens or closes sign-up without an invite; an administrator's.
pub async fn set_signup_open(
    state: &AppState,
    user: &CurrentUser,
    open: bool,
) -> Result<(), ApiError> {
    super::accounts::require_admin(state, user).await?;
    teams::set_signup_open(&state.db.write, open).await?;
    tracing::info!(user_id = user.id, open, "sign-up changed");
    Ok(())
}

/// Whether anyone may sign up without an invite.
pub async fn signup_open(state: &AppState) -> Result<bool, ApiError> {
    Ok(teams::signup_open(&state.db.read).await?)
}
