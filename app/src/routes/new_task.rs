//! `/tasks/new`: write a task. Works without JavaScript too (a plain form post). A
//! visitor without a session is sent to sign in first, and back here afterwards.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use super::load_failed;
use crate::api::{load_viewer, CreateTask};

#[component]
pub fn NewTask() -> impl IntoView {
    let viewer = Resource::new(|| (), |_| load_viewer());
    view! {
        <Title text="New task · taskwire"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match viewer.await {
                    Ok(_) => view! { <NewTaskForm/> }.into_any(),
                    Err(e) => load_failed(e),
                }
            })}
        </Suspense>
    }
}

#[component]
fn NewTaskForm() -> impl IntoView {
    let create = ServerAction::<CreateTask>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = create.value().get() {
            navigate(&format!("/tasks/{id}"), Default::default());
        }
    });
    view! {
        <h1>"New task"</h1>
        <ActionForm action=create attr:class="form">
            <label>
                "Title"
                <input name="title" required maxlength="200" autofocus placeholder="Fix the payment webhook retry"/>
            </label>
            <label>
                "Description"
                <textarea name="description" rows="6" maxlength="10000"
                    placeholder="What is wrong, what should happen instead, and how we can check it."></textarea>
            </label>
            <label class="check">
                <input type="checkbox" name="private" value="on" data-testid="private"/>
                "Private: only you will see this task"
            </label>
            <p class="hint">"Short descriptions get clarification questions before the task is dispatched."</p>
            {move || create.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            <button type="submit" class="button primary" data-testid="create-task" prop:disabled=move || create.pending().get()>
                {move || if create.pending().get() { "Creating…" } else { "Create task" }}
            </button>
        </ActionForm>
    }
}
