//! A task's timeline, newest at the bottom, following new events unless the reader has
//! scrolled up.

use leptos::html::Ol;
use leptos::prelude::*;
use shared_protocol::TimelineEntry;

use super::RelativeTime;

#[component]
pub fn Timeline(#[prop(into)] entries: Signal<Vec<TimelineEntry>>) -> impl IntoView {
    let list = NodeRef::<Ol>::new();
    // Following the newest entry: true until the reader scrolls up.
    let pinned = RwSignal::new(true);
    // Entries that arrived while the reader was scrolled up.
    let unseen = RwSignal::new(0usize);
    let to_bottom = move || {
        if let Some(el) = list.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
        pinned.set(true);
        unseen.set(0);
    };

    let on_scroll = move |_| {
        if let Some(el) = list.get_untracked() {
            let at_bottom = el.scroll_top() + el.client_height() >= el.scroll_height() - 24;
            pinned.set(at_bottom);
            if at_bottom {
                unseen.set(0);
            }
        }
    };
    Effect::new(move |before: Option<usize>| {
        let count = entries.with(Vec::len);
        if list.get().is_some() && count > 0 {
            if pinned.get_untracked() {
                to_bottom();
            } else if let Some(before) = before.filter(|b| count > *b) {
                unseen.update(|n| *n += count - before);
            }
        }
        count
    });

    view! {
        <div class="timeline-box">
            <ol class="timeline" data-testid="timeline" node_ref=list on:scroll=on_scroll>
                <For each=move || entries.get() key=|e| e.seq let:entry>
                    <li class="timeline-entry" data-testid="timeline-entry" data-kind=entry.kind.clone() data-seq=entry.seq>
                        <span class="timeline-text" dir="auto">{entry.text.clone()}</span>
                        <span class="timeline-meta">
                            {entry.actor.clone().map(|a| format!("{a} · "))}
                            <RelativeTime at=entry.at/>
                        </span>
                    </li>
                </For>
            </ol>
            <Show when=move || unseen.get() != 0>
                <button type="button" class="button new-entries" data-testid="new-entries" on:click=move |_| to_bottom()>
                    {move || match unseen.get() {
                        1 => "1 new entry ↓".to_owned(),
                        n => format!("{n} new entries ↓"),
                    }}
                </button>
            </Show>
        </div>
    }
}
