//! The pages' backend: what the UI's server functions call, implemented with the same
//! services as the JSON API; and the renewal of expired sessions on the way in.

use app::api::backend::Backend;
use app::api::{
    Account, AppError, DashboardPage, Invite, Member, ServiceToken, SignedIn, SignupInfo, TaskPage,
    Team, Waiting,
};
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{header, HeaderMap, HeaderValue};
use shared_protocol::{DashboardQuery, DashboardState, TaskId, TaskState, TaskStatus, UserRef};

use crate::actions::accounts::{self, Credentials, Signup};
use crate::actions::tasks::{self, NewTask};
use crate::actions::teams;
use crate::auth::{self, CurrentUser};
use crate::error::ApiError;
use crate::state::AppState;

pub struct PageBackend(pub AppState);

/// People offered in the dashboard's creator filter.
const MAX_PEOPLE: i64 = 500;

impl From<ApiError> for AppError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unauthorized | ApiError::SessionExpired => AppError::Unauthorized,
            ApiError::NotFound => AppError::NotFound,
            ApiError::Forbidden => AppError::Forbidden,
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "page request failed");
                AppError::Internal
            }
            other => AppError::Invalid(other.to_string()),
        }
    }
}

impl PageBackend {
    /// The `Set-Cookie` value that clears the session cookie.
    fn cleared_cookie(&self) -> HeaderValue {
        let cookie = auth::clear_session_cookie(self.0.settings.secure_cookies);
        HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    async fn current_user(&self, headers: &HeaderMap) -> Result<CurrentUser, AppError> {
        // Pages send anyone without a live session to sign in, whatever the reason.
        auth::user_from_headers(&self.0.db.read, &self.0.keys, headers)
            .await
            .map_err(|_| AppError::Unauthorized)
    }

    fn cookie(&self, token: String) -> Result<HeaderValue, AppError> {
        let cookie = auth::session_cookie(
            token,
            self.0.settings.session_max_age,
            self.0.settings.secure_cookies,
        );
        HeaderValue::from_str(&cookie.to_string()).map_err(|_| AppError::Internal)
    }
}

/// A page (or a page's server function) whose session cookie holds an expired token that
/// can still be renewed is served as if the token were fresh, and the response carries
/// the renewed cookie: exactly what the browser's socket does through
/// `/api/auth/refresh`, so opening the dashboard after a night away does not sign anyone
/// out. A revoked or too old session is left alone, and the page sends its visitor to
/// sign in. Requests with a `Bearer` header are clients that refresh by themselves.
pub async fn renew_expired_session(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let renewed = renewal(&state, request.headers(), peer).await;
    if let Some((token, _)) = &renewed {
        with_session_cookie(request.headers_mut(), token);
    }
    let mut response = next.run(request).await;
    // Signing in, signing up or out sets (or clears) the session itself: that one wins.
    let prefix = format!("{}=", auth::SESSION_COOKIE);
    let sets_session = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.starts_with(&prefix));
    if let Some((_, set_cookie)) = renewed.filter(|_| !sets_session) {
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie);
    }
    response
}

/// The fresh token and its `Set-Cookie`, when the request's cookie session has expired
/// and may be renewed.
async fn renewal(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Option<(String, HeaderValue)> {
    if headers.contains_key(header::AUTHORIZATION) {
        return None;
    }
    let token = auth::token_from_headers(headers)?;
    if state.keys.verify(&token) != Err(auth::TokenError::Expired) {
        return None;
    }
    // A renewal is a refresh, held to the same per-client-IP limit.
    if let Some(peer) = peer {
        let ip = crate::limits::client_ip(peer, headers, &state.settings.trusted_proxies);
        if state
            .ip_limits
            .check(crate::limits::RouteClass::Refresh, ip)
            .is_err()
        {
            return None;
        }
    }
    let max_age = state.settings.session_max_age;
    let (user, token) = match accounts::refresh(state, &token).await {
        Ok(renewed) => renewed,
        Err(ApiError::Internal(e)) => {
            tracing::error!(error = %e, "renewing a session failed");
            return None;
        }
        Err(_) => return None,
    };
    tracing::debug!(user_id = user.id, "renewed an expired session for a page");
    let cookie = auth::session_cookie(token.clone(), max_age, state.settings.secure_cookies);
    let value = HeaderValue::from_str(&cookie.to_string()).ok()?;
    Some((token, value))
}

/// Replaces the session cookie in a request's `Cookie` headers, keeping the others.
fn with_session_cookie(headers: &mut HeaderMap, token: &str) {
    let prefix = format!("{}=", auth::SESSION_COOKIE);
    let mut cookies: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.starts_with(&prefix))
        .map(str::to_owned)
        .collect();
    cookies.push(format!("{prefix}{token}"));
    if let Ok(value) = HeaderValue::from_str(&cookies.join("; ")) {
        headers.remove(header::COOKIE);
        headers.insert(header::COOKIE, value);
    }
}

#[async_trait::async_trait]
impl Backend for PageBackend {
    async fn viewer(&self, headers: &HeaderMap) -> Result<UserRef, AppError> {
        Ok(self.current_user(headers).await?.to_ref())
    }

    async fn dashboard(
        &self,
        headers: &HeaderMap,
        query: DashboardQuery,
    ) -> Result<DashboardPage, AppError> {
        let viewer = self.current_user(headers).await?;
        let page = tasks::list(&self.0, viewer.viewer(), &query).await?;
        let people = crate::db::users::in_org(&self.0.db.read, viewer.org_id, MAX_PEOPLE)
            .await
            .map_err(|e| AppError::from(ApiError::internal(e)))?;
        Ok(DashboardPage {
            people,
            viewer: viewer.to_ref(),
            seq: page.seq,
            state: DashboardState {
                tasks: page.rows,
                counts: page.counts,
            },
            more: page.more,
        })
    }

    async fn waiting(&self, headers: &HeaderMap) -> Result<Waiting, AppError> {
        let viewer = self.current_user(headers).await?;
        let query = DashboardQuery::default()
            .with_mine(true)
            .with_status(Some(TaskStatus::NeedsClarification));
        let page = tasks::list(&self.0, viewer.viewer(), &query).await?;
        Ok(Waiting {
            viewer: shared_protocol::UserId(viewer.id),
            count: page.counts.get(TaskStatus::NeedsClarification),
            tasks: page.rows,
        })
    }

    async fn task(&self, headers: &HeaderMap, id: TaskId) -> Result<TaskPage, AppError> {
        let viewer = self.current_user(headers).await?;
        let (task, timeline, seq) = tasks::read(&self.0, viewer.viewer(), id).await?;
        Ok(TaskPage {
            viewer: viewer.to_ref(),
            seq,
            state: TaskState {
                task: task.detail,
                timeline,
            },
        })
    }

    async fn create_task(
        &self,
        headers: &HeaderMap,
        title: String,
        description: String,
        private: bool,
    ) -> Result<TaskId, AppError> {
        let viewer = self.current_user(headers).await?;
        let applied = tasks::create(
            &self.0,
            &viewer,
            NewTask {
                title,
                description,
                private,
            },
        )
        .await?;
        Ok(applied.task.id())
    }

    async fn login(&self, username: String, password: String) -> Result<HeaderValue, AppError> {
        let (_, token) = accounts::sign_in(&self.0, Credentials { username, password }).await?;
        self.cookie(token)
    }

    async fn signup(
        &self,
        username: String,
        display_name: String,
        password: String,
        invite: Option<String>,
    ) -> Result<HeaderValue, AppError> {
        let body = Signup {
            username,
            password,
            display_name: Some(display_name),
            invite,
        };
        let (_, token) = accounts::sign_up(&self.0, body).await?;
        self.cookie(token)
    }

    async fn signup_info(
        &self,
        headers: &HeaderMap,
        invite: Option<String>,
    ) -> Result<SignupInfo, AppError> {
        let open = teams::signup_open(&self.0).await?;
        let invite = invite.filter(|i| !i.trim().is_empty());
        let (invited_to, invite_closed) = match invite {
            None => (None, false),
            Some(secret) => match teams::invite_team(&self.0, &secret).await {
                Ok(team) => (Some(team), false),
                Err(ApiError::NotFound) => (None, true),
                Err(e) => return Err(e.into()),
            },
        };
        // Signed out (or with a session that no longer holds) is no error here.
        let membership = match self.current_user(headers).await {
            Ok(viewer) => match teams::membership(&self.0, &viewer).await {
                Ok(membership) => Some(membership),
                Err(ApiError::Unauthorized) => None,
                Err(e) => return Err(e.into()),
            },
            Err(_) => None,
        };
        let signed_in = membership.map(|(me, team)| SignedIn {
            name: me.display_name,
            in_invited_team: invited_to
                .as_ref()
                .is_some_and(|(org, _)| *org == me.org_id),
            team,
        });
        Ok(SignupInfo {
            open,
            invited_to: invited_to.map(|(_, name)| name),
            invite_closed,
            signed_in,
        })
    }

    async fn team(&self, headers: &HeaderMap) -> Result<Team, AppError> {
        let viewer = self.current_user(headers).await?;
        let team = teams::team(&self.0, &viewer).await?;
        // An invite link a plain form post just made: shown if it is one of this team's
        // open invites (a planted cookie shows nothing).
        let new_invite = match app::api::shown_once::kept(headers, app::api::shown_once::INVITE) {
            Some(secret) => match teams::invite_team(&self.0, secret).await {
                Ok((org, _)) if org == team.me.org_id => Some(format!(
                    "{}/signup?invite={secret}",
                    link_base(&self.0.settings, headers)
                )),
                Ok(_) | Err(ApiError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        Ok(Team {
            name: team.name,
            viewer: team.me.to_ref(),
            admin: team.me.is_admin(),
            members: team
                .members
                .into_iter()
                .map(|m| Member {
                    user: shared_protocol::UserRef {
                        id: shared_protocol::UserId(m.id),
                        name: m.display_name,
                    },
                    username: m.username,
                    admin: m.admin != 0,
                    joined_at: m.created_at,
                })
                .collect(),
            invites: team
                .invites
                .into_iter()
                .map(|i| Invite {
                    id: i.id,
                    created_by: i.created_by,
                    created_at: i.created_at,
                    expires_at: i.expires_at,
                })
                .collect(),
            signup_open: team.signup_open,
            new_invite,
        })
    }

    async fn create_invite(&self, headers: &HeaderMap) -> Result<String, AppError> {
        let viewer = self.current_user(headers).await?;
        Ok(teams::create_invite(&self.0, &viewer).await?)
    }

    async fn revoke_invite(&self, headers: &HeaderMap, id: i64) -> Result<(), AppError> {
        let viewer = self.current_user(headers).await?;
        teams::revoke_invite(&self.0, &viewer, id)
            .await
            .map_err(|e| match e {
                ApiError::NotFound => AppError::Invalid("No open invite has that id.".into()),
                e => e.into(),
            })
    }

    async fn leave_team(&self, headers: &HeaderMap) -> Result<HeaderValue, AppError> {
        let viewer = self.current_user(headers).await?;
        let (_, token) = teams::leave(&self.0, &viewer).await?;
        self.cookie(token)
    }

    fn shown_once_cookie(&self, value: Option<String>) -> Result<HeaderValue, AppError> {
        let cookie = auth::shown_once_cookie(value, self.0.settings.secure_cookies);
        HeaderValue::from_str(&cookie.to_string()).map_err(|_| AppError::Internal)
    }

    async fn join_team(
        &self,
        headers: &HeaderMap,
        invite: String,
    ) -> Result<HeaderValue, AppError> {
        let viewer = self.current_user(headers).await?;
        let (_, token) = teams::join(&self.0, &viewer, &invite).await?;
        self.cookie(token)
    }

    async fn set_signup_open(&self, headers: &HeaderMap, open: bool) -> Result<(), AppError> {
        let viewer = self.current_user(headers).await?;
        Ok(teams::set_signup_open(&self.0, &viewer, open).await?)
    }

    async fn account(&self, headers: &HeaderMap) -> Result<Account, AppError> {
        let viewer = self.current_user(headers).await?;
        let row = crate::db::users::find_by_id(&self.0.db.read, viewer.id)
            .await
            .map_err(|e| AppError::from(ApiError::internal(e)))?
            .ok_or(AppError::Unauthorized)?;
        // A token a plain form post just made: shown to an administrator if it is live.
        let new_token = match app::api::shown_once::kept(headers, app::api::shown_once::TOKEN) {
            Some(token) if row.is_admin() => {
                crate::db::service_tokens::authenticate(&self.0.db.read, token)
                    .await
                    .map_err(|e| AppError::from(ApiError::internal(e)))?
                    .map(|_| token.to_owned())
            }
            _ => None,
        };
        let tokens = if row.is_admin() {
            accounts::service_tokens_for(&self.0, &viewer)
                .await?
                .into_iter()
                .map(|(name, created_at)| ServiceToken { name, created_at })
                .collect()
        } else {
            Vec::new()
        };
        Ok(Account {
            user: row.to_ref(),
            username: row.username.clone(),
            admin: row.is_admin(),
            tokens,
            new_token,
        })
    }

    async fn change_password(
        &self,
        headers: &HeaderMap,
        current_password: String,
        new_password: String,
    ) -> Result<HeaderValue, AppError> {
        let viewer = self.current_user(headers).await?;
        let change = accounts::PasswordChange {
            current_password,
            new_password,
        };
        let (_, token) = accounts::change_password(&self.0, &viewer, change)
            .await
            .map_err(|e| match e {
                // Not "sign in again": the session is fine, the password typed is not.
                ApiError::BadCredentials => {
                    AppError::Invalid("The current password is not right.".into())
                }
                e => e.into(),
            })?;
        self.cookie(token)
    }

    async fn create_service_token(
        &self,
        headers: &HeaderMap,
        name: String,
    ) -> Result<String, AppError> {
        let viewer = self.current_user(headers).await?;
        accounts::require_admin(&self.0, &viewer).await?;
        Ok(accounts::issue_service_token(&self.0.db.write, &name).await?)
    }

    async fn revoke_service_token(
        &self,
        headers: &HeaderMap,
        name: String,
    ) -> Result<(), AppError> {
        let viewer = self.current_user(headers).await?;
        accounts::require_admin(&self.0, &viewer).await?;
        accounts::revoke_service_token(&self.0.db.write, &name)
            .await
            .map_err(|e| match e {
                ApiError::NotFound => AppError::Invalid("No live token has that name.".into()),
                e => e.into(),
            })
    }

    async fn logout(&self, headers: &HeaderMap) -> HeaderValue {
        if let Ok(viewer) = self.current_user(headers).await {
            if let Err(e) = accounts::revoke_sessions(&self.0, viewer.id).await {
                tracing::error!(error = %e, "logout could not revoke tokens");
            }
        }
        self.cleared_cookie()
    }

    async fn sign_out(&self, headers: &HeaderMap) -> Result<HeaderValue, AppError> {
        if let Some(token) = auth::token_from_headers(headers) {
            accounts::end_session(&self.0, &token).await?;
        }
        Ok(self.cleared_cookie())
    }
}

/// The base of a link a page shows for copying: the configured public address or, when
/// none was configured, the address the browser sent this request to (a browser with
/// JavaScript builds the same link from its own location). Behind a reverse proxy that is
/// the `X-Forwarded-Host` and `X-Forwarded-Proto` the proxy sets, otherwise the `Host`
/// (over `http`, or the forwarded scheme). With several proxies, each appends what it
/// was sent: the first value is what the browser used. The link is shown only to whoever
/// sent the request, so a client's own header misleads only itself; a value that is no
/// address or scheme is ignored.
fn link_base(settings: &crate::config::Settings, headers: &HeaderMap) -> String {
    if settings.public_url_given {
        return settings.public_url.trim_end_matches('/').to_owned();
    }
    let first = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next()
            .map(str::trim)
    };
    let is_address = |host: &&str| {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
    };
    let host = first("x-forwarded-host")
        .filter(is_address)
        .or_else(|| first(header::HOST.as_str()).filter(is_address));
    let scheme = match first("x-forwarded-proto") {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    match host {
        Some(host) => format!("{scheme}://{host}"),
        None => settings.public_url.trim_end_matches('/').to_owned(),
    }
}
