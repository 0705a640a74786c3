//! An analyser backed by an OpenAI-compatible chat-completions endpoint.
//!
//! It asks for a JSON verdict (task type, summary, clarification questions when the
//! description is not actionable). Requests have a timeout, are retried with backoff on
//! 5xx, 429 (honouring `Retry-After`) and network failures, and are rate limited; the
//! pipeline falls back to the rules when this analyser fails or answers nonsense.

use std::num::NonZeroU32;

use async_trait::async_trait;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use serde_json::json;

use super::analyser::{Analyser, AnalyserError, Analysis, Verdict};
use super::retry::{with_retries, Failure};
use crate::config::LlmSettings;

const SYSTEM_PROMPT: &str =
    "You triage software tasks for a coding agent. Answer with one JSON object: \
{\"taskType\": \"bug\" | \"feature\" | \"chore\" | \"question\", \"summary\": one sentence, \
\"actionable\": true if an engineer could start without asking anything, \
\"questions\": up to 3 short questions that would make it actionable (empty when actionable)}.";

/// Most questions kept from an answer, and their longest length.
const MAX_QUESTIONS: usize = 3;
const MAX_QUESTION_CHARS: usize = 300;

pub struct LlmAnalyser {
    http: reqwest::Client,
    settings: LlmSettings,
    limiter: DefaultDirectRateLimiter,
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Judgement {
    task_type: Option<String>,
    summary: Option<String>,
    actionable: bool,
    #[serde(default)]
    questions: Vec<String>,
}

impl LlmAnalyser {
    pub fn new(settings: LlmSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(concat!("taskwire/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        let per_minute = NonZeroU32::new(settings.per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        LlmAnalyser {
            http,
            limiter: RateLimiter::direct(Quota::per_minute(per_minute)),
            settings,
        }
    }

    async fn complete(&self, prompt: String) -> Result<String, AnalyserError> {
        let url = format!(
            "{}/chat/completions",
            self.settings.base_url.trim_end_matches('/')
        );
        let body = json!({
            "model": self.settings.model,
            "temperature": 0,
            "response_format": { "type": "json_object" },
            "messages": [
                { "role": "system", "content": SYSTEM_PROMPT },
                { "role": "user", "content": prompt },
            ],
        });
        let attempts = self.settings.max_retries + 1;
        let answer = with_retries(
            "analysis endpoint",
            self.settings.retry_base,
            self.settings.max_retries,
            || async {
                let mut request = self.http.post(&url).json(&body);
                if let Some(key) = &self.settings.api_key {
                    request = request.bearer_auth(key.expose());
                }
                let res = request.send().await.map_err(|e| Failure::unreachable(&e))?;
                if let Some(busy) = Failure::busy(&res) {
                    return Err(busy);
                }
                if !res.status().is_success() {
                    return Err(Failure::Final(AnalyserError::Refused {
                        status: res.status().as_u16(),
                    }));
                }
                let completion: Completion = res
                    .json()
                    .await
                    .map_err(|_| Failure::Final(AnalyserError::Nonsense))?;
                completion
                    .choices
                    .into_iter()
                    .next()
                    .and_then(|c| c.message.content)
                    .ok_or(Failure::Final(AnalyserError::Nonsense))
            },
        )
        .await;
        match answer {
            Ok(content) => Ok(content),
            Err(Failure::Final(e)) => Err(e),
            Err(Failure::Transient {
                timed_out: true, ..
            }) => Err(AnalyserError::Timeout),
            Err(Failure::Transient { .. }) => Err(AnalyserError::Unavailable { attempts }),
        }
    }
}

/// Reads the model's answer; anything that is not a usable verdict is nonsense.
fn judge(content: &str) -> Result<(Analysis, Option<String>, Option<String>), AnalyserError> {
    let j: Judgement = serde_json::from_str(content.trim()).map_err(|_| AnalyserError::Nonsense)?;
    let questions: Vec<String> = j
        .questions
        .into_iter()
        .map(|q| {
            q.trim()
                .chars()
                .filter(|c| *c != '\0')
                .take(MAX_QUESTION_CHARS)
                .collect::<String>()
        })
        .filter(|q| !q.is_empty())
        .take(MAX_QUESTIONS)
        .collect();
    let analysis = match (j.actionable, questions.is_empty()) {
        (true, _) => Analysis::Actionable,
        (false, false) => Analysis::NeedsClarification(questions),
        (false, true) => return Err(AnalyserError::Nonsense),
    };
    let clip = |s: String| {
        s.trim()
            .chars()
            .filter(|c| *c != '\0')
            .take(300)
            .collect::<String>()
    };
    Ok((analysis, j.task_type.map(clip), j.summary.map(clip)))
}

#[async_trait]
impl Analyser for LlmAnalyser {
    fn name(&self) -> &str {
        &self.settings.model
    }

    async fn analyse(
        &self,
        title: &str,
        description: &str,
        answers: &[String],
    ) -> Result<Verdict, AnalyserError> {
        if self.limiter.check().is_err() {
            return Err(AnalyserError::RateLimited);
        }
        let mut prompt = format!("Title: {title}\nDescription: {description}");
        for (i, answer) in answers.iter().enumerate() {
            prompt.push_str(&format!("\nClarification answer {}: {answer}", i + 1));
        }
        let content = self.complete(prompt).await?;
        let (analysis, task_type, summary) = judge(&content)?;
        let note = match (task_type, summary) {
            (Some(t), Some(s)) if !s.is_empty() => {
                Some(format!("{} judged this a {t}: {s}", self.settings.model))
            }
            (_, Some(s)) if !s.is_empty() => Some(format!("{}: {s}", self.settings.model)),
            _ => None,
        };
        Ok(Verdict { analysis, note })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_answer_is_a_verdict() {
        let (a, t, s) = judge(
            r#"{"taskType":"bug","summary":"Retries stop early","actionable":true,"questions":[]}"#,
        )
        .unwrap();
        assert_eq!(a, Analysis::Actionable);
        assert_eq!(
            (t.as_deref(), s.as_deref()),
            (Some("bug"), Some("Retries stop early"))
        );
        let (a, _, _) = judge(r#"{"actionable":false,"questions":["Which page?"," "]}"#).unwrap();
        assert_eq!(a, Analysis::NeedsClarification(vec!["Which page?".into()]));
    }

    #[test]
    fn anything_else_is_nonsense() {
        for bad in [
            "",
            "Sure! Here you go",
            r#"{"actionable":"maybe"}"#,
            r#"{"actionable":false,"questions":[]}"#,
            "[]",
        ] {
            assert_eq!(judge(bad).unwrap_err(), AnalyserError::Nonsense, "{bad}");
        }
    }
}
