//! A task's timeline, newest at the bottom, following new events unless the reader has
//! scrolled up.

use leptos::html::Ol;
use leptos::prelude::*;
use shared_protocol::TimelineEntry;

use super::relative_time;
use crate::clock::use_now;

#[component]
pub fn Timeline(#[prop(into)] entries: Signal<Vec<TimelineEntry>>) -> impl IntoView {
    let list = NodeRef::<Ol>::new();
    let pinned = RwSignal::new(true);
    let now = use_now();

    let on_scroll = move |_| {
        if let Some(el) = list.get_untracked() {
            let at_bottom = el.scroll_top() + el.client_height() >= el.scroll_height() - 24;
            pinned.set(at_bottom);
        }
    };
    Effect::new(move |_| {
        let count = entries.with(Vec::len);
        if let Some(el) = list.get() {
            if pinned.get_untracked() && count > 0 {
                el.set_scroll_top(el.scroll_height());
            }
        }
    });

    view! {
        <ol class="timeline" data-testid="timeline" node_ref=list on:scroll=on_scroll>
            <For each=move || entries.get() key=|e| e.seq let:entry>
                <li class="timeline-entry" data-testid="timeline-entry" data-kind=entry.kind.clone() data-seq=entry.seq>
                    <span class="timeline-text">{entry.text.clone()}</span>
                    <span class="timeline-meta">
                        {entry.actor.clone().map(|a| format!("{a} · "))}
                        {move || relative_time(entry.at, now.get())}
                    </span>
                </li>
            </For>
        </ol>
    }
}
