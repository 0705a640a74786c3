//! `/tasks/:id`: one task, live: status, links, clarification, timeline, viewers.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use shared_protocol::reducer::TaskView;
use shared_protocol::TaskStatus;

use super::load_failed;
use crate::api::{load_task, AppError, TaskPage};
use crate::components::status_badge::StatusBadge;
use crate::components::timeline::Timeline;
use crate::live::use_live;
use crate::outbox::{use_outbox, Action, Standing};

#[component]
pub fn TaskDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok()));
    let data = Resource::new(id, |id| async move {
        match id {
            Some(id) => load_task(id).await,
            None => Err(AppError::NotFound),
        }
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading task…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(page) => view! { <LiveTask page/> }.into_any(),
                    Err(e) => load_failed(e),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LiveTask(page: TaskPage) -> impl IntoView {
    let view = RwSignal::new(TaskView::from_state(page.seq, page.state));
    use_live().watch_task(view);
    use_outbox().open_for(page.viewer.id.0);
    let task = move || view.with(|v| v.task.clone());
    let status = Signal::derive(move || view.with(|v| v.task.summary.status));
    let title = view.with_untracked(|v| v.task.summary.title.clone());
    let loaded_at = page.seq;

    view! {
        <Title text=crate::title_text(format!("{title} · taskwire"))/>
        <article class="task" data-seq=loaded_at>
            <header class="task-head">
                <h1 dir="auto" data-testid="task-title">{move || view.with(|v| v.task.summary.title.clone())}</h1>
                <StatusBadge status test_id="task-status"/>
            </header>
            // Read out by screen readers when the status changes (not on load).
            <p class="sr-only" aria-live="polite" data-testid="status-announcer">
                {move || format!("Status: {}", status.get().label())}
            </p>
            <p class="task-by">
                "Created by " <bdi data-testid="task-creator">{move || view.with(|v| v.task.summary.creator.name.clone())}</bdi>
                <Viewers view/>
            </p>
            <p class="task-description" dir="auto">{move || view.with(|v| v.task.description.clone())}</p>
            <Links task=Signal::derive(task)/>
            {move || task().error_message.map(|m| view! { <p class="error" role="alert">{m}</p> })}
            <Retry view/>
            <Clarification view/>
            <h2>"Timeline"</h2>
            <Timeline entries=Signal::derive(move || view.with(|v| v.timeline.clone()))/>
        </article>
    }
    .into_any()
}

#[component]
fn Viewers(view: RwSignal<TaskView>) -> impl IntoView {
    move || {
        let viewers = view.with(|v| v.viewers.clone());
        (!viewers.is_empty()).then(|| {
            view! { <span class="viewers" data-testid="viewers">" · Viewing now: " {viewers.join(", ")}</span> }
        })
    }
}

#[component]
fn Links(task: Signal<shared_protocol::TaskDetail>) -> impl IntoView {
    move || {
        let t = task.get();
        let dispatched = !matches!(
            t.summary.status,
            TaskStatus::Received
                | TaskStatus::Analyzing
                | TaskStatus::NeedsClarification
                | TaskStatus::Clarified
        );
        view! {
            <ul class="links">
                {t.issue_url.clone().map(|url| view! {
                    <li>{external_link(url, format!("Issue #{}", t.issue_number.unwrap_or_default()), "issue-link")}</li>
                })}
                {(dispatched && t.issue_url.is_none()).then(|| view! {
                    <li class="muted" data-testid="no-issue">"Dispatched without a GitHub issue (no repository configured)."</li>
                })}
                {t.github_branch.clone().map(|b| view! { <li>"Branch " <code>{b}</code></li> })}
                {t.pr_url.clone().map(|url| {
                    let text = t.pr_title.clone().unwrap_or_else(|| format!("Pull request #{}", t.pr_number.unwrap_or_default()));
                    view! { <li>{external_link(url, text, "pr-link")}</li> }
                })}
            </ul>
        }
    }
}

/// A link to GitHub. The server only stores web addresses, but a link is only ever made
/// of one: anything else is shown as text.
fn external_link(url: String, text: String, test_id: &'static str) -> AnyView {
    if shared_protocol::is_web_url(&url) {
        view! { <a href=url target="_blank" rel="noopener noreferrer" data-testid=test_id>{text}</a> }
            .into_any()
    } else {
        view! { <span data-testid=test_id>{text}</span> }.into_any()
    }
}

/// For a failed task: send it through the pipeline again.
#[component]
fn Retry(view: RwSignal<TaskView>) -> impl IntoView {
    let outbox = use_outbox();
    let failed = move || view.with(|v| v.task.summary.status == TaskStatus::Failed);
    let sent = RwSignal::new(None::<String>);
    let standing = move || sent.get().and_then(|key| outbox.standing_of(&key));
    let pending = move || matches!(standing(), Some(Standing::Queued | Standing::Sending));
    let on_click = move |_| {
        if let Some(old) = sent.get_untracked() {
            if matches!(outbox.standing_of(&old), Some(Standing::Refused(_))) {
                outbox.dismiss(&old);
            }
        }
        let task_id = view.with_untracked(|v| v.id().0);
        sent.set(outbox.push(Action::Retry { task_id }));
    };
    view! {
        <Show when=failed>
            <p class="retry">
                <button type="button" class="button" data-testid="retry" on:click=on_click prop:disabled=pending>
                    {move || if pending() { "Retrying…" } else { "Retry" }}
                </button>
                " "
                <span class="hint">"Runs the task through analysis and dispatch again."</span>
            </p>
            {move || match standing() {
                Some(Standing::Waiting | Standing::SignedOut) => Some(view! {
                    <p class="notice" role="status">"The retry is saved on this device and will be sent when the server can be reached."</p>
                }.into_any()),
                Some(Standing::Refused(reason)) => Some(view! { <p class="error" role="alert">{reason}</p> }.into_any()),
                _ => None,
            }}
        </Show>
    }
}

#[component]
fn Clarification(view: RwSignal<TaskView>) -> impl IntoView {
    let outbox = use_outbox();
    let questions = move || view.with(|v| v.task.questions.clone());
    let drafts = RwSignal::new(Vec::<String>::new());
    let open = move || view.with(|v| v.task.summary.status == TaskStatus::NeedsClarification);
    // The answers this page handed to the outbox, and where they stand.
    let sent = RwSignal::new(None::<String>);
    let standing = move || sent.get().and_then(|key| outbox.standing_of(&key));
    let pending = move || matches!(standing(), Some(Standing::Queued | Standing::Sending));
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let task_id = view.with_untracked(|v| v.id().0);
        let count = view.with_untracked(|v| v.task.questions.len());
        let mut answers = drafts.get_untracked();
        answers.resize(count, String::new());
        let action = Action::Answer {
            task_id,
            answers: shared_protocol::api::Answers { answers },
        };
        if let Some(old) = sent.get_untracked() {
            if matches!(outbox.standing_of(&old), Some(Standing::Refused(_))) {
                outbox.dismiss(&old);
            }
        }
        sent.set(outbox.push(action));
    };
    let note = move || {
        match standing() {
        Some(Standing::Waiting | Standing::SignedOut) => Some(view! {
            <p class="notice" role="status" data-testid="answers-kept">
                "Your answers are saved on this device and will be sent when the server can be reached."
            </p>
        }.into_any()),
        Some(Standing::Refused(reason)) => Some(view! { <p class="error" role="alert">{reason}</p> }.into_any()),
        _ => None,
    }
    };
    view! {
        <Show when=move || !questions().is_empty()>
            <section class="clarification">
                <h2>"Clarification"</h2>
                <form on:submit=on_submit>
                    <For each=move || questions().into_iter().enumerate() key=|(i, q)| (*i, q.clone()) let:((i, q))>
                        <label class="question">
                            <span data-testid="clarification-question">{q}</span>
                            {move || {
                                let given = view.with(|v| v.task.answers.get(i).cloned());
                                match given {
                                    Some(a) => view! { <p class="answer">{a}</p> }.into_any(),
                                    None => view! {
                                        <textarea
                                            name="answers"
                                            rows="2"
                                            required
                                            prop:disabled=move || !open() || pending()
                                            on:input=move |ev| {
                                                let value = event_target_value(&ev);
                                                drafts.update(|d| {
                                                    if d.len() <= i { d.resize(i + 1, String::new()) }
                                                    d[i] = value;
                                                });
                                            }
                                        ></textarea>
                                    }.into_any(),
                                }
                            }}
                        </label>
                    </For>
                    <Show when=open>
                        <button type="submit" class="button primary" data-testid="submit-answers" prop:disabled=pending>
                            {move || if pending() { "Sending…" } else { "Send answers" }}
                        </button>
                    </Show>
                    {move || (view.with(|v| v.task.summary.status == TaskStatus::Clarified)).then(|| view! {
                        <p class="muted"><span class="spinner" aria-hidden="true"></span>" Re-analysing with your answers…"</p>
                    })}
                    {note}
                </form>
            </section>
        </Show>
    }
    .into_any()
}
