//! Who may see a task: its creator, and the members of its org unless it is private.
//!
//! Visibility is fixed when a task is created (creator, org, private flag), so rooms and
//! the sequencer may cache it.

use shared_protocol::TaskSummary;

/// The person looking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Viewer {
    pub user_id: i64,
    pub org_id: i64,
}

/// Who may see one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visibility {
    pub creator_id: i64,
    pub org_id: i64,
    pub private: bool,
}

impl Visibility {
    pub fn of(summary: &TaskSummary, org_id: i64) -> Self {
        Visibility {
            creator_id: summary.creator.id.0,
            org_id,
            private: summary.private,
        }
    }

    pub fn allows(&self, viewer: Viewer) -> bool {
        self.creator_id == viewer.user_id || (self.org_id == viewer.org_id && !self.private)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creators_see_their_tasks_and_orgs_see_public_ones() {
        let public = Visibility {
            creator_id: 1,
            org_id: 10,
            private: false,
        };
        let private = Visibility {
            private: true,
            ..public
        };
        let creator = Viewer {
            user_id: 1,
            org_id: 10,
        };
        let colleague = Viewer {
            user_id: 2,
            org_id: 10,
        };
        let stranger = Viewer {
            user_id: 3,
            org_id: 20,
        };
        assert!(public.allows(creator) && public.allows(colleague) && !public.allows(stranger));
        assert!(private.allows(creator) && !private.allows(colleague) && !private.allows(stranger));
    }
}
