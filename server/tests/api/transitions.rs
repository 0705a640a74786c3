//! The task service under random command sequences.

use std::sync::Arc;

use proptest::prelude::*;
use server::tasks::{next_status, Actor, Command, ServiceError, TaskService};
use shared_protocol::{TaskId, TaskStatus};
use tokio::sync::Notify;

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        Just(Command::StartAnalysis {
            analyser: "rules".into()
        }),
        Just(Command::AskClarification {
            questions: vec!["Why?".into()],
            analyser: "rules".into()
        }),
        Just(Command::Answer {
            answers: vec!["Because.".into()]
        }),
        Just(Command::Dispatch {
            issue_number: None,
            issue_url: None,
            github_branch: None
        }),
        Just(Command::StartCoding { note: None }),
        Just(Command::OpenPr {
            pr_number: Some(1),
            pr_url: None,
            pr_title: None
        }),
        Just(Command::MergePr {
            merge_commit_sha: Some("abc".into()),
            merged_at: None
        }),
        Just(Command::ClosePr { pr_number: Some(1) }),
        Just(Command::Fail {
            reason: "broke".into()
        }),
        Just(Command::AddNote {
            text: "note".into()
        }),
    ]
}

async fn event_count(pool: &server::db::Pool) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Every reached state is one the transition table allows, every accepted command
    /// appends exactly one event, and a refused one changes nothing.
    #[test]
    fn random_commands_only_reach_valid_states_with_one_event_each(commands in prop::collection::vec(command(), 1..30)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let dir = tempfile::tempdir().unwrap();
            let db = server::db::open(&crate::helpers::database_url(dir.path()).await).await.unwrap();
            let pool = db.write.clone();
            sqlx::query("INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES (1, 'ada', 'Ada', 'x', 0)")
                .execute(&pool).await.unwrap();
            let service = TaskService::new(&db, Arc::new(Notify::new()));
            let created = service.create(1, "Ada", 1, "A task", "", false).await.unwrap();
            let id: TaskId = created.task.id();
            let mut status = TaskStatus::Received;
            let mut events = 1;
            for command in commands {
                let expected = next_status(status, command.kind());
                let result = service.apply(id, Actor::System("test"), command.clone()).await;
                match (expected, result) {
                    (Ok(to), Ok(applied)) => {
                        events += 1;
                        status = to;
                        assert_eq!(applied.task.status(), to);
                        assert_eq!(applied.seq, events as u64);
                    }
                    (Err(_), Err(ServiceError::InvalidTransition(_))) => {}
                    (expected, result) => panic!("{command:?} from {status:?}: expected {expected:?}, got {result:?}"),
                }
                assert_eq!(event_count(&pool).await, events);
                let (stored, _, seq) = service.get_with_timeline(id).await.unwrap().unwrap();
                assert_eq!(stored.status(), status);
                assert_eq!(seq, events as u64, "the log is gap-free");
            }
        });
    }
}
