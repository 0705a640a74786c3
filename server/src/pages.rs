//! The pages' backend: what the UI's server functions call, implemented with the same
//! services as the JSON API.

use app::api::backend::Backend;
use app::api::{AppError, DashboardPage, TaskPage};
use http::{HeaderMap, HeaderValue};
use shared_protocol::{DashboardState, StatusCounts, TaskId, TaskState};

use crate::auth::{self, CurrentUser};
use crate::error::ApiError;
use crate::routes::auth::{check_credentials, create_account, LoginBody, SignupBody};
use crate::routes::tasks::{answer, create, visible_task, visible_tasks, CreateTaskBody};
use crate::state::AppState;

pub struct PageBackend(pub AppState);

impl From<ApiError> for AppError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unauthorized | ApiError::SessionExpired => AppError::Unauthorized,
            ApiError::NotFound => AppError::NotFound,
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "page request failed");
                AppError::Internal
            }
            other => AppError::Invalid(other.to_string()),
        }
    }
}

impl PageBackend {
    async fn viewer(&self, headers: &HeaderMap) -> Result<CurrentUser, AppError> {
        // Pages send anyone without a live session to sign in, whatever the reason.
        auth::user_from_headers(&self.0, headers)
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

#[async_trait::async_trait]
impl Backend for PageBackend {
    async fn dashboard(&self, headers: &HeaderMap) -> Result<DashboardPage, AppError> {
        let viewer = self.viewer(headers).await?;
        let (tasks, seq) = visible_tasks(&self.0, viewer.viewer()).await?;
        let counts = StatusCounts::of(&tasks);
        Ok(DashboardPage {
            viewer: viewer.to_ref(),
            seq,
            state: DashboardState { tasks, counts },
        })
    }

    async fn task(&self, headers: &HeaderMap, id: TaskId) -> Result<TaskPage, AppError> {
        let viewer = self.viewer(headers).await?;
        let (task, timeline, seq) = visible_task(&self.0, viewer.viewer(), id).await?;
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
        let viewer = self.viewer(headers).await?;
        let applied = create(
            &self.0,
            &viewer,
            CreateTaskBody {
                title,
                description,
                private,
            },
        )
        .await?;
        Ok(applied.task.id())
    }

    async fn answer(
        &self,
        headers: &HeaderMap,
        id: TaskId,
        answers: Vec<String>,
    ) -> Result<(), AppError> {
        let viewer = self.viewer(headers).await?;
        answer(&self.0, &viewer, id, answers).await?;
        Ok(())
    }

    async fn login(&self, username: String, password: String) -> Result<HeaderValue, AppError> {
        let (_, token) = check_credentials(&self.0, LoginBody { username, password }).await?;
        self.cookie(token)
    }

    async fn signup(
        &self,
        username: String,
        display_name: String,
        password: String,
    ) -> Result<HeaderValue, AppError> {
        let body = SignupBody {
            username,
            password,
            display_name: Some(display_name),
        };
        let (_, token) = create_account(&self.0, body).await?;
        self.cookie(token)
    }

    async fn logout(&self, headers: &HeaderMap) -> HeaderValue {
        if let Ok(viewer) = self.viewer(headers).await {
            if let Err(e) = crate::routes::auth::revoke_sessions(&self.0, viewer.id).await {
                tracing::error!(error = %e, "logout could not revoke tokens");
            }
        }
        let cookie = auth::clear_session_cookie(self.0.settings.secure_cookies);
        HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}
