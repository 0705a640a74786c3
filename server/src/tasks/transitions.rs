//! The one place that says which status changes are allowed.

use shared_protocol::TaskStatus::{self, *};

/// What can happen to a task, without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandKind {
    StartAnalysis,
    AskClarification,
    Answer,
    Dispatch,
    StartCoding,
    OpenPr,
    MergePr,
    ClosePr,
    Fail,
    Retry,
    AddNote,
}

impl CommandKind {
    pub const ALL: [CommandKind; 11] = [
        CommandKind::StartAnalysis,
        CommandKind::AskClarification,
        CommandKind::Answer,
        CommandKind::Dispatch,
        CommandKind::StartCoding,
        CommandKind::OpenPr,
        CommandKind::MergePr,
        CommandKind::ClosePr,
        CommandKind::Fail,
        CommandKind::Retry,
        CommandKind::AddNote,
    ];

    pub fn describe(self) -> &'static str {
        match self {
            CommandKind::StartAnalysis => "start analysis",
            CommandKind::AskClarification => "ask for clarification",
            CommandKind::Answer => "answer clarification questions",
            CommandKind::Dispatch => "dispatch",
            CommandKind::StartCoding => "start coding",
            CommandKind::OpenPr => "open a pull request",
            CommandKind::MergePr => "merge the pull request",
            CommandKind::ClosePr => "close the pull request",
            CommandKind::Fail => "fail",
            CommandKind::Retry => "retry",
            CommandKind::AddNote => "add a note",
        }
    }
}

/// `(from, command, to)`: every allowed status change. `merged` and `failed` are terminal
/// except that a reopened pull request brings a task back to `pr_open`, and that someone
/// can retry a failed task.
const TABLE: &[(TaskStatus, CommandKind, TaskStatus)] = &[
    (Received, CommandKind::StartAnalysis, Analyzing),
    (Analyzing, CommandKind::AskClarification, NeedsClarification),
    (Analyzing, CommandKind::Dispatch, Dispatched),
    (NeedsClarification, CommandKind::Answer, Clarified),
    (Clarified, CommandKind::Dispatch, Dispatched),
    (Dispatched, CommandKind::StartCoding, Coding),
    (Dispatched, CommandKind::OpenPr, PrOpen),
    (Coding, CommandKind::OpenPr, PrOpen),
    (PrOpen, CommandKind::MergePr, Merged),
    (PrOpen, CommandKind::ClosePr, Failed),
    (Merged, CommandKind::OpenPr, PrOpen),
    (Failed, CommandKind::OpenPr, PrOpen),
    (Received, CommandKind::Fail, Failed),
    (Analyzing, CommandKind::Fail, Failed),
    (NeedsClarification, CommandKind::Fail, Failed),
    (Clarified, CommandKind::Fail, Failed),
    (Dispatched, CommandKind::Fail, Failed),
    (Coding, CommandKind::Fail, Failed),
    (PrOpen, CommandKind::Fail, Failed),
    // Someone sends a failed task through the pipeline again.
    (Failed, CommandKind::Retry, Received),
];

/// A command that the task's status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a task that is {} cannot {}", from.label().to_lowercase(), command.describe())]
pub struct TransitionError {
    pub from: TaskStatus,
    pub command: CommandKind,
}

/// The status after `command`, or why it is refused. A note never changes the status.
pub fn next_status(from: TaskStatus, command: CommandKind) -> Result<TaskStatus, TransitionError> {
    if command == CommandKind::AddNote {
        return Ok(from);
    }
    TABLE
        .iter()
        .find(|(f, c, _)| *f == from && *c == command)
        .map(|(_, _, to)| *to)
        .ok_or(TransitionError { from, command })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path_is_allowed() {
        let mut s = Received;
        for c in [
            CommandKind::StartAnalysis,
            CommandKind::AskClarification,
            CommandKind::Answer,
            CommandKind::Dispatch,
            CommandKind::StartCoding,
            CommandKind::OpenPr,
            CommandKind::MergePr,
        ] {
            s = next_status(s, c).unwrap();
        }
        assert_eq!(s, Merged);
    }

    #[test]
    fn terminal_states_only_reopen_or_retry() {
        for terminal in [Merged, Failed] {
            for c in CommandKind::ALL {
                let allowed = next_status(terminal, c).is_ok();
                let expected = matches!(c, CommandKind::OpenPr | CommandKind::AddNote)
                    || (terminal == Failed && c == CommandKind::Retry);
                assert_eq!(allowed, expected, "{terminal:?} {c:?}");
            }
        }
    }

    #[test]
    fn a_refusal_reads_as_a_sentence() {
        let err = next_status(Merged, CommandKind::Dispatch).unwrap_err();
        assert_eq!(err.to_string(), "a task that is merged cannot dispatch");
    }

    #[test]
    fn the_table_has_no_duplicate_rule() {
        for (i, (f, c, _)) in TABLE.iter().enumerate() {
            assert!(
                !TABLE[i + 1..].iter().any(|(f2, c2, _)| f2 == f && c2 == c),
                "{f:?} {c:?}"
            );
        }
    }
}
