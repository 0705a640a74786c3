//! The task service under random command sequences.

use std::sync::Arc;

use proptest::prelude::*;
use server::tasks::{next_status, Actor, Command, NewTask, ServiceError, TaskService};
use shared_protocol::{TaskId, TaskStatus};

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
            merge_commit_sha: Some("c4295bd74fb0f4fda03689c3df3f2803b658fd85".into()),
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

async fn task_count(pool: &server::db::Pool) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM tasks")
        .fetch_one(pool)
        .await
        .unwrap()
}

fn new_task(title: &str) -> NewTask {
    NewTask {
        creator_id: 1,
        creator_name: "Ada".into(),
        org_id: 1,
        title: title.into(),
        description: String::new(),
        private: false,
    }
}

/// A task service on a fresh store with user 1 (kept while the directory lives).
async fn service_with_a_user() -> (tempfile::TempDir, server::db::Pool, TaskService) {
    let dir = tempfile::tempdir().unwrap();
    let db = server::db::open(&crate::helpers::database_url(dir.path()).await)
        .await
        .unwrap();
    let pool = db.write.clone();
    sqlx::query("INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES (1, 'ada', 'Ada', 'x', 0)")
        .execute(&pool)
        .await
        .unwrap();
    let service = TaskService::new(&db, Arc::default());
    (dir, pool, service)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Every reached state is one the transition table allows, every accepted command
    /// appends exactly one event, and a refused one changes nothing.
    #[test]
    fn random_commands_only_reach_valid_states_with_one_event_each(commands in prop::collection::vec(command(), 1..30)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let (_dir, pool, service) = service_with_a_user().await;
            let created = service.create(new_task("A task"), None).await.unwrap();
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

#[tokio::test]
async fn a_create_with_a_first_step_commits_both_events_or_neither() {
    let (_dir, pool, service) = service_with_a_user().await;

    let start = Command::StartAnalysis {
        analyser: "rules".into(),
    };
    let created = service
        .create(
            new_task("Analysed"),
            Some((Actor::System("analyser"), start)),
        )
        .await
        .unwrap();
    assert_eq!(created.seq, 1, "the answer is the create's own event");
    let (stored, timeline, seq) = service
        .get_with_timeline(created.task.id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status(), TaskStatus::Analyzing);
    assert_eq!(stored.detail.summary.last_seq, 2);
    assert_eq!(stored.detail.summary.creator.name, "Ada");
    let kinds: Vec<_> = timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["task:created", "task:analyzing"]);
    assert_eq!(seq, 2);

    // A first step the new task cannot take leaves no task and no event behind.
    let merge = Command::MergePr {
        merge_commit_sha: None,
        merged_at: None,
    };
    let refused = service
        .create(new_task("Never"), Some((Actor::System("test"), merge)))
        .await;
    assert!(
        matches!(refused, Err(ServiceError::InvalidTransition(_))),
        "{refused:?}"
    );
    assert_eq!(event_count(&pool).await, 2);
    assert_eq!(task_count(&pool).await, 1);

    // The next create takes the seq the refused one gave back. Its creator was renamed
    // since their session was read: the task carries the stored name.
    let renamed = NewTask {
        creator_name: "Ada, before a rename".into(),
        ..new_task("Plain")
    };
    let next = service.create(renamed, None).await.unwrap();
    assert_eq!(next.seq, 3);
    assert_eq!(next.task.status(), TaskStatus::Received);
    assert_eq!(next.task.detail.summary.creator.name, "Ada");
    // The answer is built as the row is inserted, not read back: it must be the task
    // as the store now holds it, to the last field.
    let read = service.get(next.task.id()).await.unwrap().unwrap();
    assert_eq!(next.task, read);
}

#[tokio::test]
async fn writes_committed_together_fail_one_by_one() {
    // The writer runs on this test's one thread, so its metrics come here: they show
    // which writes shared a commit.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    let _recording = metrics::set_default_local_recorder(&recorder);
    let (_dir, pool, service) = service_with_a_user().await;
    let id = service
        .create(new_task("First"), None)
        .await
        .unwrap()
        .task
        .id();
    let merge = || Command::MergePr {
        merge_commit_sha: None,
        merged_at: None,
    };
    let start = Command::StartAnalysis {
        analyser: "rules".into(),
    };
    let system = Actor::System("test");

    // On this test's one thread, all four are queued before the writer runs: they
    // are one group commit, each in its own savepoint.
    let (started, refused, created, half_made) = tokio::join!(
        service.apply(id, system.clone(), start),
        service.apply(id, system.clone(), merge()),
        service.create(new_task("Second"), None),
        service.create(new_task("Never"), Some((system.clone(), merge()))),
    );
    assert_eq!(started.unwrap().seq, 2);
    assert!(
        matches!(refused, Err(ServiceError::InvalidTransition(_))),
        "{refused:?}"
    );
    assert_eq!(created.unwrap().seq, 3);
    assert!(
        matches!(half_made, Err(ServiceError::InvalidTransition(_))),
        "{half_made:?}"
    );
    assert_eq!(event_count(&pool).await, 3);
    assert_eq!(task_count(&pool).await, 2, "no task without its first step");

    let text = metrics.render();
    for line in [
        "taskwire_log_writes_per_commit_count 2",
        "taskwire_log_writes_per_commit_sum 5",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "the first create alone, then the four together: {line} not in\n{text}"
        );
    }
}
