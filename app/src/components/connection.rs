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

/// How long the connection must have been down before the banner shows: a blip (a
/// socket replaced within a second or two) is not worth a flash.
pub const BANNER_GRACE_MS: f64 = 2_500.0;

/// Shown when updates have not been arriving for a little while, so nobody mistakes a
/// stale page for a quiet one; says when the next attempt is.
#[component]
pub fn OfflineBanner() -> impl IntoView {
    let live = use_live();
    let down = move || {
        matches!(
            live.state.get(),
            ConnState::Reconnecting | ConnState::Offline
        )
    };
    // A clock that only ticks while the connection is down.
    let now = RwSignal::new(0.0f64);
    let down_since = RwSignal::new(None::<f64>);
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| {
            let is_down = down();
            let t = js_sys::Date::now();
            now.set(t);
            down_since.update(|since| match (is_down, *since) {
                (true, None) => *since = Some(t),
                (false, _) => *since = None,
                _ => {}
            });
        });
        let tick = set_interval_with_handle(
            move || {
                if down_since.get_untracked().is_some() {
                    now.set(js_sys::Date::now());
                }
            },
            std::time::Duration::from_millis(500),
        );
        if let Ok(tick) = tick {
            on_cleanup(move || tick.clear());
        }
    }
    let shown = move || {
        down()
            && down_since
                .get()
                .is_some_and(|t| now.get() - t >= BANNER_GRACE_MS)
    };
    let next_try = move || {
        if live.state.get() != ConnState::Reconnecting {
            return None;
        }
        let at = live.retry_at.get()?;
        let secs = ((at - now.get()) / 1000.0).ceil().max(0.0) as u64;
        Some(match secs {
            0 => " Trying again now…".to_owned(),
            1 => " Trying again in 1 s.".to_owned(),
            n => format!(" Trying again in {n} s."),
        })
    };
    view! {
        <Show when=shown>
            <div class="banner" role="status" data-testid="offline-banner">
                {move || match live.state.get() {
                    ConnState::Offline => "You are offline. Changes will appear when the connection is back.",
                    _ => "Connection lost; nothing will be missed.",
                }}
                <span data-testid="next-retry">{next_try}</span>
            </div>
        </Show>
    }
}
