//! `/`: every task, live, with counts per status and filters.

use leptos::prelude::*;
use leptos_meta::Title;
use shared_protocol::reducer::DashboardView;
use shared_protocol::{TaskStatus, TaskSummary, UserId};

use super::load_failed;
use crate::api::{load_dashboard, DashboardPage};
use crate::clock::use_now;
use crate::components::relative_time;
use crate::components::status_badge::StatusBadge;
use crate::live::use_live;

#[component]
pub fn Dashboard() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_dashboard());
    view! {
        <Title text="Dashboard · taskwire"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading tasks…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(page) => view! { <LiveDashboard page/> }.into_any(),
                    Err(e) => load_failed(e),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LiveDashboard(page: DashboardPage) -> impl IntoView {
    let loaded_at = page.seq;
    let viewer = page.viewer.id;
    let view = RwSignal::new(DashboardView::from_state(page.seq, page.state));
    use_live().watch_dashboard(view);

    let mine_only = RwSignal::new(false);
    let status_filter = RwSignal::new(None::<TaskStatus>);
    let rows = move || {
        let mine = mine_only.get();
        let status = status_filter.get();
        view.with(|v| {
            v.rows_by_update()
                .into_iter()
                .filter(|r| !mine || r.creator.id == viewer)
                .filter(|r| status.is_none_or(|s| r.status == s))
                .collect::<Vec<_>>()
        })
    };

    view! {
        // The seq this render reflects; the live socket joins with it as `since`.
        <section class="counts" aria-label="Tasks per status" data-seq=loaded_at>
            <div class="count count-total">
                <span class="count-n" data-testid="count-total">{move || view.with(|v| v.counts.total())}</span>
                <span class="count-label">"All tasks"</span>
            </div>
            {TaskStatus::ALL
                .into_iter()
                .map(|s| {
                    view! {
                        <button
                            class=format!("count count-{}", s.as_str())
                            class:selected=move || status_filter.get() == Some(s)
                            on:click=move |_| status_filter.update(|f| *f = if *f == Some(s) { None } else { Some(s) })
                            title=format!("Show only {}", s.label().to_lowercase())
                        >
                            <span class="count-n" data-testid=format!("count-{}", s.as_str())>
                                {move || view.with(|v| v.counts.get(s))}
                            </span>
                            <span class="count-label">{s.label()}</span>
                        </button>
                    }
                })
                .collect_view()}
        </section>
        <div class="toolbar">
            <div class="filters" role="group" aria-label="Whose tasks">
                <button class:selected=move || !mine_only.get() on:click=move |_| mine_only.set(false)>"All"</button>
                <button class:selected=move || mine_only.get() on:click=move |_| mine_only.set(true) data-testid="filter-mine">"Mine"</button>
            </div>
            <a class="button primary" href="/tasks/new" data-testid="new-task-link">"New task"</a>
        </div>
        <Show
            when=move || view.with(|v| !v.is_empty())
            fallback=|| view! { <p class="empty">"No tasks yet. Create the first one."</p> }
        >
            <table class="tasks">
                <thead>
                    <tr><th>"Task"</th><th>"Status"</th><th>"Creator"</th><th>"Updated"</th></tr>
                </thead>
                <tbody>
                    // Keyed by the row's last change, so a changed row is redrawn (and flashes).
                    <For each=rows key=|r| (r.id, r.last_seq) let:row>
                        <TaskRow fresh={row.last_seq > loaded_at} row viewer/>
                    </For>
                </tbody>
            </table>
        </Show>
    }
    .into_any()
}

#[component]
fn TaskRow(row: TaskSummary, fresh: bool, viewer: UserId) -> impl IntoView {
    let now = use_now();
    let updated = row.updated_at;
    let status = row.status;
    view! {
        <tr class="task-row" class:fresh=fresh data-testid="task-row" data-task-id=row.id.0 data-status=status.as_str()>
            <td><a href=format!("/tasks/{}", row.id) data-testid="task-link">{row.title.clone()}</a></td>
            <td><StatusBadge status=Signal::stored(status)/></td>
            <td>{if row.creator.id == viewer { "you".to_owned() } else { row.creator.name.clone() }}</td>
            <td><time>{move || relative_time(updated, now.get())}</time></td>
        </tr>
    }
}
