//! The GitHub REST client the dispatcher uses to open issues.
//!
//! Requests have a timeout; 5xx, 429 and network failures are retried with jittered
//! exponential backoff, honouring `Retry-After` (see [`super::retry`]). Errors carry a sentence for people and never the
//! token or a raw response body.

use serde::Deserialize;
use serde_json::json;

use super::retry::{with_retries, Failure};
use crate::config::GithubSettings;

/// An issue GitHub created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedIssue {
    pub number: i64,
    pub url: String,
}

/// Why an issue could not be created; `Display` is shown to people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GithubError {
    #[error("GitHub did not answer after {attempts} attempts; the task was not dispatched")]
    Unavailable { attempts: u32 },
    #[error("GitHub refused to create the issue (HTTP {status}); check the repository and token settings")]
    Refused { status: u16 },
    #[error("GitHub answered with something that is not an issue")]
    BadAnswer,
}

#[derive(Clone)]
pub struct GithubClient {
    http: reqwest::Client,
    settings: GithubSettings,
}

#[derive(Deserialize)]
struct IssueAnswer {
    number: i64,
    html_url: String,
}

impl GithubClient {
    pub fn new(settings: GithubSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(concat!("taskwire/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        GithubClient { http, settings }
    }

    pub fn repo(&self) -> &str {
        &self.settings.repo
    }

    /// Opens an issue in the configured repository.
    #[tracing::instrument(skip(self, body), fields(repo = %self.settings.repo))]
    pub async fn create_issue(
        &self,
        title: &str,
        body: &str,
        label: &str,
    ) -> Result<CreatedIssue, GithubError> {
        let url = format!(
            "{}/repos/{}/issues",
            self.settings.api_url.trim_end_matches('/'),
            self.settings.repo
        );
        let payload = json!({ "title": title, "body": body, "labels": [label] });
        let attempts = self.settings.max_retries + 1;
        let created = with_retries(
            "GitHub",
            self.settings.retry_base,
            self.settings.max_retries,
            || async {
                let res = self
                    .http
                    .post(&url)
                    .bearer_auth(self.settings.token.expose())
                    .header("accept", "application/vnd.github+json")
                    .header("x-github-api-version", "2022-11-28")
                    .json(&payload)
                    .send()
                    .await
                    .map_err(|e| Failure::unreachable(&e))?;
                if let Some(busy) = Failure::busy(&res) {
                    return Err(busy);
                }
                if !res.status().is_success() {
                    return Err(Failure::Final(GithubError::Refused {
                        status: res.status().as_u16(),
                    }));
                }
                let issue: IssueAnswer = res
                    .json()
                    .await
                    .map_err(|_| Failure::Final(GithubError::BadAnswer))?;
                // The link is shown to people: never anything but a web address.
                if !shared_protocol::is_web_url(&issue.html_url) {
                    return Err(Failure::Final(GithubError::BadAnswer));
                }
                Ok(CreatedIssue {
                    number: issue.number,
                    url: issue.html_url,
                })
            },
        )
        .await;
        match created {
            Ok(issue) => Ok(issue),
            Err(Failure::Final(e)) => Err(e),
            Err(Failure::Transient { .. }) => Err(GithubError::Unavailable { attempts }),
        }
    }
}
