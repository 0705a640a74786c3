//! The tab's one live connection, shared by every page through context.
//!
//! Pages hand their view signals to [`Live`]; the socket (browser only, see [`socket`])
//! joins the matching rooms with the `seq` each view reflects, applies incoming frames
//! through the protocol crate's reducers, and after every reconnect rejoins with the
//! views' current `seq`, so nothing is missed or applied twice. On the server this is a
//! no-op and the indicator reads "Connecting…".

#[cfg(feature = "hydrate")]
mod socket;

use leptos::prelude::*;
use shared_protocol::reducer::{DashboardView, TaskView};

/// The connection's state, as the indicator shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// First attempt (and what the server renders).
    Connecting,
    Connected,
    /// Live over HTTP long-polling: the WebSocket cannot get through (a proxy, a
    /// network that blocks it); the socket is tried again now and then.
    Polling,
    /// Lost; trying again with backoff.
    Reconnecting,
    /// The browser says it is offline.
    Offline,
}

impl ConnState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting",
            ConnState::Connected => "connected",
            ConnState::Polling => "polling",
            ConnState::Reconnecting => "reconnecting",
            ConnState::Offline => "offline",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ConnState::Connecting => "Connecting…",
            ConnState::Connected => "Live",
            ConnState::Polling => "Live (polling)",
            ConnState::Reconnecting => "Reconnecting…",
            ConnState::Offline => "Offline",
        }
    }
}

/// The handle pages use; `Copy`, provided by [`provide_live`].
#[derive(Debug, Clone, Copy)]
pub struct Live {
    pub state: RwSignal<ConnState>,
    /// When the next reconnect attempt is due (ms since the epoch), while waiting for it.
    pub retry_at: RwSignal<Option<f64>>,
    /// The newest task row a live frame carried (a dashboard row or a task event), for
    /// what follows the viewer's own tasks outside any one page.
    pub last_row: RwSignal<Option<shared_protocol::TaskSummary>>,
}

pub fn provide_live() {
    provide_context(Live {
        state: RwSignal::new(ConnState::Connecting),
        retry_at: RwSignal::new(None),
        last_row: RwSignal::new(None),
    });
}

pub fn use_live() -> Live {
    expect_context::<Live>()
}

impl Live {
    /// Opens the tab's connection without joining a room, for a signed-in page that
    /// shows nothing live but should say whether the server can be reached.
    pub fn connect(&self) {
        #[cfg(feature = "hydrate")]
        socket::start(*self);
    }

    /// Says that this page is signing out (`true`) or no longer is (`false`, the sign-out
    /// failed): meanwhile the socket the server closes with the session is not reopened,
    /// nor the ending session renewed.
    pub fn leaving(&self, on: bool) {
        #[cfg(feature = "hydrate")]
        socket::leaving(on);
        #[cfg(not(feature = "hydrate"))]
        let _ = on;
    }

    /// Keeps `view` in sync with the dashboard room while the calling component lives.
    pub fn watch_dashboard(&self, view: RwSignal<DashboardView>) {
        #[cfg(feature = "hydrate")]
        {
            socket::watch_dashboard(*self, view);
            on_cleanup(move || socket::unwatch_dashboard(view));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = view;
    }

    /// Keeps `view` in sync with its task's room while the calling component lives.
    pub fn watch_task(&self, view: RwSignal<TaskView>) {
        #[cfg(feature = "hydrate")]
        {
            let id = view.with_untracked(|v| v.id());
            socket::watch_task(*self, view);
            on_cleanup(move || socket::unwatch_task(id));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = view;
    }
}

/// Backoff before reconnect attempt `attempt` (1-based): "full jitter" — a uniform
/// random delay between 0 and `min(cap, base · 2^attempt)`; `random` is in `[0, 1)`.
pub fn backoff_ms(attempt: u32, random: f64) -> u32 {
    const BASE_MS: f64 = 250.0;
    const CAP_MS: f64 = 5_000.0;
    let ceiling = (BASE_MS * 2f64.powi(attempt.min(16) as i32)).min(CAP_MS);
    (ceiling * random.clamp(0.0, 1.0)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_stays_under_the_cap() {
        assert_eq!(backoff_ms(1, 0.999_999), 499);
        assert_eq!(backoff_ms(3, 0.999_999), 1_999);
        assert_eq!(backoff_ms(10, 0.999_999), 4_999);
        assert_eq!(backoff_ms(1_000, 0.999_999), 4_999);
        assert_eq!(backoff_ms(10, 0.0), 0, "full jitter reaches down to zero");
    }
}
