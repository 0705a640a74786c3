//! `/tasks/new`: write a task. Works without JavaScript too (a plain form post). A
//! visitor without a session is sent to sign in first, and back here afterwards.
//!
//! With JavaScript the task goes through the outbox: kept on this device until the
//! server has it, so a task written offline (or while the server restarts) is sent
//! once it can be, exactly once.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;
use shared_protocol::api::NewTask;

use super::load_failed;
use crate::api::{load_viewer, AppError, CreateTask};
use crate::outbox::{use_outbox, Action, Standing};

#[component]
pub fn NewTask() -> impl IntoView {
    let viewer = Resource::new(|| (), |_| load_viewer());
    let outbox = use_outbox();
    view! {
        <Title text="New task · taskwire"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match viewer.await {
                    Ok(viewer) => view! { <NewTaskForm user_id=viewer.id.0/> }.into_any(),
                    // Opened from another page with the network gone: this tab knows who
                    // is signed in, and what is written here waits on this device.
                    Err(e) => match (e, outbox.user_id()) {
                        (AppError::Transport, Some(user_id)) => {
                            view! { <NewTaskForm user_id/> }.into_any()
                        }
                        (e, _) => load_failed(e),
                    },
                }
            })}
        </Suspense>
    }
}

#[component]
fn NewTaskForm(user_id: i64) -> impl IntoView {
    let outbox = use_outbox();
    outbox.open_for(user_id);
    crate::live::use_live().connect();
    let navigate = use_navigate();
    let title = NodeRef::<leptos::html::Input>::new();
    let description = NodeRef::<leptos::html::Textarea>::new();
    let private = NodeRef::<leptos::html::Input>::new();
    // The action this form handed to the outbox, while the form follows it.
    let following = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    // The title of the last task kept on this device for later.
    let kept = RwSignal::new(None::<String>);

    // `autofocus` acts on a page load only; brought here by the router, the title
    // takes focus too, once it is on screen, unless the visitor is already in a field
    // (typing, or a password manager filling it): focus moved then would send the rest
    // of what is typed into the title.
    Effect::new(move |_| {
        if let Some(t) = title.get() {
            request_animation_frame(move || {
                #[cfg(feature = "hydrate")]
                if document().active_element().is_some_and(|el| {
                    matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                }) {
                    return;
                }
                let _ = t.focus();
            });
        }
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let (Some(t), Some(d), Some(p)) = (title.get(), description.get(), private.get()) else {
            return;
        };
        let task = NewTask {
            title: t.value(),
            description: d.value(),
            private: p.checked(),
        };
        // No outbox (no storage, say): the form posts as it does without JavaScript.
        if let Some(key) = outbox.push(Action::CreateTask(task)) {
            ev.prevent_default();
            error.set(None);
            kept.set(None);
            following.set(Some(key));
        }
    };
    Effect::new(move |_| {
        let Some(key) = following.get() else { return };
        match outbox.standing_of(&key) {
            Some(Standing::Done { task_id }) => {
                following.set(None);
                let to = task_id.map_or("/".to_owned(), |id| format!("/tasks/{id}"));
                navigate(&to, Default::default());
            }
            Some(Standing::Refused(reason)) => {
                // Shown here, next to what the user wrote, so nothing is kept.
                following.set(None);
                outbox.dismiss(&key);
                error.set(Some(reason));
            }
            Some(Standing::Waiting | Standing::SignedOut) => {
                // It is safe on this device: clear the form for the next one.
                following.set(None);
                if let (Some(t), Some(d), Some(p)) = (title.get(), description.get(), private.get())
                {
                    kept.set(Some(t.value()));
                    t.set_value("");
                    d.set_value("");
                    p.set_checked(false);
                }
            }
            Some(Standing::Queued | Standing::Sending) | None => {}
        }
    });
    let busy = move || following.with(Option::is_some);

    view! {
        <h1>"New task"</h1>
        <form method="post" action=CreateTask::url() class="form" on:submit=on_submit>
            <label>
                "Title"
                <input node_ref=title name="title" required maxlength="200" autofocus placeholder="Fix the payment webhook retry"/>
            </label>
            <label>
                "Description"
                <textarea node_ref=description name="description" rows="6" maxlength="10000"
                    placeholder="What is wrong, what should happen instead, and how we can check it."></textarea>
            </label>
            <label class="check">
                <input node_ref=private type="checkbox" name="private" value="on" data-testid="private"/>
                "Private: only you will see this task"
            </label>
            <p class="hint">"Short descriptions get clarification questions before the task is dispatched."</p>
            {move || kept.get().map(|t| view! {
                <p class="notice" role="status" data-testid="kept-offline">
                    "“" {t} "” is saved on this device and will be sent when the server can be reached. You can write another."
                </p>
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <button type="submit" class="button primary" data-testid="create-task" prop:disabled=busy>
                {move || if busy() { "Creating…" } else { "Create task" }}
            </button>
        </form>
    }
}
