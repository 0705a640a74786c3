//! Which slice of the task list the dashboard shows: a status filter, "mine only", a
//! creator, a search over titles and descriptions, an order, and a page. It lives in
//! the URL (`/?q=login&status=failed&sort=title&page=2`), so a link reproduces the
//! view; the server renders that page, and the browser applies live rows to it with
//! [`DashboardQuery::matches`].
//!
//! Counts follow the view's *scope* (mine, creator, search) but not its status filter:
//! the count cards are the status filter, so each shows how many tasks in scope it
//! would list.

use crate::domain::{TaskStatus, TaskSummary, UserId};

/// Rows on one page of the dashboard, and in a `dashboard:state` snapshot.
pub const PAGE_SIZE: usize = 50;

/// The highest page number accepted; deeper links show the last rows there are.
pub const MAX_PAGE: u32 = 10_000;

/// Words of a search that count; the rest of a longer search is ignored.
pub const MAX_SEARCH_TERMS: usize = 8;
/// Characters of one search word that count.
pub const MAX_TERM_CHARS: usize = 64;

/// What a list is ordered by. Ties go to the most recently changed task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortKey {
    /// Last change (the default).
    #[default]
    Updated,
    /// Creation (the task's id).
    Created,
    /// Place in the pipeline, from received to failed.
    Status,
    /// Title, ignoring ASCII case.
    Title,
}

impl SortKey {
    pub const ALL: [SortKey; 4] = [
        SortKey::Updated,
        SortKey::Created,
        SortKey::Status,
        SortKey::Title,
    ];

    /// The URL's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Updated => "updated",
            SortKey::Created => "created",
            SortKey::Status => "status",
            SortKey::Title => "title",
        }
    }

    pub fn parse(s: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Newest first for times; A to Z and the pipeline's order otherwise.
    pub fn descending_by_default(self) -> bool {
        matches!(self, SortKey::Updated | SortKey::Created)
    }
}

/// A sort key and its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

/// Most recently changed first.
impl Default for Sort {
    fn default() -> Self {
        Sort::by(SortKey::Updated)
    }
}

impl Sort {
    /// `key` in its usual direction.
    pub fn by(key: SortKey) -> Sort {
        Sort {
            key,
            descending: key.descending_by_default(),
        }
    }

    /// The order a click on `key`'s column header gives: the other direction when the
    /// list is already ordered by it, otherwise its usual one.
    pub fn toggled(self, key: SortKey) -> Sort {
        if self.key == key {
            Sort {
                key,
                descending: !self.descending,
            }
        } else {
            Sort::by(key)
        }
    }

    /// Whether `a` comes before `b` in this order; the server's `ORDER BY` spells the
    /// same thing in SQL.
    pub fn cmp(&self, a: &TaskSummary, b: &TaskSummary) -> std::cmp::Ordering {
        let primary = match self.key {
            SortKey::Updated => a.last_seq.cmp(&b.last_seq),
            SortKey::Created => a.id.cmp(&b.id),
            SortKey::Status => a.status.cmp(&b.status),
            SortKey::Title => a
                .title
                .to_ascii_lowercase()
                .cmp(&b.title.to_ascii_lowercase()),
        };
        let primary = if self.descending {
            primary.reverse()
        } else {
            primary
        };
        primary
            .then(b.last_seq.cmp(&a.last_seq))
            .then(b.id.cmp(&a.id))
    }
}

impl Default for DashboardQuery {
    fn default() -> Self {
        DashboardQuery {
            status: None,
            mine: false,
            creator: None,
            search: None,
            sort: Sort::by(SortKey::Updated),
            page: 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DashboardQuery {
    pub status: Option<TaskStatus>,
    /// Only the viewer's own tasks.
    pub mine: bool,
    /// Only tasks this person created.
    pub creator: Option<UserId>,
    /// Words every listed task has in its title or description (each as a word or the
    /// start of one); normalised by [`normalise_search`], never empty.
    pub search: Option<String>,
    pub sort: Sort,
    /// 1-based.
    pub page: u32,
}

/// Whether a row is in a view: yes, no, or not known from the row alone (a search word
/// that is not in the title may be in the description, which rows do not carry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    Yes,
    No,
    Unknown,
}

/// The words of a search as the server looks them up: runs of letters and digits,
/// lowercased, at most [`MAX_SEARCH_TERMS`] of them.
pub fn search_terms(search: &str) -> Vec<String> {
    words(search)
        .map(|w| w.chars().take(MAX_TERM_CHARS).collect())
        .take(MAX_SEARCH_TERMS)
        .collect()
}

/// Runs of letters and digits, lowercased.
fn words(text: &str) -> impl Iterator<Item = String> {
    // Lowercased first: lowercasing can add marks that are not letters (`İ`), which
    // must split the same way everywhere.
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into_iter()
}

/// A search as the URL keeps it: its words joined by single spaces, or `None` when it
/// has none (`"  "`, `"!!"`).
pub fn normalise_search(search: &str) -> Option<String> {
    let terms = search_terms(search);
    (!terms.is_empty()).then(|| terms.join(" "))
}

impl DashboardQuery {
    /// Reads the URL's query parameters. Unknown parameters and values that mean nothing
    /// (`status=nope`, `page=0`) fall back to the default view rather than failing: a
    /// stale or hand-edited link still opens the dashboard.
    pub fn from_params<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut q = DashboardQuery::default();
        let mut order = None;
        for (key, value) in params {
            match key {
                "status" => q.status = TaskStatus::parse(value),
                "mine" => q.mine = matches!(value, "1" | "true" | "on"),
                "creator" => q.creator = value.parse::<i64>().ok().filter(|id| *id > 0).map(UserId),
                "q" => q.search = normalise_search(value),
                "sort" => q.sort = SortKey::parse(value).map(Sort::by).unwrap_or_default(),
                "order" => {
                    order = Some(value == "desc").filter(|_| matches!(value, "asc" | "desc"))
                }
                "page" => {
                    q.page = value
                        .parse::<u32>()
                        .ok()
                        .filter(|p| *p >= 1)
                        .unwrap_or(1)
                        .min(MAX_PAGE)
                }
                _ => {}
            }
        }
        if let Some(descending) = order {
            q.sort.descending = descending;
        }
        q
    }

    /// The URL's query string for this view, without the `?` (empty for the default).
    pub fn query_string(&self) -> String {
        let mut s = QueryString::default();
        if let Some(search) = &self.search {
            s.push("q", search);
        }
        if let Some(status) = self.status {
            s.push("status", status.as_str());
        }
        if self.mine {
            s.push("mine", "1");
        }
        if let Some(creator) = self.creator {
            s.push("creator", &creator.0.to_string());
        }
        for (key, value) in self.sort_params() {
            s.push(key, value);
        }
        if self.page > 1 {
            s.push("page", &self.page.to_string());
        }
        s.0
    }

    /// `sort` and `order` as the URL spells them: nothing for the default order, and no
    /// `order` for a key's usual direction.
    pub fn sort_params(&self) -> Vec<(&'static str, &'static str)> {
        let mut params = Vec::new();
        if self.sort != Sort::default() {
            params.push(("sort", self.sort.key.as_str()));
            if self.sort.descending != self.sort.key.descending_by_default() {
                params.push(("order", if self.sort.descending { "desc" } else { "asc" }));
            }
        }
        params
    }

    /// Reads a URL's query string (without the `?`), as [`DashboardQuery::from_params`].
    pub fn from_query_string(query: &str) -> Self {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        DashboardQuery::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The URL for this view (`/` for the default one).
    pub fn href(&self) -> String {
        let query = self.query_string();
        if query.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{query}")
        }
    }

    pub fn with_status(self, status: Option<TaskStatus>) -> Self {
        DashboardQuery {
            status,
            page: 1,
            ..self
        }
    }

    pub fn with_mine(self, mine: bool) -> Self {
        DashboardQuery {
            mine,
            page: 1,
            ..self
        }
    }

    pub fn with_creator(self, creator: Option<UserId>) -> Self {
        DashboardQuery {
            creator,
            page: 1,
            ..self
        }
    }

    pub fn with_search(self, search: &str) -> Self {
        DashboardQuery {
            search: normalise_search(search),
            page: 1,
            ..self
        }
    }

    pub fn with_sort(self, sort: Sort) -> Self {
        DashboardQuery {
            sort,
            page: 1,
            ..self
        }
    }

    pub fn with_page(self, page: u32) -> Self {
        DashboardQuery {
            page: page.clamp(1, MAX_PAGE),
            ..self
        }
    }

    /// The same scope and order with no status filter, on the first page: what the
    /// count cards count.
    pub fn scope(&self) -> DashboardQuery {
        DashboardQuery {
            status: None,
            page: 1,
            ..self.clone()
        }
    }

    /// Whether the view narrows whose or which tasks it counts (mine, a creator, a
    /// search); an unscoped view counts everything the viewer may see.
    pub fn is_scoped(&self) -> bool {
        self.mine || self.creator.is_some() || self.search.is_some()
    }

    /// Rows to skip before this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.max(1) - 1) * PAGE_SIZE as u64
    }

    /// Whether a row is in this view's scope (see [`DashboardQuery::scope`]); with no
    /// `viewer`, no row is "mine". A search is decided by the title alone: a row whose
    /// title lacks a word is [`Match::Unknown`].
    pub fn in_scope(&self, row: &TaskSummary, viewer: Option<UserId>) -> Match {
        if (self.mine && viewer != Some(row.creator.id))
            || self.creator.is_some_and(|c| c != row.creator.id)
        {
            return Match::No;
        }
        match &self.search {
            Some(search) if !title_has(&row.title, search) => Match::Unknown,
            _ => Match::Yes,
        }
    }

    /// Whether a row belongs in this view, page aside (see [`DashboardQuery::in_scope`]).
    pub fn matches(&self, row: &TaskSummary, viewer: Option<UserId>) -> Match {
        if self.status.is_some_and(|s| row.status != s) {
            return Match::No;
        }
        self.in_scope(row, viewer)
    }

    /// The first page, unfiltered: what `/` shows and a snapshot holds.
    pub fn is_default(&self) -> bool {
        *self == DashboardQuery::default()
    }
}

/// Whether every word of `search` starts a word of `title`.
fn title_has(title: &str, search: &str) -> bool {
    let words: Vec<String> = words(title).collect();
    search
        .split(' ')
        .all(|term| words.iter().any(|w| w.starts_with(term)))
}

/// `application/x-www-form-urlencoded`, as browsers write a GET form.
#[derive(Default)]
struct QueryString(String);

impl QueryString {
    fn push(&mut self, key: &str, value: &str) {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0.push_str(key);
        self.0.push('=');
        self.0
            .extend(form_urlencoded::byte_serialize(value.as_bytes()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(href: &str) -> DashboardQuery {
        DashboardQuery::from_query_string(href.strip_prefix("/?").unwrap_or(""))
    }

    #[test]
    fn a_view_survives_its_own_url() {
        for q in [
            DashboardQuery::default(),
            DashboardQuery {
                status: Some(TaskStatus::NeedsClarification),
                mine: true,
                page: 3,
                ..DashboardQuery::default()
            },
            DashboardQuery::default().with_page(2),
            DashboardQuery::default().with_mine(true),
            DashboardQuery::default()
                .with_search("Login  page & café?")
                .with_creator(Some(UserId(7)))
                .with_sort(Sort::by(SortKey::Title).toggled(SortKey::Title)),
            DashboardQuery::default().with_sort(Sort::by(SortKey::Created)),
            DashboardQuery::default().with_sort(Sort::by(SortKey::Status)),
        ] {
            let href = q.href();
            assert_eq!(parse(&href), q, "{href}");
        }
        assert_eq!(DashboardQuery::default().href(), "/");
        assert_eq!(
            DashboardQuery::default().with_search("a+b c").href(),
            "/?q=a+b+c",
            "a search is spelled as a form spells it"
        );
    }

    #[test]
    fn nonsense_falls_back_to_the_default_view() {
        let q = DashboardQuery::from_params([
            ("status", "nope"),
            ("page", "0"),
            ("mine", "maybe"),
            ("creator", "-3"),
            ("q", "  !! "),
            ("sort", "size"),
            ("order", "sideways"),
            ("x", "y"),
        ]);
        assert_eq!(q, DashboardQuery::default());
        let deep = DashboardQuery::from_params([("page", "99999999999")]);
        assert_eq!(deep.page, 1, "an unparsable page is the first");
        let deep = DashboardQuery::from_params([("page", "4000000000")]);
        assert_eq!(deep.page, MAX_PAGE);
    }

    #[test]
    fn changing_a_filter_goes_back_to_the_first_page() {
        let q = DashboardQuery::default().with_page(4);
        assert_eq!(q.clone().with_status(Some(TaskStatus::Failed)).page, 1);
        assert_eq!(q.clone().with_mine(true).page, 1);
        assert_eq!(q.clone().with_search("x").page, 1);
        assert_eq!(q.clone().with_creator(Some(UserId(2))).page, 1);
        assert_eq!(q.clone().with_sort(Sort::by(SortKey::Title)).page, 1);
        assert_eq!(q.offset(), 150);
    }

    #[test]
    fn a_search_keeps_its_words_only() {
        assert_eq!(
            normalise_search(" Fix  the LOGIN-page! "),
            Some("fix the login page".into())
        );
        assert_eq!(normalise_search("..."), None);
        let long = "w ".repeat(20);
        assert_eq!(search_terms(&long).len(), MAX_SEARCH_TERMS);
        assert_eq!(search_terms(&"x".repeat(500))[0].len(), MAX_TERM_CHARS);
    }

    #[test]
    fn clicking_a_header_twice_reverses_its_order() {
        let by_title = Sort::default().toggled(SortKey::Title);
        assert_eq!(
            by_title,
            Sort {
                key: SortKey::Title,
                descending: false
            }
        );
        assert!(by_title.toggled(SortKey::Title).descending);
        assert_eq!(by_title.toggled(SortKey::Updated), Sort::default());
    }

    fn row(id: i64, title: &str, creator: i64) -> TaskSummary {
        TaskSummary {
            id: crate::TaskId(id),
            title: title.into(),
            status: TaskStatus::Received,
            creator: crate::UserRef {
                id: UserId(creator),
                name: format!("u{creator}"),
            },
            created_at: 0,
            updated_at: 0,
            last_seq: id as u64,
            private: false,
        }
    }

    #[test]
    fn a_title_decides_a_search_only_when_it_has_every_word() {
        let q = DashboardQuery::default().with_search("log pag");
        assert_eq!(
            q.matches(&row(1, "Login page is slow", 1), None),
            Match::Yes
        );
        assert_eq!(q.matches(&row(2, "Slow login", 1), None), Match::Unknown);
        let theirs = q.clone().with_creator(Some(UserId(2)));
        assert_eq!(theirs.matches(&row(3, "Slow login", 1), None), Match::No);
        let mine = DashboardQuery::default().with_mine(true);
        assert_eq!(mine.matches(&row(4, "x", 1), Some(UserId(1))), Match::Yes);
        assert_eq!(mine.matches(&row(4, "x", 1), None), Match::No);
        let failed = mine.with_status(Some(TaskStatus::Failed));
        assert_eq!(failed.matches(&row(4, "x", 1), Some(UserId(1))), Match::No);
        assert_eq!(
            failed.in_scope(&row(4, "x", 1), Some(UserId(1))),
            Match::Yes
        );
    }

    #[test]
    fn orders_break_ties_by_last_change() {
        let (a, b) = (row(1, "beta", 1), row(2, "Alpha", 1));
        use std::cmp::Ordering::*;
        assert_eq!(Sort::by(SortKey::Title).cmp(&b, &a), Less);
        assert_eq!(Sort::by(SortKey::Created).cmp(&b, &a), Less, "newest first");
        assert_eq!(
            Sort::by(SortKey::Status).cmp(&b, &a),
            Less,
            "same status: newest change first"
        );
        assert_eq!(Sort::default().cmp(&b, &a), Less);
    }
}
