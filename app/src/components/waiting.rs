//! What waits for the viewer (questions on their own tasks): a badge in the header with
//! a count, the count in the tab's title, and, if the viewer allows it, a browser
//! notification when a task starts waiting while the tab is in the background.
//!
//! The list is loaded with the page and again whenever a live row may change it (one of
//! the viewer's tasks asks, or one that waited moves on), after a reconnect, and once a
//! minute for what a page's rooms do not carry.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_meta::Title;
use shared_protocol::{DashboardQuery, TaskId, TaskStatus};

use crate::api::{load_waiting, Waiting};
use crate::live::{use_live, ConnState};

/// How often the list is loaded again when nothing live said it changed.
#[cfg(feature = "hydrate")]
const RELOAD_EVERY_MS: u32 = 60_000;

#[component]
pub fn WaitingBadge() -> impl IntoView {
    let live = use_live();
    let version = RwSignal::new(0u64);
    let waiting = Resource::new(move || version.get(), |_| load_waiting());
    let latest = move || waiting.get().and_then(Result::ok).flatten();
    let reload = move || version.update(|v| *v += 1);

    // A live row of the viewer's that asks, or that waited and moved on.
    Effect::new(move |_| {
        let Some(row) = live.last_row.get() else {
            return;
        };
        let relevant = waiting.with_untracked(|w| match w {
            Some(Ok(Some(w))) => {
                row.creator.id == w.viewer
                    && (row.status == TaskStatus::NeedsClarification
                        || w.tasks.iter().any(|t| t.id == row.id))
            }
            _ => false,
        });
        if relevant {
            reload();
        }
    });
    // Back from a dropped connection: rows may have been missed.
    Effect::new(move |before: Option<ConnState>| {
        let now = live.state.get();
        if matches!(before, Some(ConnState::Reconnecting | ConnState::Offline))
            && matches!(now, ConnState::Connected | ConnState::Polling)
        {
            reload();
        }
        now
    });
    #[cfg(feature = "hydrate")]
    {
        let ticker = set_interval_with_handle(
            reload,
            std::time::Duration::from_millis(RELOAD_EVERY_MS.into()),
        );
        if let Ok(ticker) = ticker {
            on_cleanup(move || ticker.clear());
        }
    }
    notify_new_arrivals(waiting);

    let href = DashboardQuery::default()
        .with_mine(true)
        .with_status(Some(TaskStatus::NeedsClarification))
        .href();
    let count = move || latest().map(|w| w.count).unwrap_or(0);
    // The count as the badge last showed it, for the tab's title. One `<Title>` for the
    // badge's life: made anew on every change, each would add a formatter that outlives
    // it. Its formatter reads this signal, not the resource, which is read only under the
    // `<Transition>`. The signal is reference-counted, not kept in the reactive arena:
    // on the server the title is made once the page has resolved, outside the arena of
    // the request, where an arena signal may read as disposed.
    let shown = ArcRwSignal::new(0);
    let title_count = shown.clone();
    view! {
        // The tab says how many wait, before the page's own title.
        <Title formatter=move |text: String| match title_count.get() {
            0 => text,
            n => format!("({n}) {text}"),
        }/>
        <Transition fallback=|| ()>
            {move || {
                let n = count();
                if shown.get_untracked() != n {
                    shown.set(n);
                }
                (n > 0).then(|| {
                    let label = if n == 1 {
                        "1 task waits for your answers".to_owned()
                    } else {
                        format!("{n} tasks wait for your answers")
                    };
                    view! {
                        <a class="waiting" href=href.clone() data-testid="waiting-badge" title=label>
                            "Waiting on you"
                            <span class="waiting-n" data-testid="waiting-count">{n}</span>
                        </a>
                    }
                })
            }}
        </Transition>
        <EnableNotifications/>
    }
}

/// Notifies (when allowed and the tab is in the background) of each task that was not
/// waiting the last time the list was loaded.
fn notify_new_arrivals(waiting: Resource<Result<Option<Waiting>, crate::api::AppError>>) {
    let known: StoredValue<Option<BTreeSet<TaskId>>> = StoredValue::new(None);
    Effect::new(move |_| {
        let Some(Ok(Some(w))) = waiting.get() else {
            return;
        };
        let now: BTreeSet<TaskId> = w.tasks.iter().map(|t| t.id).collect();
        let before = known.get_value();
        known.set_value(Some(now));
        let Some(before) = before else {
            // The first load: nothing "arrived".
            return;
        };
        for task in w.tasks.iter().filter(|t| !before.contains(&t.id)).take(3) {
            browser::notify(task.id, &task.title);
        }
    });
}

/// A button to allow notifications, shown only where the browser asks and nobody has
/// answered yet.
#[component]
fn EnableNotifications() -> impl IntoView {
    // Filled in after hydration: the server cannot know the browser's answer.
    let askable = RwSignal::new(false);
    Effect::new(move |_| askable.set(browser::can_ask()));
    let ask = move |_| {
        browser::ask(move || askable.set(browser::can_ask()));
    };
    view! {
        <Show when=move || askable.get()>
            <button type="button" class="link notify-me" on:click=ask data-testid="enable-notifications">
                "Notify me"
            </button>
        </Show>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use shared_protocol::TaskId;
    use wasm_bindgen::prelude::*;
    use web_sys::{Notification, NotificationOptions, NotificationPermission, VisibilityState};

    fn supported() -> bool {
        js_sys::Reflect::has(&window(), &"Notification".into()).unwrap_or(false)
    }

    fn window() -> web_sys::Window {
        leptos::prelude::window()
    }

    pub fn can_ask() -> bool {
        supported() && Notification::permission() == NotificationPermission::Default
    }

    /// Asks for permission; `then` runs once the viewer has answered.
    pub fn ask(then: impl FnOnce() + 'static) {
        if !supported() {
            return;
        }
        if let Ok(promise) = Notification::request_permission() {
            leptos::task::spawn_local(async move {
                let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
                then();
            });
        }
    }

    /// A notification for `id`, if allowed and the tab is not being looked at; a click
    /// opens the task.
    pub fn notify(id: TaskId, title: &str) {
        if !supported() || Notification::permission() != NotificationPermission::Granted {
            return;
        }
        let hidden = leptos::prelude::document().visibility_state() == VisibilityState::Hidden;
        if !hidden {
            return;
        }
        let options = NotificationOptions::new();
        options.set_body(title);
        options.set_tag(&format!("taskwire-task-{id}"));
        let Ok(n) = Notification::new_with_options("A task waits for your answers", &options)
        else {
            return;
        };
        let open = Closure::<dyn FnMut()>::new(move || {
            let w = window();
            let _ = w.focus();
            let _ = w.location().set_href(&format!("/tasks/{id}"));
        });
        n.set_onclick(Some(open.as_ref().unchecked_ref()));
        open.forget();
    }
}

#[cfg(not(feature = "hydrate"))]
mod browser {
    use shared_protocol::TaskId;

    pub fn can_ask() -> bool {
        false
    }

    pub fn ask(then: impl FnOnce() + 'static) {
        let _ = then;
    }

    pub fn notify(id: TaskId, title: &str) {
        let _ = (id, title);
    }
}
