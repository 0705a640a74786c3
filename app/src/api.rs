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
use shared_protocol::{DashboardState, Seq, TaskState, UserRef};

/// What a page shows when something fails; every message is meant for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in.")]
    Unauthorized,
    #[error("That task does not exist.")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    #[error("Something went wrong on the server. Please try again.")]
    Internal,
    #[error("The server could not be reached. Please try again.")]
    Transport,
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => AppError::Transport,
            _ => AppError::Internal,
        }
    }
}

/// The dashboard's first load: every visible task and the `seq` it reflects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardPage {
    pub viewer: UserRef,
    pub seq: Seq,
    pub state: DashboardState,
}

/// A task page's first load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskPage {
    pub viewer: UserRef,
    pub seq: Seq,
    pub state: TaskState,
}

#[cfg(feature = "ssr")]
pub mod backend {
    //! What the server crate implements for the pages.

    use std::sync::Arc;

    use http::{HeaderMap, HeaderValue};
    use shared_protocol::TaskId;

    use super::{AppError, DashboardPage, TaskPage};

    /// The server's side of the pages. `headers` are the request's, to find the viewer.
    #[async_trait::async_trait]
    pub trait Backend: Send + Sync + 'static {
        async fn dashboard(&self, headers: &HeaderMap) -> Result<DashboardPage, AppError>;
        async fn task(&self, headers: &HeaderMap, id: TaskId) -> Result<TaskPage, AppError>;
        async fn create_task(
            &self,
            headers: &HeaderMap,
            title: String,
            description: String,
            private: bool,
        ) -> Result<TaskId, AppError>;
        async fn answer(
            &self,
            headers: &HeaderMap,
            id: TaskId,
            answers: Vec<String>,
        ) -> Result<(), AppError>;
        /// Returns the `Set-Cookie` value of the new session.
        async fn login(&self, username: String, password: String) -> Result<HeaderValue, AppError>;
        async fn signup(
            &self,
            username: String,
            display_name: String,
            password: String,
        ) -> Result<HeaderValue, AppError>;
        /// Returns the `Set-Cookie` value that clears the session.
        async fn logout(&self, headers: &HeaderMap) -> HeaderValue;
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

#[cfg(feature = "ssr")]
fn set_cookie(value: http::HeaderValue) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.append_header(http::header::SET_COOKIE, value);
    }
}

#[server]
pub async fn load_dashboard() -> Result<DashboardPage, AppError> {
    let (backend, headers) = backend()?;
    backend.dashboard(&headers).await
}

#[server]
pub async fn load_task(id: i64) -> Result<TaskPage, AppError> {
    let (backend, headers) = backend()?;
    backend.task(&headers, TaskId(id)).await
}

/// `private` is a checkbox: present (any value) when ticked.
#[server]
pub async fn create_task(
    title: String,
    description: String,
    private: Option<String>,
) -> Result<i64, AppError> {
    let (backend, headers) = backend()?;
    let id = backend
        .create_task(&headers, title, description, private.is_some())
        .await?;
    leptos_axum::redirect(&format!("/tasks/{id}"));
    Ok(id.0)
}

#[server]
pub async fn answer_questions(id: i64, answers: Vec<String>) -> Result<(), AppError> {
    let (backend, headers) = backend()?;
    backend.answer(&headers, TaskId(id), answers).await
}

#[server]
pub async fn login(username: String, password: String) -> Result<(), AppError> {
    let (backend, _) = backend()?;
    set_cookie(backend.login(username, password).await?);
    leptos_axum::redirect("/");
    Ok(())
}

#[server]
pub async fn signup(
    username: String,
    display_name: String,
    password: String,
) -> Result<(), AppError> {
    let (backend, _) = backend()?;
    set_cookie(backend.signup(username, display_name, password).await?);
    leptos_axum::redirect("/");
    Ok(())
}

#[server]
pub async fn logout() -> Result<(), AppError> {
    let (backend, headers) = backend()?;
    set_cookie(backend.logout(&headers).await);
    leptos_axum::redirect("/login");
    Ok(())
}
