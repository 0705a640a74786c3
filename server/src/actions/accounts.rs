//! Account use cases: sign up, sign in, refresh a session, change a password, end every
//! session; and the operator's: add an account, issue and revoke service tokens.

use crate::db::Pool;
pub use shared_protocol::api::{Credentials, PasswordChange, Signup};

use crate::auth::{self, CurrentUser};
use crate::db::users::SessionsEnd;
use crate::db::{self, service_tokens, sessions, teams, users};
use crate::error::ApiError;
use crate::rooms::sequencer::REVOKED_CHANNEL;
use crate::state::AppState;

/// An account an operator adds from the command line, in an org created if new.
pub struct NewAccount {
    pub username: String,
    pub password: String,
    pub display_name: Option<String>,
    pub org: String,
    /// An administrator (`Some(true)`), never one (`Some(false)`), or one if the
    /// installation has none yet (`None`).
    pub admin: Option<bool>,
}

/// Creates an account and signs it in: in the team whose invite it carries, or, while
/// open sign-up is on, in the default team.
pub async fn sign_up(
    state: &AppState,
    mut body: Signup,
) -> Result<(users::UserRow, String), ApiError> {
    let pool = &state.db.write;
    let user = match body.invite.take().filter(|i| !i.trim().is_empty()) {
        Some(invite) => {
            // What can be checked cheaply is checked before the password is hashed.
            let username = body.username.trim().to_lowercase();
            let display_name = display_name(&body, &username);
            auth::validate_signup(&username, &body.password, &display_name)?;
            if users::find_by_username(pool, &username).await?.is_some() {
                return Err(ApiError::UsernameTaken);
            }
            let invite = invite.trim();
            if teams::find_invite(pool, invite, db::now_millis())
                .await?
                .is_none()
            {
                return Err(invite_not_open());
            }
            create_account_in(pool, body, Place::Invite(invite), None).await?
        }
        None if !teams::signup_open(pool).await? => return Err(ApiError::SignupClosed),
        None => create_account(pool, body, None, None).await?,
    };
    let token = state.keys.issue(&user);
    Ok((user, token))
}

pub(crate) fn invite_not_open() -> ApiError {
    ApiError::invalid(
        "invite",
        "this invite link has been used, revoked or has expired; ask for a new one",
    )
}

fn display_name(body: &Signup, username: &str) -> String {
    body.display_name
        .clone()
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| username.to_owned())
}

/// Adds an account without signing it in, in the org named (created if new, once the
/// account is known to be valid).
pub async fn add_account(pool: &Pool, input: NewAccount) -> Result<users::UserRow, ApiError> {
    let signup = Signup {
        username: input.username,
        password: input.password,
        display_name: input.display_name,
        invite: None,
    };
    create_account(pool, signup, Some(input.org.trim()), input.admin).await
}

/// The account with the input's username, added first if there is none (what the demo
/// needs on every start).
pub async fn ensure_account(pool: &Pool, input: NewAccount) -> Result<users::UserRow, ApiError> {
    let username = input.username.trim().to_lowercase();
    if let Some(user) = users::find_by_username(pool, &username).await? {
        return Ok(user);
    }
    match add_account(pool, input).await {
        // Added by someone else in between.
        Err(ApiError::UsernameTaken) => users::find_by_username(pool, &username)
            .await?
            .ok_or(ApiError::UsernameTaken),
        other => other,
    }
}

/// Checks and stores a new account, in the org named or the default one.
async fn create_account(
    pool: &Pool,
    body: Signup,
    org: Option<&str>,
    admin: Option<bool>,
) -> Result<users::UserRow, ApiError> {
    let org = match org {
        Some(org) => {
            // Checked before the org is made, so a bad account leaves no empty org.
            let username = body.username.trim().to_lowercase();
            auth::validate_signup(&username, &body.password, &display_name(&body, &username))?;
            users::org_id(pool, org).await?
        }
        None => 1,
    };
    create_account_in(pool, body, Place::Org(org), admin).await
}

/// Where a new account goes.
enum Place<'a> {
    /// Into this org.
    Org(i64),
    /// Into the team of this open invite, which it spends.
    Invite(&'a str),
}

/// Checks and stores a new account in `place`. `admin` (for an org) says whether it is
/// an administrator; `None` makes it one if there is none yet.
async fn create_account_in(
    pool: &Pool,
    body: Signup,
    place: Place<'_>,
    admin: Option<bool>,
) -> Result<users::UserRow, ApiError> {
    let username = body.username.trim().to_lowercase();
    let display_name = display_name(&body, &username);
    auth::validate_signup(&username, &body.password, &display_name)?;
    let hash = auth::hash_password(body.password).await?;
    let (display_name, now) = (display_name.trim(), db::now_millis());
    let user = match place {
        Place::Org(org_id) => {
            users::insert_in_org(pool, &username, display_name, &hash, org_id, admin, now)
                .await?
                .ok_or(ApiError::UsernameTaken)?
        }
        Place::Invite(secret) => {
            match users::insert_by_invite(pool, secret, &username, display_name, &hash, now).await?
            {
                users::Invited::Made(user) => user,
                users::Invited::NotOpen => return Err(invite_not_open()),
                users::Invited::UsernameTaken => return Err(ApiError::UsernameTaken),
            }
        }
    };
    tracing::info!(user_id = user.id, org_id = user.org_id, "account created");
    Ok(user)
}

/// Checks credentials; the same answer for an unknown user and a wrong password.
pub async fn sign_in(
    state: &AppState,
    body: Credentials,
) -> Result<(users::UserRow, String), ApiError> {
    let username = body.username.trim().to_lowercase();
    // No account has a NUL in its name (and Postgres cannot be asked about one).
    let user = match username.contains('\0') {
        true => None,
        false => users::find_by_username(&state.db.read, &username).await?,
    };
    let Some(user) = user else {
        // Spend the same time as a real check, so timing does not reveal accounts.
        auth::burn_verification_time(body.password).await;
        return Err(ApiError::BadCredentials);
    };
    if !auth::verify_password(body.password, user.password_hash.clone()).await {
        return Err(ApiError::BadCredentials);
    }
    let token = state.keys.issue(&user);
    Ok((user, token))
}

/// Trades a valid (possibly expired, but recent) session token for a fresh one; a
/// revoked or too old session is `Unauthorized`, and its user must sign in again.
pub async fn refresh(state: &AppState, token: &str) -> Result<(users::UserRow, String), ApiError> {
    auth::renew_session(
        &state.db.read,
        &state.keys,
        token,
        state.settings.session_max_age,
    )
    .await?
    .ok_or(ApiError::Unauthorized)
}

/// Changes the password; every other session of the user ends. The session that asked
/// goes on: its sockets stay open and the new token returned continues it.
pub async fn change_password(
    state: &AppState,
    user: &CurrentUser,
    body: PasswordChange,
) -> Result<(users::UserRow, String), ApiError> {
    state
        .password_limits
        .check_key(&user.id)
        .map_err(crate::limits::refused)?;
    let row = users::find_by_id(&state.db.read, user.id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if !auth::verify_password(body.current_password, row.password_hash.clone()).await {
        return Err(ApiError::BadCredentials);
    }
    auth::validate_signup(&row.username, &body.new_password, &row.display_name)?;
    let hash = auth::hash_password(body.new_password).await?;
    end_sessions(
        state,
        user.id,
        Some(&user.session_id),
        SessionsEnd::Password(&hash),
    )
    .await?;
    let row = users::find_by_id(&state.db.read, user.id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let token = state.keys.issue_for_session(&row, &user.session_id);
    Ok((row, token))
}

/// Ends the session `token` belongs to (signing out on one device): its tokens stop
/// working and its open sockets close; the user's other sessions go on. A token that
/// expired but could still be renewed counts too: signing out must not leave such a
/// session behind. A token made before sessions had ids cannot be told from the
/// others, so all of them end. A token of no session that could still be used ends
/// nothing.
pub async fn end_session(state: &AppState, token: &str) -> Result<(), ApiError> {
    let Ok(claims) = state
        .keys
        .verify_for_refresh(token, state.settings.session_max_age)
    else {
        return Ok(());
    };
    let Ok(user_id) = claims.sub.parse::<i64>() else {
        return Ok(());
    };
    let session = users::find_session(&state.db.read, user_id, &claims.sid).await?;
    if !session.is_some_and(|s| s.holds(claims.ver)) {
        return Ok(());
    }
    if claims.sid.is_empty() {
        return revoke_sessions(state, user_id).await;
    }
    end_one_session(state, user_id, &claims.sid).await
}

async fn end_one_session(state: &AppState, user_id: i64, sid: &str) -> Result<(), ApiError> {
    let now = db::now_millis();
    // Past this, no token of the session could be used or renewed: one issued as late as
    // now (a renewal racing this end, a clock ahead) lives `session_ttl` and renews for
    // `session_max_age`; a day more for good measure.
    let usable_for = state.settings.session_max_age
        + state.settings.session_ttl
        + std::time::Duration::from_secs(24 * 3600);
    let keep_until = now + usable_for.as_millis() as i64;
    let revoked = crate::state::Revoked::Session(sid.to_owned());
    let payload = announcement(state, &revoked);
    let notify = payload.as_deref().map(|p| (REVOKED_CHANNEL, p));
    sessions::end(&state.db.write, sid, user_id, now, keep_until, notify).await?;
    let _ = state.revocations.send(revoked);
    Ok(())
}

/// On Postgres, what tells the sockets on every server that `revoked` ended (this one
/// hears it too: harmless); sent in the transaction that stores the end.
fn announcement(state: &AppState, revoked: &crate::state::Revoked) -> Option<String> {
    (state.db.store == db::Store::Postgres)
        .then(|| crate::rooms::sequencer::revocation_payload(revoked))
        .flatten()
}

/// Ends every session of a user: tokens stop working and open sockets close.
pub async fn revoke_sessions(state: &AppState, user_id: i64) -> Result<(), ApiError> {
    end_sessions(state, user_id, None, SessionsEnd::Only).await
}

/// Applies `change` and ends every session of a user but `keep` (a session id, when it
/// has one), all at once: tokens stop working, and open sockets close except those of
/// `keep`, whose client gets a new token continuing it.
pub(crate) async fn end_sessions(
    state: &AppState,
    user_id: i64,
    keep: Option<&str>,
    change: SessionsEnd<'_>,
) -> Result<(), ApiError> {
    let revoked = match keep {
        Some(sid) if !sid.is_empty() => crate::state::Revoked::AllBut {
            user_id,
            sid: sid.to_owned(),
        },
        _ => crate::state::Revoked::User(user_id),
    };
    let payload = announcement(state, &revoked);
    let notify = payload.as_deref().map(|p| (REVOKED_CHANNEL, p));
    if !users::end_sessions(&state.db.write, user_id, change, notify).await? {
        return Err(invite_not_open());
    }
    let _ = state.revocations.send(revoked);
    Ok(())
}

/// Issues a service token named `name` for an agent; the token is returned this once.
pub async fn issue_service_token(pool: &Pool, name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "name",
            "use 1 to 100 characters, none of them control characters",
        ));
    }
    service_tokens::create(pool, name, db::now_millis())
        .await?
        .ok_or(ApiError::TokenNameTaken)
}

/// Revokes the live service token named `name`; requests with it are refused from then on.
pub async fn revoke_service_token(pool: &Pool, name: &str) -> Result<(), ApiError> {
    if service_tokens::revoke(pool, name.trim(), db::now_millis()).await? {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// The names of live service tokens.
pub async fn service_token_names(pool: &Pool) -> Result<Vec<String>, ApiError> {
    let tokens = service_tokens::list(pool).await?;
    Ok(tokens.into_iter().map(|(name, _created)| name).collect())
}

/// Live service tokens and when each was made, for an administrator.
pub async fn service_tokens_for(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Vec<(String, i64)>, ApiError> {
    require_admin(state, user).await?;
    Ok(service_tokens::list(&state.db.read).await?)
}

/// The account behind `user`, refused unless it is an administrator's.
pub async fn require_admin(
    state: &AppState,
    user: &CurrentUser,
) -> Result<users::UserRow, ApiError> {
    let row = users::find_by_id(&state.db.read, user.id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if row.is_admin() {
        Ok(row)
    } else {
        Err(ApiError::Forbidden)
    }
}
