//! Analysers decide whether a task can be dispatched as written or needs clarification.

use async_trait::async_trait;

/// An analyser's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Analysis {
    /// Clear enough to hand to a coding agent.
    Actionable,
    /// Too thin to act on; ask these questions first.
    NeedsClarification(Vec<String>),
}

/// An analyser's verdict, with an optional sentence for the timeline (a summary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub analysis: Analysis,
    pub note: Option<String>,
}

/// Why an analyser gave no verdict. `Display` is a friendly clause shown in the
/// timeline ("the AI analyser could not be used: it did not answer in time").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalyserError {
    #[error("it did not answer in time")]
    Timeout,
    #[error("it was unavailable after {attempts} attempts")]
    Unavailable { attempts: u32 },
    #[error("it refused the request (HTTP {status})")]
    Refused { status: u16 },
    #[error("too many tasks were analysed in the last minute")]
    RateLimited,
    #[error("its answer could not be understood")]
    Nonsense,
}

#[async_trait]
pub trait Analyser: Send + Sync + 'static {
    /// Shown in the timeline (`rules`, or a model's name).
    fn name(&self) -> &str;

    /// `answers` holds clarification answers given so far (empty on first analysis).
    async fn analyse(
        &self,
        title: &str,
        description: &str,
        answers: &[String],
    ) -> Result<Verdict, AnalyserError>;
}

/// The built-in, deterministic analyser: a description of fewer than
/// [`RulesAnalyser::MIN_WORDS`] words or [`RulesAnalyser::MIN_CHARS`] characters is too
/// thin to act on.
#[derive(Debug, Clone, Copy, Default)]
pub struct RulesAnalyser;

impl RulesAnalyser {
    pub const MIN_WORDS: usize = 12;
    pub const MIN_CHARS: usize = 60;

    pub fn judge(description: &str, answers: &[String]) -> Analysis {
        let text = std::iter::once(description)
            .chain(answers.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        let words = text.split_whitespace().count();
        if words >= Self::MIN_WORDS && text.trim().chars().count() >= Self::MIN_CHARS {
            return Analysis::Actionable;
        }
        let lower = text.to_lowercase();
        let mut questions = vec![
            "What should happen once this is done? Describe the expected behaviour.".to_owned(),
        ];
        if !["test", "verify", "check", "reproduce", "steps"]
            .iter()
            .any(|w| lower.contains(w))
        {
            questions.push(
                "How can we check that it works? Name a test, a page or steps to reproduce."
                    .to_owned(),
            );
        }
        Analysis::NeedsClarification(questions)
    }
}

#[async_trait]
impl Analyser for RulesAnalyser {
    fn name(&self) -> &str {
        "rules"
    }

    async fn analyse(
        &self,
        _title: &str,
        description: &str,
        answers: &[String],
    ) -> Result<Verdict, AnalyserError> {
        Ok(Verdict {
            analysis: RulesAnalyser::judge(description, answers),
            note: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thin_description_gets_questions() {
        match RulesAnalyser::judge("Fix it", &[]) {
            Analysis::NeedsClarification(q) => assert_eq!(q.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_thin_description_that_names_a_check_gets_one_question() {
        match RulesAnalyser::judge("Fix the test", &[]) {
            Analysis::NeedsClarification(q) => assert_eq!(q.len(), 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_full_description_is_actionable() {
        let d = "When a payment webhook fails, retry it three times with exponential backoff before giving up.";
        assert_eq!(RulesAnalyser::judge(d, &[]), Analysis::Actionable);
    }

    #[test]
    fn answers_count_towards_the_description() {
        let answers = vec![
            "Retries should happen three times with backoff".to_owned(),
            "The webhook integration test covers it end to end".to_owned(),
        ];
        assert_eq!(
            RulesAnalyser::judge("Fix retries", &answers),
            Analysis::Actionable
        );
    }
}
