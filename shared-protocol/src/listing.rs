//! Which slice of the task list the dashboard shows: a status filter, "mine only", and
//! a page of the list ordered by last change. It lives in the URL (`/?status=failed&
//! mine=1&page=2`), so a link reproduces the view; the server renders that page, and the
//! browser applies live rows to it with [`DashboardQuery::matches`].

use crate::domain::{TaskStatus, TaskSummary, UserId};

/// Rows on one page of the dashboard, and in a `dashboard:state` snapshot.
pub const PAGE_SIZE: usize = 50;

/// The highest page number accepted; deeper links show the last rows there are.
pub const MAX_PAGE: u32 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DashboardQuery {
    pub status: Option<TaskStatus>,
    /// Only the viewer's own tasks.
    pub mine: bool,
    /// 1-based.
    pub page: u32,
}

impl Default for DashboardQuery {
    fn default() -> Self {
        DashboardQuery {
            status: None,
            mine: false,
            page: 1,
        }
    }
}

impl DashboardQuery {
    /// Reads the URL's query parameters. Unknown parameters and values that mean nothing
    /// (`status=nope`, `page=0`) fall back to the default view rather than failing: a
    /// stale or hand-edited link still opens the dashboard.
    pub fn from_params<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut q = DashboardQuery::default();
        for (key, value) in params {
            match key {
                "status" => q.status = TaskStatus::parse(value),
                "mine" => q.mine = matches!(value, "1" | "true" | "on"),
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
        q
    }

    /// The URL for this view (`/` for the default one).
    pub fn href(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.status {
            parts.push(format!("status={}", s.as_str()));
        }
        if self.mine {
            parts.push("mine=1".to_owned());
        }
        if self.page > 1 {
            parts.push(format!("page={}", self.page));
        }
        if parts.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{}", parts.join("&"))
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

    pub fn with_page(self, page: u32) -> Self {
        DashboardQuery {
            page: page.clamp(1, MAX_PAGE),
            ..self
        }
    }

    /// Rows to skip before this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.max(1) - 1) * PAGE_SIZE as u64
    }

    /// Whether a row belongs in this view, page aside; with no `viewer`, no row is
    /// "mine".
    pub fn matches(&self, row: &TaskSummary, viewer: Option<UserId>) -> bool {
        self.status.is_none_or(|s| row.status == s)
            && (!self.mine || viewer == Some(row.creator.id))
    }

    /// The first page, unfiltered: what `/` shows and a snapshot holds.
    pub fn is_default(&self) -> bool {
        *self == DashboardQuery::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_survives_its_own_url() {
        for q in [
            DashboardQuery::default(),
            DashboardQuery {
                status: Some(TaskStatus::NeedsClarification),
                mine: true,
                page: 3,
            },
            DashboardQuery::default().with_page(2),
            DashboardQuery::default().with_mine(true),
        ] {
            let href = q.href();
            let query = href.strip_prefix("/?").unwrap_or("");
            let params = query
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| p.split_once('=').unwrap());
            assert_eq!(DashboardQuery::from_params(params), q, "{href}");
        }
        assert_eq!(DashboardQuery::default().href(), "/");
    }

    #[test]
    fn nonsense_falls_back_to_the_default_view() {
        let q = DashboardQuery::from_params([
            ("status", "nope"),
            ("page", "0"),
            ("mine", "maybe"),
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
        assert_eq!(q.with_status(Some(TaskStatus::Failed)).page, 1);
        assert_eq!(q.with_mine(true).page, 1);
        assert_eq!(q.offset(), 150);
    }
}
