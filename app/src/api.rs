//! Server functions for first loads and actions, and the data they return.
//!
//! On the server they call a [`backend::Backend`] that the server crate provides through
//! context, so this crate stays free of database and auth code.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use shared_protocol::TaskId;
use shared_protocol::{ApiErrorCode, ApiErrorEnvelope, DashboardState, Seq, TaskState, UserRef};

/// What a page shows when something fails; every message is meant for people.
///
/// On the wire (a server function's error body) it is the same JSON error the HTTP API
/// answers with: `{"error":{"code":"unauthorized","message":"Please sign in."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(into = "ApiErrorEnvelope", from = "ApiErrorEnvelope")]
pub enum AppError {
    #[error("Please sign in.")]
    Unauthorized,
    #[error("That task does not exist.")]
    NotFound,
    #[error("Only an administrator may do this.")]
    Forbidden,
    #[error("{0}")]
    Invalid(String),
    #[error("Something went wrong on the server. Please try again.")]
    Internal,
    #[error("The server could not be reached. Please try again.")]
    Transport,
}

impl AppError {
    /// The stable machine code, as the HTTP API names it.
    pub fn code(&self) -> ApiErrorCode {
        match self {
            AppError::Unauthorized => ApiErrorCode::Unauthorized,
            AppError::NotFound => ApiErrorCode::NotFound,
            AppError::Forbidden => ApiErrorCode::Forbidden,
            AppError::Invalid(_) => ApiErrorCode::InvalidInput,
            AppError::Internal => ApiErrorCode::Internal,
            AppError::Transport => ApiErrorCode::Transport,
        }
    }

    /// The HTTP status a server function answers this error with.
    pub fn status(&self) -> http::StatusCode {
        http::StatusCode::from_u16(self.code().http_status())
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<AppError> for ApiErrorEnvelope {
    fn from(e: AppError) -> Self {
        ApiErrorEnvelope::new(e.code(), e.to_string())
    }
}

impl From<ApiErrorEnvelope> for AppError {
    fn from(e: ApiErrorEnvelope) -> Self {
        match e.error.code {
            ApiErrorCode::Unauthorized => AppError::Unauthorized,
            ApiErrorCode::NotFound => AppError::NotFound,
            ApiErrorCode::Forbidden => AppError::Forbidden,
            ApiErrorCode::InvalidInput => AppError::Invalid(e.error.message),
            ApiErrorCode::Transport => AppError::Transport,
            _ => AppError::Internal,
        }
    }
}

/// Where to go after signing in: `next` if it is a path on this site, else the dashboard.
/// Only visible ASCII, starting with one `/`: never another site, never a header break.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.len() <= 512
                && path.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// The sign-in page, asked to come back to `path` afterwards.
pub fn login_path(path: &str) -> String {
    let next = safe_next(Some(path));
    if next == "/" {
        return "/login".to_owned();
    }
    let mut encoded = String::with_capacity(next.len() * 3);
    for b in next.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("/login?next={encoded}")
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => AppError::Transport,
            // The request's fields could not be read (missing, or of the wrong kind):
            // the caller's mistake, answered 422 like any other bad input.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                #[cfg(feature = "ssr")]
                if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                    response.set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
                }
                AppError::Invalid("the form is missing a field or has one of the wrong kind".into())
            }
            _ => AppError::Internal,
        }
    }
}

/// The dashboard's first load: one page of the view asked for, the viewer's counts,
/// and the `seq` they reflect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardPage {
    pub viewer: UserRef,
    pub seq: Seq,
    pub state: DashboardState,
    /// Whether the next page has rows.
    pub more: bool,
    /// Who may be picked in the creator filter: the viewer's team.
    pub people: Vec<UserRef>,
}

/// The viewer's tasks that wait for the viewer: questions asked on their own tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    /// Whose tasks these are.
    pub viewer: shared_protocol::UserId,
    /// How many there are (more than `tasks` holds when there are very many).
    pub count: u64,
    /// The most recently changed of them.
    pub tasks: Vec<shared_protocol::TaskSummary>,
}

/// The account page's first load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub user: UserRef,
    pub username: String,
    /// Whether the account administers the installation (its service tokens).
    pub admin: bool,
    /// Live service tokens, for an administrator (empty for anyone else).
    pub tokens: Vec<ServiceToken>,
    /// The token just made by this page's form posted without JavaScript, shown this
    /// once (see [`SHOWN_ONCE_COOKIE`]).
    #[serde(default)]
    pub new_token: Option<String>,
}

/// The team page's first load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub name: String,
    pub viewer: UserRef,
    /// Whether the viewer administers the installation (and so its sign-up).
    pub admin: bool,
    pub members: Vec<Member>,
    /// Invite links not yet used, revoked or expired.
    pub invites: Vec<Invite>,
    /// Whether anyone may sign up without an invite.
    pub signup_open: bool,
    /// The invite link just made by this page's form posted without JavaScript, shown
    /// this once (see [`SHOWN_ONCE_COOKIE`]).
    #[serde(default)]
    pub new_invite: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user: UserRef,
    pub username: String,
    pub admin: bool,
    /// Milliseconds since the epoch.
    pub joined_at: i64,
}

/// An open invite link (its secret was shown once, to whoever made it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub id: i64,
    pub created_by: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    pub expires_at: i64,
}

/// What the sign-up page needs to know first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupInfo {
    /// Whether anyone may sign up without an invite.
    pub open: bool,
    /// The team the page's invite link is for; `None` without one.
    pub invited_to: Option<String>,
    /// An invite link that is no longer open (used, revoked or expired).
    pub invite_closed: bool,
    /// The account this browser is signed in with, if any: an open invite then offers
    /// to move it into the invite's team.
    pub signed_in: Option<SignedIn>,
}

/// Who is signed in, as the sign-up page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub name: String,
    /// The team the account is in now.
    pub team: String,
    /// Whether that is the team the page's invite is for.
    pub in_invited_team: bool,
}

/// A live service token, by name; the token itself is shown once, when made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceToken {
    pub name: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
}

/// A task page's first load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskPage {
    pub viewer: UserRef,
    pub seq: Seq,
    pub state: TaskState,
}

/// The cookie that carries a secret made by a form posted without JavaScript (an invite
/// link, a service token) to the page the form goes back to, which shows it once: the
/// answer to such a post is a redirect, and the secret would be lost with it. With
/// JavaScript the page gets the secret in the action's answer, and no cookie is set.
pub const SHOWN_ONCE_COOKIE: &str = "taskwire_once";

#[cfg(feature = "ssr")]
pub mod backend {
    //! What the server crate implements for the pages.

    use std::sync::Arc;

    use http::{HeaderMap, HeaderValue};
    use shared_protocol::{DashboardQuery, TaskId, UserRef};

    use super::{Account, AppError, DashboardPage, SignupInfo, TaskPage, Team, Waiting};

    /// The server's side of the pages. `headers` are the request's, to find the viewer.
    #[async_trait::async_trait]
    pub trait Backend: Send + Sync + 'static {
        /// The signed-in user, or `Unauthorized`.
        async fn viewer(&self, headers: &HeaderMap) -> Result<UserRef, AppError>;
        async fn dashboard(
            &self,
            headers: &HeaderMap,
            query: DashboardQuery,
        ) -> Result<DashboardPage, AppError>;
        async fn task(&self, headers: &HeaderMap, id: TaskId) -> Result<TaskPage, AppError>;
        /// What waits for the viewer (see [`Waiting`]).
        async fn waiting(&self, headers: &HeaderMap) -> Result<Waiting, AppError>;
        async fn create_task(
            &self,
            headers: &HeaderMap,
            title: String,
            description: String,
            private: bool,
        ) -> Result<TaskId, AppError>;
        /// Returns the `Set-Cookie` value of the new session.
        async fn login(&self, username: String, password: String) -> Result<HeaderValue, AppError>;
        async fn signup(
            &self,
            username: String,
            display_name: String,
            password: String,
            invite: Option<String>,
        ) -> Result<HeaderValue, AppError>;
        async fn signup_info(
            &self,
            headers: &HeaderMap,
            invite: Option<String>,
        ) -> Result<SignupInfo, AppError>;
        async fn team(&self, headers: &HeaderMap) -> Result<Team, AppError>;
        /// Returns the new invite's secret, the one time it is shown.
        async fn create_invite(&self, headers: &HeaderMap) -> Result<String, AppError>;
        async fn revoke_invite(&self, headers: &HeaderMap, id: i64) -> Result<(), AppError>;
        /// Moves the viewer to a team of their own, ending every session; returns the
        /// `Set-Cookie` value of the one continuing here.
        async fn leave_team(&self, headers: &HeaderMap) -> Result<HeaderValue, AppError>;
        /// A `Set-Cookie` value that keeps `value` for the next page ([`SHOWN_ONCE_COOKIE`]),
        /// or with `None` forgets it.
        ///
        /// [`SHOWN_ONCE_COOKIE`]: super::SHOWN_ONCE_COOKIE
        fn shown_once_cookie(&self, value: Option<String>) -> Result<HeaderValue, AppError>;
        /// Moves the viewer into the team of the open invite `invite`, spending it and
        /// ending every session; returns the `Set-Cookie` value of a new one.
        async fn join_team(
            &self,
            headers: &HeaderMap,
            invite: String,
        ) -> Result<HeaderValue, AppError>;
        /// An administrator's.
        async fn set_signup_open(&self, headers: &HeaderMap, open: bool) -> Result<(), AppError>;
        /// Ends every session of the viewer, on every device; returns the `Set-Cookie`
        /// value that clears the session.
        async fn logout(&self, headers: &HeaderMap) -> HeaderValue;
        /// Ends this session only (the viewer's other devices stay signed in); returns
        /// the `Set-Cookie` value that clears it. An error leaves the session as it was.
        async fn sign_out(&self, headers: &HeaderMap) -> Result<HeaderValue, AppError>;
        async fn account(&self, headers: &HeaderMap) -> Result<Account, AppError>;
        /// Ends every other session; returns the `Set-Cookie` value of this one, which
        /// goes on.
        async fn change_password(
            &self,
            headers: &HeaderMap,
            current_password: String,
            new_password: String,
        ) -> Result<HeaderValue, AppError>;
        /// An administrator's: returns the new token, the one time it is shown.
        async fn create_service_token(
            &self,
            headers: &HeaderMap,
            name: String,
        ) -> Result<String, AppError>;
        /// An administrator's.
        async fn revoke_service_token(
            &self,
            headers: &HeaderMap,
            name: String,
        ) -> Result<(), AppError>;
    }

    /// How the backend is provided through context.
    pub type SharedBackend = Arc<dyn Backend>;
}

#[cfg(feature = "ssr")]
fn backend() -> Result<(backend::SharedBackend, http::HeaderMap), AppError> {
    let backend = use_context::<backend::SharedBackend>().ok_or(AppError::Internal)?;
    let parts = use_context::<http::request::Parts>().ok_or(AppError::Internal)?;
    Ok((backend, parts.headers))
}

/// Gives a server function's error its HTTP status (401, 404, 422 …) instead of a
/// blanket 500, for callers that read the JSON error. A browser's plain form post (no
/// JavaScript) is left to the redirect back to its form, which shows the error; without
/// a session it is sent to sign in, and back to the form afterwards. A page being
/// rendered sets its own status.
#[cfg(feature = "ssr")]
fn answer<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result {
        if accepts_html() {
            if *e == AppError::Unauthorized {
                leptos_axum::redirect(&login_path(&referring_path()));
            }
        } else if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(e.status());
        }
    }
    result
}

/// The path (and query) of the page that sent the request, or `/`.
#[cfg(feature = "ssr")]
fn referring_path() -> String {
    use_context::<http::request::Parts>()
        .and_then(|p| {
            let referer = p.headers.get(http::header::REFERER)?.to_str().ok()?;
            let after_scheme = referer.split_once("://").map_or(referer, |(_, rest)| rest);
            after_scheme.find('/').map(|i| after_scheme[i..].to_owned())
        })
        .unwrap_or_else(|| "/".to_owned())
}

#[cfg(feature = "ssr")]
fn accepts_html() -> bool {
    use_context::<http::request::Parts>()
        .and_then(|p| {
            p.headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.contains("text/html"))
        })
        .unwrap_or(false)
}

/// A secret made by a form posted without JavaScript, kept for the page it goes back to
/// (see [`SHOWN_ONCE_COOKIE`]). The page's backend reads it from the request and shows
/// it only if it is what the viewer may see (an open invite of their team, a live token
/// to an administrator); the page's server function forgets it.
#[cfg(feature = "ssr")]
pub mod shown_once {
    use super::{accepts_html, backend, set_cookie, SHOWN_ONCE_COOKIE};

    /// What the kept secret is (the cookie holds `<kind>.<secret>`); a page takes only
    /// its own kind.
    pub const INVITE: &str = "invite";
    pub const TOKEN: &str = "token";

    /// Keeps `secret` for the next page, if this is a plain form post.
    pub fn keep(kind: &str, secret: &str) {
        if !accepts_html() {
            return;
        }
        if let Ok((backend, _)) = backend() {
            if let Ok(cookie) = backend.shown_once_cookie(Some(format!("{kind}.{secret}"))) {
                set_cookie(cookie);
            }
        }
    }

    /// The cookie's value in `headers` (a request's), if they carry it.
    fn carried(headers: &http::HeaderMap) -> Option<&str> {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix(SHOWN_ONCE_COOKIE)?.strip_prefix('='))
    }

    /// The secret of `kind` that `headers` (a request's) carry, if any.
    pub fn kept<'h>(headers: &'h http::HeaderMap, kind: &str) -> Option<&'h str> {
        carried(headers)?
            .strip_prefix(kind)?
            .strip_prefix('.')
            .filter(|secret| !secret.is_empty())
    }

    /// Forgets what was kept, once this request's page has had its chance to show it;
    /// and keeps that page (it may show a secret) out of every cache.
    pub fn forget() {
        let Ok((backend, headers)) = backend() else {
            return;
        };
        if carried(&headers).is_none() {
            return;
        }
        if let Ok(cookie) = backend.shown_once_cookie(None) {
            set_cookie(cookie);
        }
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.insert_header(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
        }
    }
}

/// Runs a server function's body against the backend, and answers its error with the
/// right status.
#[cfg(feature = "ssr")]
async fn call<T, Fut>(
    body: impl FnOnce(backend::SharedBackend, http::HeaderMap) -> Fut,
) -> Result<T, AppError>
where
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    let result = match backend() {
        Ok((backend, headers)) => body(backend, headers).await,
        Err(e) => Err(e),
    };
    answer(result)
}

#[cfg(feature = "ssr")]
fn set_cookie(value: http::HeaderValue) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.append_header(http::header::SET_COOKIE, value);
    }
}

/// Who is signed in, for pages that need a session but load nothing else.
#[server]
pub async fn load_viewer() -> Result<UserRef, AppError> {
    call(move |backend, headers| async move { backend.viewer(&headers).await }).await
}

/// The view as its URL's query string spells it (see [`DashboardQuery`]).
///
/// [`DashboardQuery`]: shared_protocol::DashboardQuery
#[server]
pub async fn load_dashboard(view: String) -> Result<DashboardPage, AppError> {
    // Nonsense in a hand-edited URL means the default, as on first load.
    let query = shared_protocol::DashboardQuery::from_query_string(&view);
    call(move |backend, headers| async move { backend.dashboard(&headers, query).await }).await
}

/// What waits for the viewer; `None` without a session. The header asks for it on every
/// page, so a visitor who is not signed in is neither redirected nor refused for it:
/// the page decides that.
#[server]
pub async fn load_waiting() -> Result<Option<Waiting>, AppError> {
    call(move |backend, headers| async move {
        match backend.waiting(&headers).await {
            Err(AppError::Unauthorized) => Ok(None),
            other => other.map(Some),
        }
    })
    .await
}

#[server]
pub async fn load_task(id: i64) -> Result<TaskPage, AppError> {
    call(move |backend, headers| async move { backend.task(&headers, TaskId(id)).await }).await
}

/// `private` is a checkbox: present (any value) when ticked.
#[server]
pub async fn create_task(
    title: String,
    description: String,
    private: Option<String>,
) -> Result<i64, AppError> {
    let id = call(move |backend, headers| async move {
        backend
            .create_task(&headers, title, description, private.is_some())
            .await
    })
    .await?;
    leptos_axum::redirect(&format!("/tasks/{id}"));
    Ok(id.0)
}

/// Signs in, then goes to `next` (the page that sent the visitor here), or home.
#[server]
pub async fn login(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<String, AppError> {
    let cookie =
        call(move |backend, _| async move { backend.login(username, password).await }).await?;
    set_cookie(cookie);
    let next = safe_next(next.as_deref());
    leptos_axum::redirect(&next);
    Ok(next)
}

/// `invite` is an invite link's secret: the account joins that link's team.
#[server]
pub async fn signup(
    username: String,
    display_name: String,
    password: String,
    next: Option<String>,
    invite: Option<String>,
) -> Result<String, AppError> {
    let cookie = call(move |backend, _| async move {
        backend
            .signup(username, display_name, password, invite)
            .await
    })
    .await?;
    set_cookie(cookie);
    let next = safe_next(next.as_deref());
    leptos_axum::redirect(&next);
    Ok(next)
}

/// Signs out everywhere: every session of the viewer ends.
#[server]
pub async fn logout() -> Result<(), AppError> {
    let (backend, headers) = backend()?;
    set_cookie(backend.logout(&headers).await);
    shown_once::forget();
    leptos_axum::redirect("/login");
    Ok(())
}

/// Signs out here: this session ends, the viewer's others go on.
#[server]
pub async fn sign_out() -> Result<(), AppError> {
    let (backend, headers) = backend()?;
    set_cookie(backend.sign_out(&headers).await?);
    shown_once::forget();
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(endpoint = "account")]
pub async fn load_account() -> Result<Account, AppError> {
    let account =
        call(move |backend, headers| async move { backend.account(&headers).await }).await;
    shown_once::forget();
    account
}

/// Every other session ends; this one continues with a fresh cookie.
#[server(endpoint = "account/password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    let cookie = call(move |backend, headers| async move {
        backend
            .change_password(&headers, current_password, new_password)
            .await
    })
    .await?;
    set_cookie(cookie);
    Ok(())
}

/// Makes a service token for an agent; the answer is the token, shown this once.
#[server(endpoint = "account/tokens/create")]
pub async fn create_service_token(name: String) -> Result<String, AppError> {
    let token = call(move |backend, headers| async move {
        backend.create_service_token(&headers, name).await
    })
    .await?;
    shown_once::keep(shown_once::TOKEN, &token);
    Ok(token)
}

#[server(endpoint = "account/tokens/revoke")]
pub async fn revoke_service_token(name: String) -> Result<(), AppError> {
    call(move |backend, headers| async move { backend.revoke_service_token(&headers, name).await })
        .await
}

/// Whether sign-up is open, and the team an invite link is for.
#[server(endpoint = "signup/info")]
pub async fn load_signup_info(invite: Option<String>) -> Result<SignupInfo, AppError> {
    call(move |backend, headers| async move { backend.signup_info(&headers, invite).await }).await
}

#[server(endpoint = "team")]
pub async fn load_team() -> Result<Team, AppError> {
    let team = call(move |backend, headers| async move { backend.team(&headers).await }).await;
    shown_once::forget();
    team
}

/// Makes an invite link to the viewer's team; the answer is the link's secret, shown
/// this once.
#[server(endpoint = "team/invites/create")]
pub async fn create_invite() -> Result<String, AppError> {
    let secret =
        call(move |backend, headers| async move { backend.create_invite(&headers).await }).await?;
    shown_once::keep(shown_once::INVITE, &secret);
    Ok(secret)
}

#[server(endpoint = "team/invites/revoke")]
pub async fn revoke_invite(id: i64) -> Result<(), AppError> {
    call(move |backend, headers| async move { backend.revoke_invite(&headers, id).await }).await
}

/// Leaves the team for one of the viewer's own; every other session ends.
#[server(endpoint = "team/leave")]
pub async fn leave_team() -> Result<(), AppError> {
    let cookie =
        call(move |backend, headers| async move { backend.leave_team(&headers).await }).await?;
    set_cookie(cookie);
    Ok(())
}

/// Moves the viewer's account into the team of the open invite `invite`; the answer is
/// where to go next (the dashboard, now the new team's).
#[server(endpoint = "team/join")]
pub async fn join_team(invite: String) -> Result<String, AppError> {
    let cookie =
        call(move |backend, headers| async move { backend.join_team(&headers, invite).await })
            .await?;
    set_cookie(cookie);
    leptos_axum::redirect("/");
    Ok("/".to_owned())
}

/// `open` is a checkbox: present (any value) when ticked.
#[server(endpoint = "team/signup")]
pub async fn set_signup_open(open: Option<String>) -> Result<(), AppError> {
    call(move |backend, headers| async move {
        backend.set_signup_open(&headers, open.is_some()).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_gone_back_to() {
        for ok in ["/", "/tasks/7", "/tasks/new?x=1"] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "tasks/7",
            "/tasks/7\r\nSet-Cookie: x=1",
            "/ space",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
        assert_eq!(login_path("/"), "/login");
        assert_eq!(login_path("/tasks/new"), "/login?next=/tasks/new");
        assert_eq!(login_path("/tasks?q=a&b"), "/login?next=/tasks%3Fq%3Da%26b");
    }

    #[test]
    fn errors_travel_as_the_json_error_the_api_uses() {
        let json = serde_json::to_value(AppError::Unauthorized).unwrap();
        assert_eq!(json["error"]["code"], "unauthorized");
        assert_eq!(json["error"]["message"], "Please sign in.");
        for e in [
            AppError::Unauthorized,
            AppError::NotFound,
            AppError::Forbidden,
            AppError::Invalid("title: too long".into()),
            AppError::Internal,
            AppError::Transport,
        ] {
            let back: AppError = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
            assert_eq!(back, e);
        }
    }
}
