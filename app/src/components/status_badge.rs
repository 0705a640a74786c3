//! A task's status as a coloured badge that pulses when the status changes.

use leptos::prelude::*;
use shared_protocol::TaskStatus;

#[component]
pub fn StatusBadge(
    #[prop(into)] status: Signal<TaskStatus>,
    /// `data-testid` of the badge.
    #[prop(default = "status-badge")]
    test_id: &'static str,
) -> impl IntoView {
    let first = status.get_untracked();
    // Rebuilt on every change, so the pulse animation plays again.
    move || {
        let s = status.get();
        view! {
            <span
                class=format!("badge badge-{}", s.as_str())
                class:changed=s != first
                data-testid=test_id
                data-status=s.as_str()
            >
                {s.label()}
            </span>
        }
    }
}
