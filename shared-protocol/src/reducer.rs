//! Pure reducers: apply server frames to the client's state.
//!
//! Both views remember the `seq` they reflect and ignore a frame whose `seq` they have
//! already applied, so a replay that overlaps what a client already has changes nothing.
//! A snapshot (`*:state`) replaces the view: the server sends one when it cannot replay.

use std::collections::BTreeMap;

use crate::domain::*;
use crate::frame::ServerFrame;
use crate::listing::{DashboardQuery, Match, PAGE_SIZE};
use crate::messages::*;

/// The dashboard: the rows of one view of the task list (see [`DashboardQuery`]) and the
/// counts per status of the view's scope.
///
/// Live rows are applied to the view it shows: a row that stops matching the filter
/// leaves, a new or changed row that matches enters the first page where its order puts
/// it (pushing the last one off), and a later page only updates the rows it already
/// shows. A snapshot holds the newest page of the unfiltered list, so any other view
/// asks for a reload ([`DashboardView::needs_reload`]) rather than show the wrong rows;
/// so does a search view when a row it does not show may match by its description,
/// which rows do not carry.
///
/// The server's counts are the viewer's whole list. A scoped view (mine, a creator, a
/// search) moves its own counts instead, by the status a live row had before
/// ([`TaskListUpdated::previous`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardView {
    /// The newest `seq` this view reflects; a client rejoins with it as `since`.
    pub seq: Seq,
    rows: BTreeMap<TaskId, TaskSummary>,
    pub counts: StatusCounts,
    /// `dashboard:task_count_changed` shares its `seq` with the row update it follows,
    /// so counts keep their own high-water mark.
    counts_seq: Seq,
    query: DashboardQuery,
    /// Whose "mine" the query means; `None` never matches a "mine" view.
    viewer: Option<UserId>,
    needs_reload: bool,
    /// Whether later pages have rows: then a row that leaves this page, or moves past
    /// its last row, leaves a gap only the server can fill.
    more: bool,
    /// A row in scope changed without the counts saying how (a replayed row): the
    /// whole list's counts that follow a replay cannot be applied to a scoped view.
    uncounted: bool,
}

impl DashboardView {
    /// The default view (the first page, unfiltered) from a snapshot.
    pub fn from_state(seq: Seq, state: DashboardState) -> Self {
        DashboardView::from_page(seq, state, DashboardQuery::default(), None)
    }

    /// A view from the rows the server rendered for `query`, as seen by `viewer`; the
    /// counts are the server's for the query's scope.
    pub fn from_page(
        seq: Seq,
        state: DashboardState,
        query: DashboardQuery,
        viewer: Option<UserId>,
    ) -> Self {
        let mut view = DashboardView {
            seq,
            rows: BTreeMap::new(),
            counts: state.counts,
            counts_seq: seq,
            query,
            viewer,
            needs_reload: false,
            more: false,
            uncounted: false,
        };
        for row in state.tasks {
            // A search page's rows matched on the server, by title or description.
            if view.query.matches(&row, viewer) != Match::No {
                view.rows.insert(row.id, row);
            }
        }
        view.trim();
        view
    }

    /// The same view, told whether the server has rows after this page.
    pub fn with_more(mut self, more: bool) -> Self {
        self.more = more;
        self
    }

    pub fn query(&self) -> &DashboardQuery {
        &self.query
    }

    /// Whether this view can no longer follow the list by itself (a snapshot replaced
    /// it, or a row may belong that it cannot decide on): the page should be loaded
    /// again for its query.
    pub fn needs_reload(&self) -> bool {
        self.needs_reload
    }

    /// Applies one frame; returns whether the view changed.
    pub fn apply(&mut self, frame: &ServerFrame) -> bool {
        let seq = frame.seq;
        match (&frame.msg, seq) {
            (ServerMsg::DashboardState(state), Some(seq)) => {
                let reload = !self.query.is_default();
                *self = DashboardView::from_page(
                    seq,
                    state.clone(),
                    std::mem::take(&mut self.query),
                    self.viewer,
                );
                // A snapshot is unfiltered: only rows that surely match are kept.
                let (query, viewer) = (&self.query, self.viewer);
                self.rows
                    .retain(|_, r| query.matches(r, viewer) == Match::Yes);
                self.needs_reload = reload;
                true
            }
            (ServerMsg::TaskListUpdated(update), Some(seq)) => {
                let counted = match &update.counts {
                    Some(counts) => self.count(seq, update, counts),
                    None => {
                        if seq > self.seq && self.query.is_scoped() {
                            let m = self.query.in_scope(&update.task, self.viewer);
                            self.uncounted |= self.decide(m, &update.task) != Match::No;
                        }
                        false
                    }
                };
                self.upsert(seq, &update.task) || counted
            }
            (ServerMsg::TaskCountChanged(change), Some(seq)) => {
                if seq <= self.counts_seq {
                    false
                } else if self.query.is_scoped() {
                    // The whole list's counts after a replay: the rows replayed do not
                    // say which statuses they left, so a scoped view reloads its own,
                    // if a replayed row may be in its scope.
                    self.counts_seq = seq;
                    let reload = std::mem::take(&mut self.uncounted);
                    self.needs_reload |= reload;
                    reload
                } else {
                    self.counts_seq = seq;
                    self.counts = change.counts.clone();
                    true
                }
            }
            // A task room's events: the dashboard follows its own room only. The rooms
            // send independently, so a task event may come before a dashboard row with a
            // lower seq, which must not then count as already applied.
            _ => false,
        }
    }

    /// Whether `row` (as it is now) is in the view's scope or its page; a row the view
    /// shows matched already, so a search cannot exclude it.
    fn decide(&self, m: Match, row: &TaskSummary) -> Match {
        match m {
            Match::Unknown if self.rows.contains_key(&row.id) => Match::Yes,
            m => m,
        }
    }

    /// Counts after a row's status changed, unless newer ones are already shown.
    fn count(&mut self, seq: Seq, update: &TaskListUpdated, counts: &StatusCounts) -> bool {
        if seq <= self.counts_seq {
            return false;
        }
        self.counts_seq = seq;
        if !self.query.is_scoped() {
            self.counts = counts.clone();
            return true;
        }
        let row = &update.task;
        match self.decide(self.query.in_scope(row, self.viewer), row) {
            Match::Yes => {
                self.counts.shift(update.previous, row.status);
                true
            }
            Match::No => false,
            Match::Unknown => {
                self.needs_reload = true;
                true
            }
        }
    }

    fn upsert(&mut self, seq: Seq, row: &TaskSummary) -> bool {
        // The dashboard stream is one ordered sequence: anything at or below `self.seq`
        // was applied already or is reflected in the snapshot.
        if seq <= self.seq {
            return false;
        }
        self.seq = seq;
        let present = self.rows.contains_key(&row.id);
        match self.decide(self.query.matches(row, self.viewer), row) {
            Match::No => {
                let left = self.rows.remove(&row.id).is_some();
                // A later page's first row should move up into the gap.
                self.needs_reload |= left && self.more;
                return left;
            }
            Match::Unknown if self.query.page == 1 => {
                self.needs_reload = true;
                return true;
            }
            Match::Unknown => return false,
            Match::Yes => {}
        }
        if !present && self.query.page > 1 {
            return false;
        }
        let mut row = row.clone();
        row.last_seq = row.last_seq.max(seq);
        let id = row.id;
        let sort = self.query.sort;
        let moved_later = self
            .rows
            .insert(id, row.clone())
            .is_some_and(|before| sort.cmp(&before, &row).is_lt());
        // A shown row that moved down past every other may belong on a later page,
        // behind rows this page does not have.
        if moved_later && self.more && self.last_id() == Some(id) {
            self.needs_reload = true;
        }
        self.trim();
        present || self.rows.contains_key(&id)
    }

    /// The row this page's order puts last.
    fn last_id(&self) -> Option<TaskId> {
        let sort = self.query.sort;
        self.rows
            .values()
            .max_by(|a, b| sort.cmp(a, b))
            .map(|r| r.id)
    }

    /// Keeps a page's worth of rows: the first ones in the view's order.
    fn trim(&mut self) {
        while self.rows.len() > PAGE_SIZE {
            match self.last_id() {
                Some(id) => self.rows.remove(&id),
                None => break,
            };
        }
    }

    pub fn row(&self, id: TaskId) -> Option<&TaskSummary> {
        self.rows.get(&id)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rows in the view's order (the server's order too).
    pub fn ordered_rows(&self) -> Vec<TaskSummary> {
        let sort = self.query.sort;
        let mut rows: Vec<TaskSummary> = self.rows.values().cloned().collect();
        rows.sort_by(|a, b| sort.cmp(a, b));
        rows
    }
}

/// One task's page: its detail, timeline and viewers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView {
    /// The newest `seq` this view reflects.
    pub seq: Seq,
    pub task: TaskDetail,
    pub timeline: Vec<TimelineEntry>,
    pub viewers: Vec<String>,
}

impl TaskView {
    pub fn from_state(seq: Seq, state: TaskState) -> Self {
        TaskView {
            seq,
            task: state.task,
            timeline: state.timeline,
            viewers: Vec::new(),
        }
    }

    pub fn id(&self) -> TaskId {
        self.task.summary.id
    }

    /// Applies one frame; returns whether the view changed. Frames about other tasks
    /// are ignored.
    pub fn apply(&mut self, frame: &ServerFrame) -> bool {
        match (&frame.msg, frame.seq) {
            (ServerMsg::TaskState(state), Some(seq)) if state.task.summary.id == self.id() => {
                let viewers = std::mem::take(&mut self.viewers);
                *self = TaskView::from_state(seq, state.clone());
                self.viewers = viewers;
                true
            }
            (ServerMsg::TaskViewers(v), _) if v.task_id == self.id() => {
                if self.viewers == v.viewers {
                    return false;
                }
                self.viewers = v.viewers.clone();
                true
            }
            (msg, Some(seq)) => {
                let Some(meta) = msg.event_meta() else {
                    return false;
                };
                if meta.task_id != self.id() || seq <= self.seq {
                    return false;
                }
                self.apply_event(seq, msg);
                true
            }
            _ => false,
        }
    }

    fn apply_event(&mut self, seq: Seq, msg: &ServerMsg) {
        self.seq = seq;
        self.task.apply_event(msg);
        if let Some(entry) = msg.timeline_entry(seq) {
            self.timeline.push(entry);
        }
    }
}

/// What a pull request closed without merging leaves on its task.
pub const PR_CLOSED_MESSAGE: &str = "The pull request was closed without merging.";

impl TaskDetail {
    /// Applies one `task:*` event: the row after it, and the fields it sets. The server
    /// builds a task's new state with this and the browser follows it with this, so the
    /// two cannot drift apart. Other messages change nothing.
    pub fn apply_event(&mut self, msg: &ServerMsg) {
        let Some(meta) = msg.event_meta() else {
            return;
        };
        self.summary = meta.task.clone();
        match msg {
            ServerMsg::TaskCreated(e) => self.description = e.description.clone(),
            ServerMsg::ClarificationNeeded(e) => {
                self.questions = e.questions.clone();
                self.answers.clear();
            }
            ServerMsg::TaskClarified(e) => self.answers = e.answers.clone(),
            ServerMsg::TaskDispatched(e) => {
                self.issue_number = e.issue_number;
                self.issue_url = e.issue_url.clone();
                self.github_branch = e.github_branch.clone();
            }
            ServerMsg::PrOpened(e) => {
                self.pr_number = e.pr_number.or(self.pr_number);
                self.pr_url = e.pr_url.clone().or(self.pr_url.take());
                self.pr_title = e.pr_title.clone().or(self.pr_title.take());
                self.error_message = None;
            }
            ServerMsg::PrMerged(e) => self.merge_commit_sha = e.merge_commit_sha.clone(),
            ServerMsg::PrClosed(_) => self.error_message = Some(PR_CLOSED_MESSAGE.to_owned()),
            ServerMsg::TaskFailed(e) => self.error_message = Some(e.reason.clone()),
            ServerMsg::TaskRetried(_) => self.error_message = None,
            _ => {}
        }
    }
}
