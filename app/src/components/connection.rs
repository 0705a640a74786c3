//! The live-connection indicator and the offline banner.

use leptos::prelude::*;

use crate::live::{use_live, ConnState};

#[component]
pub fn ConnectionIndicator() -> impl IntoView {
    let live = use_live();
    view! {
        <span
            class=move || format!("conn conn-{}", live.state.get().as_str())
            data-testid="conn-indicator"
            data-state=move || live.state.get().as_str()
            title="Live updates"
        >
            <span class="conn-dot" aria-hidden="true"></span>
            {move || live.state.get().label()}
        </span>
    }
}

/// Shown when updates are not arriving, so nobody mistakes a stale page for a quiet one.
#[component]
pub fn OfflineBanner() -> impl IntoView {
    let live = use_live();
    let down = move || {
        matches!(
            live.state.get(),
            ConnState::Reconnecting | ConnState::Offline
        )
    };
    view! {
        <Show when=down>
            <div class="banner" role="status" data-testid="offline-banner">
                {move || match live.state.get() {
                    ConnState::Offline => "You are offline. Changes will appear when the connection is back.",
                    _ => "Connection lost. Reconnecting… nothing will be missed.",
                }}
            </div>
        </Show>
    }
}
