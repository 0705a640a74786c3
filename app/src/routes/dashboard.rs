//! `/`: the task list, live, a page at a time, with counts per status and filters that
//! live in the URL.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use shared_protocol::reducer::DashboardView;
use shared_protocol::{DashboardQuery, TaskStatus, TaskSummary, UserId};

use super::load_failed;
use crate::api::{load_dashboard, DashboardPage};
use crate::components::status_badge::StatusBadge;
use crate::components::RelativeTime;
use crate::live::use_live;

#[component]
pub fn Dashboard() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|p| {
            DashboardQuery::from_params(
                ["status", "mine", "page"]
                    .into_iter()
                    .filter_map(|k| p.get_str(k).map(|v| (k, v))),
            )
        })
    });
    let data = Resource::new(
        move || query.get(),
        |q| load_dashboard(q.status.map(|s| s.as_str().to_owned()), q.mine, q.page),
    );
    view! {
        <Title text="Dashboard · taskwire"/>
        // A new view keeps the old one on screen until its page has loaded.
        <Transition fallback=|| view! { <p class="loading">"Loading tasks…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(page) => {
                        let q = query.get_untracked();
                        view! { <LiveDashboard page query=q reload=move || data.refetch()/> }.into_any()
                    }
                    Err(e) => load_failed(e),
                }
            })}
        </Transition>
    }
}

#[component]
fn LiveDashboard(
    page: DashboardPage,
    query: DashboardQuery,
    reload: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    let loaded_at = page.seq;
    let viewer = page.viewer.id;
    let more = page.more;
    let view = RwSignal::new(DashboardView::from_page(
        page.seq,
        page.state,
        query,
        Some(viewer),
    ));
    use_live().watch_dashboard(view);
    crate::outbox::use_outbox().open_for(viewer.0);
    // A snapshot over the socket holds only the newest unfiltered page; any other view
    // is loaded again.
    Effect::new(move |_| {
        if view.with(|v| v.needs_reload()) {
            reload();
        }
    });

    let rows = move || view.with(|v| v.rows_by_update());

    view! {
        <Counts view query loaded_at/>
        <div class="toolbar">
            <nav class="filters" aria-label="Whose tasks">
                <a class:selected=!query.mine href=query.with_mine(false).href() data-testid="filter-all">"All"</a>
                <a class:selected=query.mine href=query.with_mine(true).href() data-testid="filter-mine">"Mine"</a>
            </nav>
            <a class="button primary" href="/tasks/new" data-testid="new-task-link">"New task"</a>
        </div>
        <Show
            when=move || view.with(|v| !v.is_empty())
            fallback=move || empty(query)
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
        <Pager query more/>
    }
    .into_any()
}

/// The count cards, which are also the status filter: each links to its view.
#[component]
fn Counts(view: RwSignal<DashboardView>, query: DashboardQuery, loaded_at: u64) -> impl IntoView {
    let card = move |status: Option<TaskStatus>| {
        let selected = query.status == status;
        let target = query.with_status(if selected { None } else { status });
        let (class, label, key, title) = match status {
            None => (
                "count count-total".to_owned(),
                "All tasks",
                "total",
                "Show every status".to_owned(),
            ),
            Some(s) => (
                format!("count count-{}", s.as_str()),
                s.label(),
                s.as_str(),
                format!("Show only {}", s.label().to_lowercase()),
            ),
        };
        let n = move || {
            view.with(|v| match status {
                None => v.counts.total(),
                Some(s) => v.counts.get(s),
            })
        };
        view! {
            <a
                class=class
                class:selected=selected
                href=target.href()
                aria-current=selected.then_some("page")
                title=title
                data-testid=format!("filter-{key}")
            >
                <span class="count-n" data-testid=format!("count-{key}")>{n}</span>
                <span class="count-label">{label}</span>
            </a>
        }
        .into_any()
    };
    view! {
        // The seq this render reflects; the live socket joins with it as `since`.
        <section class="counts" aria-label="Tasks per status" data-seq=loaded_at>
            {std::iter::once(None)
                .chain(TaskStatus::ALL.into_iter().map(Some))
                .map(card)
                .collect_view()}
        </section>
    }
    .into_any()
}

/// What an empty view says: nothing yet, or nothing matching (with a way out).
fn empty(query: DashboardQuery) -> AnyView {
    if !query.is_default() {
        view! {
            <p class="empty" data-testid="empty">
                "No tasks match this view. "
                <a href="/" data-testid="clear-filters">"Show all tasks"</a>
            </p>
        }
        .into_any()
    } else {
        view! { <p class="empty" data-testid="empty">"No tasks yet. Create the first one."</p> }
            .into_any()
    }
}

#[component]
fn Pager(query: DashboardQuery, more: bool) -> impl IntoView {
    (query.page > 1 || more).then(|| {
        view! {
            <nav class="pager" aria-label="Pages">
                {(query.page > 1).then(|| view! {
                    <a href=query.with_page(query.page - 1).href() rel="prev" data-testid="page-newer">"← Newer"</a>
                })}
                <span class="page-n" data-testid="page-n">{format!("Page {}", query.page)}</span>
                {more.then(|| view! {
                    <a href=query.with_page(query.page + 1).href() rel="next" data-testid="page-older">"Older →"</a>
                })}
            </nav>
        }
    })
}

#[component]
fn TaskRow(row: TaskSummary, fresh: bool, viewer: UserId) -> impl IntoView {
    let updated = row.updated_at;
    let status = row.status;
    view! {
        <tr class="task-row" class:fresh=fresh data-testid="task-row" data-task-id=row.id.0 data-status=status.as_str()>
            <td><a href=format!("/tasks/{}", row.id) data-testid="task-link">{row.title.clone()}</a></td>
            <td><StatusBadge status=Signal::stored(status)/></td>
            <td>{if row.creator.id == viewer { "you".to_owned() } else { row.creator.name.clone() }}</td>
            <td><RelativeTime at=updated/></td>
        </tr>
    }
}
