//! The client's reducers, natively: ordering, duplicates, snapshots.

use proptest::prelude::*;
use shared_protocol::reducer::{DashboardView, TaskView};
use shared_protocol::*;

fn row(id: i64, status: TaskStatus, seq: Seq) -> TaskSummary {
    TaskSummary {
        id: TaskId(id),
        title: format!("Task {id}"),
        status,
        creator: UserRef {
            id: UserId(1),
            name: "Ada".into(),
        },
        created_at: 1_000,
        updated_at: 1_000 + seq as i64,
        last_seq: seq,
        private: false,
    }
}

fn meta(id: i64, status: TaskStatus, seq: Seq) -> EventMeta {
    EventMeta {
        task_id: TaskId(id),
        at: 1_000 + seq as i64,
        actor: None,
        task: row(id, status, seq),
    }
}

fn list_updated(id: i64, status: TaskStatus, seq: Seq) -> ServerFrame {
    ServerFrame::at(
        seq,
        ServerMsg::TaskListUpdated(TaskListUpdated {
            task: row(id, status, seq),
            counts: None,
            previous: None,
        }),
    )
}

fn detail(id: i64, status: TaskStatus, seq: Seq) -> TaskDetail {
    TaskDetail::new(row(id, status, seq), "d".into())
}

#[test]
fn dashboard_applies_rows_in_order_and_ignores_repeats() {
    let mut view = DashboardView::from_state(
        2,
        DashboardState {
            tasks: vec![row(1, TaskStatus::Received, 1)],
            counts: StatusCounts::of(&[row(1, TaskStatus::Received, 1)]),
        },
    );
    assert!(view.apply(&list_updated(2, TaskStatus::Received, 3)));
    assert!(view.apply(&list_updated(1, TaskStatus::Analyzing, 4)));
    assert!(!view.apply(&list_updated(1, TaskStatus::Received, 3)));
    assert!(!view.apply(&list_updated(1, TaskStatus::Analyzing, 4)));
    assert_eq!(view.seq, 4);
    assert_eq!(view.len(), 2);
    assert_eq!(
        view.row(TaskId(1)).map(|r| r.status),
        Some(TaskStatus::Analyzing)
    );
    let order: Vec<i64> = view.ordered_rows().iter().map(|r| r.id.0).collect();
    assert_eq!(order, vec![1, 2], "most recently updated first");
}

#[test]
fn a_task_room_event_does_not_move_the_dashboard_past_rows_still_to_come() {
    let mut view = DashboardView::from_state(
        2,
        DashboardState {
            tasks: vec![row(1, TaskStatus::Received, 1)],
            counts: StatusCounts::of(&[row(1, TaskStatus::Received, 1)]),
        },
    );
    // The task page's room sends seq 4 before the dashboard's room sends seq 3.
    let task_event = ServerFrame::at(
        4,
        ServerMsg::EventAdded(EventAdded {
            meta: meta(1, TaskStatus::Dispatched, 4),
            text: "a note".into(),
        }),
    );
    assert!(!view.apply(&task_event));
    assert!(view.apply(&list_updated(2, TaskStatus::Received, 3)));
    assert!(view.apply(&list_updated(1, TaskStatus::Dispatched, 4)));
    assert_eq!(view.seq, 4);
    assert_eq!(view.len(), 2, "the row at seq 3 was applied");
}

#[test]
fn an_event_already_in_the_snapshot_is_ignored() {
    let mut view = DashboardView::from_state(
        10,
        DashboardState {
            tasks: vec![row(1, TaskStatus::Coding, 10)],
            counts: StatusCounts::default(),
        },
    );
    assert!(!view.apply(&list_updated(1, TaskStatus::Dispatched, 9)));
    assert!(!view.apply(&list_updated(5, TaskStatus::Received, 8)));
    assert_eq!(view.len(), 1);
}

#[test]
fn counts_share_the_seq_of_their_row_update() {
    let mut view = DashboardView::default();
    let mut counts = StatusCounts::default();
    counts.shift(None, TaskStatus::Received);
    assert!(view.apply(&list_updated(1, TaskStatus::Received, 1)));
    assert!(view.apply(&ServerFrame::at(
        1,
        ServerMsg::TaskCountChanged(TaskCountChanged {
            counts: counts.clone()
        })
    )));
    assert_eq!(view.counts.get(TaskStatus::Received), 1);
    let mut stale = StatusCounts::default();
    stale.shift(None, TaskStatus::Failed);
    assert!(!view.apply(&ServerFrame::at(
        1,
        ServerMsg::TaskCountChanged(TaskCountChanged { counts: stale })
    )));
    assert_eq!(view.counts, counts);
}

#[test]
fn a_snapshot_replaces_the_dashboard() {
    let mut view = DashboardView::default();
    view.apply(&list_updated(1, TaskStatus::Received, 1));
    view.apply(&ServerFrame::at(
        5,
        ServerMsg::DashboardState(DashboardState {
            tasks: vec![row(2, TaskStatus::Merged, 5)],
            counts: StatusCounts::default(),
        }),
    ));
    assert_eq!(view.seq, 5);
    assert!(view.row(TaskId(1)).is_none());
    assert!(view.row(TaskId(2)).is_some());
}

#[test]
fn task_view_follows_events_and_builds_its_timeline() {
    let mut view = TaskView::from_state(
        1,
        TaskState {
            task: detail(7, TaskStatus::Received, 1),
            timeline: vec![],
        },
    );
    let frames = [
        ServerFrame::at(
            2,
            ServerMsg::ClarificationNeeded(ClarificationNeeded {
                meta: meta(7, TaskStatus::NeedsClarification, 2),
                questions: vec!["Which page?".into()],
                analyser: "rules".into(),
            }),
        ),
        ServerFrame::at(
            3,
            ServerMsg::TaskClarified(TaskClarified {
                meta: meta(7, TaskStatus::Clarified, 3),
                answers: vec!["Checkout".into()],
            }),
        ),
        ServerFrame::at(
            4,
            ServerMsg::TaskDispatched(TaskDispatched {
                meta: meta(7, TaskStatus::Dispatched, 4),
                issue_number: Some(12),
                issue_url: Some("https://example.test/issues/12".into()),
                github_branch: Some("task-7".into()),
            }),
        ),
    ];
    for frame in &frames {
        assert!(view.apply(frame));
    }
    assert!(!view.apply(&frames[1]), "a repeat changes nothing");
    let other_task = ServerFrame::at(
        5,
        ServerMsg::TaskCoding(TaskCoding {
            meta: meta(8, TaskStatus::Coding, 5),
            note: None,
        }),
    );
    assert!(!view.apply(&other_task));
    assert_eq!(view.seq, 4);
    assert_eq!(view.task.summary.status, TaskStatus::Dispatched);
    assert_eq!(view.task.questions, vec!["Which page?".to_string()]);
    assert_eq!(view.task.answers, vec!["Checkout".to_string()]);
    assert_eq!(view.task.issue_number, Some(12));
    let kinds: Vec<&str> = view.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "task:clarification_needed",
            "task:clarified",
            "task:dispatched"
        ]
    );
}

#[test]
fn viewers_replace_each_other() {
    let mut view = TaskView::from_state(
        1,
        TaskState {
            task: detail(7, TaskStatus::Received, 1),
            timeline: vec![],
        },
    );
    let frame = ServerFrame::new(ServerMsg::TaskViewers(TaskViewers {
        task_id: TaskId(7),
        viewers: vec!["Ada".into()],
    }));
    assert!(view.apply(&frame));
    assert!(!view.apply(&frame));
    assert_eq!(view.viewers, vec!["Ada".to_string()]);
}

/// A stream of dashboard frames for tasks 1..=4 with strictly increasing seqs.
fn stream(statuses: &[(i64, TaskStatus)]) -> Vec<ServerFrame> {
    statuses
        .iter()
        .enumerate()
        .map(|(i, (id, status))| list_updated(*id, *status, i as Seq + 1))
        .collect()
}

proptest! {
    /// However a stream is cut by reconnects, a client that rejoins with `since` and is
    /// sent an overlapping replay ends where a client that saw the stream once ends.
    #[test]
    fn overlapping_replays_end_in_the_same_state(
        events in prop::collection::vec((1i64..5, prop::sample::select(TaskStatus::ALL.to_vec())), 1..40),
        cuts in prop::collection::vec((0usize..40, 0usize..10), 0..6),
    ) {
        let frames = stream(&events);
        let mut once = DashboardView::default();
        for f in &frames { once.apply(f); }

        let mut replayed = DashboardView::default();
        let mut delivered = Vec::new();
        let mut pos = 0;
        for (cut, overlap) in cuts {
            let cut = cut.min(frames.len());
            if cut <= pos { continue; }
            delivered.extend_from_slice(&frames[pos..cut]);
            // reconnect: the server replays from a point at or before what the client has
            pos = cut.saturating_sub(overlap);
        }
        delivered.extend_from_slice(&frames[pos..]);
        for f in &delivered { replayed.apply(f); }
        prop_assert_eq!(replayed, once);
    }
}

#[test]
fn a_closed_pull_request_shows_why_and_a_reopened_one_clears_it() {
    let mut view = TaskView::from_state(
        1,
        TaskState {
            task: detail(7, TaskStatus::PrOpen, 1),
            timeline: vec![],
        },
    );
    view.apply(&ServerFrame::at(
        2,
        ServerMsg::PrClosed(PrClosed {
            meta: meta(7, TaskStatus::Failed, 2),
            pr_number: Some(3),
        }),
    ));
    assert_eq!(
        view.task.error_message.as_deref(),
        Some(shared_protocol::reducer::PR_CLOSED_MESSAGE)
    );
    view.apply(&ServerFrame::at(
        3,
        ServerMsg::PrOpened(PrOpened {
            meta: meta(7, TaskStatus::PrOpen, 3),
            pr_number: Some(3),
            pr_url: None,
            pr_title: None,
        }),
    ));
    assert_eq!(view.task.error_message, None);
    assert_eq!(view.task.pr_number, Some(3));
}

#[test]
fn counts_carried_by_a_row_update_are_shown_unless_newer_ones_are() {
    let mut view = DashboardView::from_state(
        1,
        DashboardState {
            tasks: vec![],
            counts: StatusCounts::default(),
        },
    );
    let mut counts = StatusCounts::default();
    counts.0.insert(TaskStatus::Received, 1);
    let frame = ServerFrame::at(
        2,
        ServerMsg::TaskListUpdated(TaskListUpdated {
            task: row(7, TaskStatus::Received, 2),
            counts: Some(counts.clone()),
            previous: None,
        }),
    );
    assert!(view.apply(&frame));
    assert_eq!(view.counts, counts);
    // An older count frame arriving late changes nothing.
    let stale = ServerFrame::at(
        1,
        ServerMsg::TaskCountChanged(TaskCountChanged {
            counts: StatusCounts::default(),
        }),
    );
    assert!(!view.apply(&stale));
    assert_eq!(view.counts, counts);
}

fn owned_by(mut row: TaskSummary, creator: i64) -> TaskSummary {
    row.creator.id = UserId(creator);
    row
}

fn state(rows: Vec<TaskSummary>) -> DashboardState {
    let counts = StatusCounts::of(&rows);
    DashboardState {
        tasks: rows,
        counts,
    }
}

#[test]
fn the_first_page_keeps_the_newest_rows_and_takes_new_ones_at_the_top() {
    let rows = (1..=PAGE_SIZE as i64)
        .map(|id| row(id, TaskStatus::Received, id as Seq))
        .collect();
    let mut view = DashboardView::from_state(PAGE_SIZE as Seq, state(rows));
    assert_eq!(view.len(), PAGE_SIZE);

    let newest = PAGE_SIZE as i64 + 1;
    assert!(view.apply(&list_updated(newest, TaskStatus::Received, newest as Seq)));
    assert_eq!(view.len(), PAGE_SIZE, "the page stays one page long");
    assert_eq!(view.ordered_rows()[0].id, TaskId(newest));
    assert!(
        view.row(TaskId(1)).is_none(),
        "the oldest row left the page"
    );

    // A change to an old row brings it back, at the top.
    assert!(view.apply(&list_updated(1, TaskStatus::Failed, newest as Seq + 1)));
    assert_eq!(view.ordered_rows()[0].id, TaskId(1));
    assert!(view.row(TaskId(2)).is_none());
}

#[test]
fn a_filtered_view_takes_only_matching_rows_and_drops_rows_that_stop_matching() {
    let failed = DashboardQuery::default().with_status(Some(TaskStatus::Failed));
    let mut view = DashboardView::from_page(
        2,
        state(vec![
            row(1, TaskStatus::Failed, 1),
            row(2, TaskStatus::Received, 2),
        ]),
        failed,
        Some(UserId(1)),
    );
    assert_eq!(view.len(), 1, "rows outside the filter are not shown");

    assert!(!view.apply(&list_updated(3, TaskStatus::Received, 3)));
    assert!(view.apply(&list_updated(4, TaskStatus::Failed, 4)));
    assert!(view.row(TaskId(4)).is_some());
    // Task 1 is retried: it is no longer failed, so it leaves the view.
    assert!(view.apply(&list_updated(1, TaskStatus::Received, 5)));
    assert!(view.row(TaskId(1)).is_none());
    assert_eq!(view.len(), 1);
}

#[test]
fn mine_means_the_viewer_and_nobody_without_one() {
    let mine = DashboardQuery::default().with_mine(true);
    let rows = || {
        state(vec![
            owned_by(row(1, TaskStatus::Received, 1), 7),
            row(2, TaskStatus::Received, 2),
        ])
    };
    let view = DashboardView::from_page(2, rows(), mine.clone(), Some(UserId(7)));
    assert_eq!(
        view.ordered_rows().iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![TaskId(1)]
    );
    let anonymous = DashboardView::from_page(2, rows(), mine, None);
    assert!(anonymous.is_empty());
}

#[test]
fn a_later_page_updates_its_rows_but_takes_no_new_ones() {
    let page2 = DashboardQuery::default().with_page(2);
    let mut view = DashboardView::from_page(
        10,
        state(vec![row(1, TaskStatus::Received, 1)]),
        page2,
        None,
    );
    assert!(
        !view.apply(&list_updated(11, TaskStatus::Received, 11)),
        "a new task belongs on page 1"
    );
    assert!(view.apply(&list_updated(1, TaskStatus::Analyzing, 12)));
    assert_eq!(view.row(TaskId(1)).unwrap().status, TaskStatus::Analyzing);
    assert!(!view.needs_reload());

    // A snapshot only has the newest page: this view must be loaded again.
    let snapshot = ServerFrame::at(
        20,
        ServerMsg::DashboardState(state(vec![row(11, TaskStatus::Received, 11)])),
    );
    assert!(view.apply(&snapshot));
    assert!(view.needs_reload());
    let mut first = DashboardView::default();
    first.apply(&snapshot);
    assert!(
        !first.needs_reload(),
        "the first page is rebuilt from the snapshot itself"
    );
}

fn status_changed(row: TaskSummary, previous: Option<TaskStatus>, seq: Seq) -> ServerFrame {
    // The server's counts are the whole list's: a scoped view must not take them.
    let mut everyone = StatusCounts::default();
    everyone.0.insert(TaskStatus::Merged, 99);
    ServerFrame::at(
        seq,
        ServerMsg::TaskListUpdated(TaskListUpdated {
            task: TaskSummary {
                last_seq: seq,
                ..row
            },
            counts: Some(everyone),
            previous,
        }),
    )
}

fn titled(mut row: TaskSummary, title: &str) -> TaskSummary {
    row.title = title.into();
    row
}

#[test]
fn a_scoped_view_counts_its_own_rows_by_their_previous_status() {
    let mine = DashboardQuery::default().with_mine(true);
    let mut counts = StatusCounts::default();
    counts.0.insert(TaskStatus::Received, 1);
    let mut view = DashboardView::from_page(
        1,
        DashboardState {
            tasks: vec![owned_by(row(1, TaskStatus::Received, 1), 7)],
            counts: counts.clone(),
        },
        mine,
        Some(UserId(7)),
    );
    // Someone else's new task: not counted here.
    assert!(!view.apply(&status_changed(row(2, TaskStatus::Received, 2), None, 2)));
    assert_eq!(view.counts, counts);
    // The viewer's task moves on, and a new one of theirs arrives.
    let mine_row = owned_by(row(1, TaskStatus::Analyzing, 3), 7);
    assert!(view.apply(&status_changed(mine_row, Some(TaskStatus::Received), 3)));
    let new_row = owned_by(row(3, TaskStatus::Received, 4), 7);
    assert!(view.apply(&status_changed(new_row, None, 4)));
    assert_eq!(view.counts.get(TaskStatus::Received), 1);
    assert_eq!(view.counts.get(TaskStatus::Analyzing), 1);
    assert_eq!(view.counts.total(), 2);
    assert!(!view.needs_reload());

    // After a replay of one of its rows, the whole list's counts say nothing about
    // this scope: reload.
    let replayed = owned_by(row(1, TaskStatus::Dispatched, 8), 7);
    assert!(view.apply(&list_updated_row(replayed, 8)));
    let whole = ServerFrame::at(
        9,
        ServerMsg::TaskCountChanged(TaskCountChanged {
            counts: StatusCounts::default(),
        }),
    );
    assert!(view.apply(&whole));
    assert_eq!(view.counts.total(), 2);
    assert!(view.needs_reload());
}

#[test]
fn a_search_view_takes_title_matches_and_reloads_for_rows_it_cannot_decide() {
    let search = DashboardQuery::default().with_search("login");
    let mut view = DashboardView::from_page(
        2,
        DashboardState {
            // Task 1 matched on the server by its description.
            tasks: vec![titled(row(1, TaskStatus::Received, 1), "Slow page")],
            counts: StatusCounts::default(),
        },
        search.clone(),
        None,
    );
    assert_eq!(
        view.len(),
        1,
        "the server's rows are kept whatever their title"
    );
    let hit = titled(row(2, TaskStatus::Received, 3), "Login fails");
    assert!(view.apply(&status_changed(hit, None, 3)));
    assert!(view.row(TaskId(2)).is_some());
    assert_eq!(view.counts.get(TaskStatus::Received), 1);
    // A row the view shows stays in it when it changes.
    let moved = titled(row(1, TaskStatus::Analyzing, 4), "Slow page");
    assert!(view.apply(&status_changed(moved, Some(TaskStatus::Received), 4)));
    assert_eq!(view.row(TaskId(1)).unwrap().status, TaskStatus::Analyzing);
    assert!(!view.needs_reload());
    // A new row without the word in its title may have it in its description.
    let maybe = titled(row(5, TaskStatus::Received, 5), "Other thing");
    assert!(view.apply(&status_changed(maybe, None, 5)));
    assert!(view.row(TaskId(5)).is_none());
    assert!(view.needs_reload());

    // Somebody else's row cannot match a creator filter, whatever its description.
    let theirs = search.with_creator(Some(UserId(9)));
    let mut view = DashboardView::from_page(1, state(vec![]), theirs, None);
    let other = titled(row(6, TaskStatus::Received, 2), "Other thing");
    assert!(!view.apply(&status_changed(other, None, 2)));
    assert!(!view.needs_reload());
}

#[test]
fn a_sorted_page_puts_live_rows_where_its_order_says() {
    let by_title = DashboardQuery::default().with_sort(Sort::by(SortKey::Title));
    let rows: Vec<TaskSummary> = (1..=PAGE_SIZE as i64)
        .map(|id| {
            titled(
                row(id, TaskStatus::Received, id as Seq),
                &format!("m{id:03}"),
            )
        })
        .collect();
    let mut view = DashboardView::from_page(PAGE_SIZE as Seq, state(rows), by_title, None);
    let last_before = view.ordered_rows().last().unwrap().id;
    // Sorts after every row of a full page: it belongs on a later page.
    let late = titled(row(100, TaskStatus::Received, 100), "zebra");
    assert!(!view.apply(&list_updated_row(late, 100)));
    assert!(view.row(TaskId(100)).is_none());
    // Sorts first: it enters, and the page's last row leaves.
    let early = titled(row(101, TaskStatus::Received, 101), "Apple");
    assert!(view.apply(&list_updated_row(early, 101)));
    let order = view.ordered_rows();
    assert_eq!(order[0].id, TaskId(101));
    assert_eq!(order.len(), PAGE_SIZE);
    assert!(view.row(last_before).is_none());
    // Descending puts the page the other way round.
    let reversed =
        DashboardQuery::default().with_sort(Sort::by(SortKey::Title).toggled(SortKey::Title));
    let view = DashboardView::from_page(
        2,
        state(vec![
            titled(row(1, TaskStatus::Received, 1), "a"),
            titled(row(2, TaskStatus::Received, 2), "B"),
        ]),
        reversed,
        None,
    );
    assert_eq!(view.ordered_rows()[0].id, TaskId(2));
}

fn list_updated_row(task: TaskSummary, seq: Seq) -> ServerFrame {
    ServerFrame::at(
        seq,
        ServerMsg::TaskListUpdated(TaskListUpdated {
            task,
            counts: None,
            previous: None,
        }),
    )
}

#[test]
fn a_full_page_reloads_when_a_row_leaves_it_or_moves_past_its_end() {
    let by_status = DashboardQuery::default().with_sort(Sort::by(SortKey::Status));
    let rows: Vec<TaskSummary> = (1..=PAGE_SIZE as i64)
        .map(|id| row(id, TaskStatus::Received, id as Seq))
        .collect();
    let page = || state(rows.clone());
    // Task 1 moves on to analysing: it sorts after every received task, some of which
    // may be on the next page.
    let moved = list_updated(1, TaskStatus::Analyzing, 100);
    let mut full = DashboardView::from_page(60, page(), by_status.clone(), None).with_more(true);
    assert!(full.apply(&moved));
    assert!(full.needs_reload());
    // With nothing after this page, it simply goes last.
    let mut whole = DashboardView::from_page(60, page(), by_status, None);
    assert!(whole.apply(&moved));
    assert!(!whole.needs_reload());
    assert_eq!(whole.ordered_rows().last().unwrap().id, TaskId(1));

    // A change that keeps a row in place (its title, under a title sort) does not.
    let by_title = DashboardQuery::default().with_sort(Sort::by(SortKey::Title));
    let mut titled = DashboardView::from_page(60, page(), by_title, None).with_more(true);
    let last = titled.ordered_rows().last().unwrap().id;
    assert!(titled.apply(&list_updated(last.0, TaskStatus::Analyzing, 101)));
    assert!(!titled.needs_reload());

    // A filtered page that loses a row has a gap the next page would fill.
    let received = DashboardQuery::default().with_status(Some(TaskStatus::Received));
    let mut filtered = DashboardView::from_page(60, page(), received, None).with_more(true);
    assert!(filtered.apply(&list_updated(2, TaskStatus::Analyzing, 102)));
    assert!(filtered.needs_reload());
}

#[test]
fn a_scoped_view_reloads_after_a_replay_only_if_a_replayed_row_was_its_own() {
    let mine = DashboardQuery::default().with_mine(true);
    let replay_end = |seq| {
        ServerFrame::at(
            seq,
            ServerMsg::TaskCountChanged(TaskCountChanged {
                counts: StatusCounts::default(),
            }),
        )
    };
    let mut view = DashboardView::from_page(1, state(vec![]), mine.clone(), Some(UserId(7)));
    // Someone else's rows replayed: nothing here changed.
    assert!(!view.apply(&list_updated(3, TaskStatus::Analyzing, 2)));
    assert!(!view.apply(&replay_end(2)));
    assert!(!view.needs_reload());
    // One of the viewer's: its status may have moved, the counts must be loaded again.
    let mut view = DashboardView::from_page(1, state(vec![]), mine, Some(UserId(7)));
    let own = owned_by(row(4, TaskStatus::Analyzing, 3), 7);
    assert!(view.apply(&list_updated_row(own, 3)));
    assert!(view.apply(&replay_end(3)));
    assert!(view.needs_reload());
}
