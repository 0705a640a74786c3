//! `/`: the task list, live, a page at a time, with counts per status and a view (search,
//! filters, order) that lives in the URL.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use shared_protocol::reducer::DashboardView;
use shared_protocol::{DashboardQuery, SortKey, TaskStatus, TaskSummary, UserId, UserRef};

use super::load_failed;
use crate::api::{load_dashboard, DashboardPage};
use crate::components::status_badge::StatusBadge;
use crate::components::RelativeTime;
use crate::live::use_live;

/// The URL parameters a view reads (see [`DashboardQuery::from_params`]).
const VIEW_PARAMS: [&str; 7] = ["q", "status", "mine", "creator", "sort", "order", "page"];

#[component]
pub fn Dashboard() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|p| {
            DashboardQuery::from_params(
                VIEW_PARAMS
                    .into_iter()
                    .filter_map(|k| p.get_str(k).map(|v| (k, v))),
            )
        })
    });
    let data = Resource::new(move || query.get(), |q| load_dashboard(q.query_string()));
    view! {
        <Title text="Dashboard · taskwire"/>
        <h1 class="sr-only">"Tasks"</h1>
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
    let view = RwSignal::new(
        DashboardView::from_page(page.seq, page.state, query.clone(), Some(viewer)).with_more(more),
    );
    use_live().watch_dashboard(view);
    crate::outbox::use_outbox().open_for(viewer.0);
    // A view that cannot follow the list by itself (after a snapshot, or a row a search
    // cannot decide on) is loaded again.
    // Once: the reloaded page replaces this view.
    let asked = StoredValue::new(false);
    Effect::new(move |_| {
        if view.with(|v| v.needs_reload()) && !asked.get_value() {
            asked.set_value(true);
            reload();
        }
    });

    let rows = move || view.with(|v| v.ordered_rows());
    let all_href = query.clone().with_mine(false).href();
    let mine_href = query.clone().with_mine(true).href();
    let empty_query = query.clone();
    let headers = {
        let query = query.clone();
        move || {
            [
                (SortKey::Title, "Task"),
                (SortKey::Status, "Status"),
                (SortKey::Created, "Created"),
                (SortKey::Updated, "Updated"),
            ]
            .map(|(key, label)| view! { <SortHeader query=query.clone() key label/> })
        }
    };

    view! {
        <Counts view query=query.clone() loaded_at/>
        <div class="toolbar">
            <nav class="filters" aria-label="Whose tasks">
                <a class:selected=!query.mine href=all_href data-testid="filter-all">"All"</a>
                <a class:selected=query.mine href=mine_href data-testid="filter-mine">"Mine"</a>
            </nav>
            <SearchForm query=query.clone() people=page.people viewer/>
            <a class="button primary" href="/tasks/new" data-testid="new-task-link">"New task"</a>
        </div>
        <Show
            when=move || view.with(|v| !v.is_empty())
            fallback=move || empty(&empty_query)
        >
            <table class="tasks">
                <thead>
                    {{
                        let [title, status, created, updated] = headers();
                        view! {
                            <tr>
                                {title}{status}<th scope="col">"Creator"</th>{created}{updated}
                            </tr>
                        }
                        .into_any()
                    }}
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

/// Search words and a creator, sent as a GET form: without JavaScript the view's other
/// filters and its order ride along as hidden fields; with it, the router goes to the
/// view's own URL (so the address bar shows the same link the page would give).
#[component]
fn SearchForm(query: DashboardQuery, people: Vec<UserRef>, viewer: UserId) -> impl IntoView {
    let hidden = {
        let mut fields = Vec::new();
        if let Some(status) = query.status {
            fields.push(("status", status.as_str().to_owned()));
        }
        if query.mine {
            fields.push(("mine", "1".to_owned()));
        }
        for (key, value) in query.sort_params() {
            fields.push((key, value.to_owned()));
        }
        fields
    };
    let creator = query.creator;
    let words = query.search.clone().unwrap_or_default();
    let q_input = NodeRef::<leptos::html::Input>::new();
    let creator_select = NodeRef::<leptos::html::Select>::new();
    let navigate = leptos_router::hooks::use_navigate();
    let base = query.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        #[cfg(feature = "hydrate")]
        {
            let (Some(q), Some(picked)) = (q_input.get(), creator_select.get()) else {
                return;
            };
            ev.prevent_default();
            let creator = picked.value().parse::<i64>().ok().filter(|id| *id > 0);
            let target = base
                .clone()
                .with_search(&q.value())
                .with_creator(creator.map(UserId))
                .href();
            navigate(&target, Default::default());
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, &navigate, &base, q_input, creator_select);
    };
    let options = people
        .into_iter()
        .map(|p| {
            let selected = creator == Some(p.id);
            let name = if p.id == viewer {
                format!("{} (you)", p.name)
            } else {
                p.name
            };
            view! { <option value=p.id.0.to_string() selected=selected>{name}</option> }
        })
        .collect_view();
    view! {
        <form method="get" action="/" on:submit=on_submit>
            <div class="search" role="search">
                {hidden.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value/> }).collect_view()}
                <label class="sr-only" for="search-q">"Search tasks"</label>
                <input
                    id="search-q"
                    type="search"
                    name="q"
                    placeholder="Search titles and descriptions"
                    value=words.clone()
                    // The attribute is the server's; once someone has typed, only the
                    // property shows a new view's words (after Back, say).
                    prop:value=words
                    node_ref=q_input
                    data-testid="search-input"
                />
                <label class="sr-only" for="search-creator">"Created by"</label>
                <select id="search-creator" name="creator" node_ref=creator_select data-testid="creator-filter" on:change=submit_own_form
                    prop:value=creator.map(|c| c.0.to_string()).unwrap_or_default()>
                    <option value="" selected=creator.is_none()>"Anyone"</option>
                    {options}
                </select>
                <button class="button" type="submit" data-testid="search-submit">"Search"</button>
            </div>
        </form>
    }
    .into_any()
}

/// Picking a creator applies it at once, as pressing Search would.
fn submit_own_form(ev: leptos::ev::Event) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(form) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
            .and_then(|s| s.form())
        {
            let _ = form.request_submit();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

/// A column header that orders the list by its column; a second click reverses it.
#[component]
fn SortHeader(query: DashboardQuery, key: SortKey, label: &'static str) -> impl IntoView {
    let sorted = query.sort.key == key;
    let descending = query.sort.descending;
    let aria = sorted.then_some(if descending {
        "descending"
    } else {
        "ascending"
    });
    let arrow = match (sorted, descending) {
        (false, _) => "",
        (true, true) => " ↓",
        (true, false) => " ↑",
    };
    let target = query.clone().with_sort(query.sort.toggled(key)).href();
    let class = format!("col-{}", key.as_str());
    view! {
        <th scope="col" class=class aria-sort=aria>
            <a href=target class="sort" data-testid=format!("sort-{}", key.as_str())>
                {label}<span aria-hidden="true">{arrow}</span>
            </a>
        </th>
    }
    .into_any()
}

/// The count cards, which are also the status filter: each links to its view, and
/// counts what that view lists.
#[component]
fn Counts(view: RwSignal<DashboardView>, query: DashboardQuery, loaded_at: u64) -> impl IntoView {
    let card = move |status: Option<TaskStatus>| {
        let selected = query.status == status;
        let target = query
            .clone()
            .with_status(if selected { None } else { status });
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
fn empty(query: &DashboardQuery) -> AnyView {
    if !query.is_default() {
        let what = match &query.search {
            Some(search) => format!("No tasks match “{search}” in this view. "),
            None => "No tasks match this view. ".to_owned(),
        };
        view! {
            <p class="empty" data-testid="empty">
                {what}
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
    let page = query.page;
    let newer = (page > 1).then(|| query.clone().with_page(page - 1).href());
    let older = more.then(|| query.clone().with_page(page + 1).href());
    (page > 1 || more).then(|| {
        view! {
            <nav class="pager" aria-label="Pages">
                {newer.map(|href| view! {
                    <a href=href rel="prev" data-testid="page-newer">"← Previous"</a>
                })}
                <span class="page-n" data-testid="page-n">{format!("Page {page}")}</span>
                {older.map(|href| view! {
                    <a href=href rel="next" data-testid="page-older">"Next →"</a>
                })}
            </nav>
        }
    })
}

#[component]
fn TaskRow(row: TaskSummary, fresh: bool, viewer: UserId) -> impl IntoView {
    let updated = row.updated_at;
    let created = row.created_at;
    let status = row.status;
    view! {
        <tr class="task-row" class:fresh=fresh data-testid="task-row" data-task-id=row.id.0 data-status=status.as_str()>
            <td><a href=format!("/tasks/{}", row.id) dir="auto" data-testid="task-link">{row.title.clone()}</a></td>
            <td><StatusBadge status=Signal::stored(status)/></td>
            <td dir="auto" data-testid="task-creator">{if row.creator.id == viewer { "you".to_owned() } else { row.creator.name.clone() }}</td>
            <td class="col-created"><RelativeTime at=created/></td>
            <td class="col-updated"><RelativeTime at=updated/></td>
        </tr>
    }
}
