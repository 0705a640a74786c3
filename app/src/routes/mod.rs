//! One page component per file.

pub mod account;
pub mod dashboard;
pub mod login;
pub mod new_task;
pub mod task;
pub mod team;

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

use crate::api::{login_path, AppError};

/// What a page shows when its first load failed. A visitor without a session is sent to
/// sign in and brought back afterwards; a missing page is a real 404.
pub fn load_failed(e: AppError) -> AnyView {
    match e {
        AppError::Unauthorized => {
            let here = use_location();
            let path = format!(
                "{}{}",
                here.pathname.get_untracked(),
                here.search.get_untracked()
            );
            view! { <Redirect path=login_path(&path)/> }.into_any()
        }
        AppError::NotFound => view! { <NotFound/> }.into_any(),
        e => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
    }
}

/// The same page for a task that does not exist and one the viewer may not see, and for
/// any path the app does not have; answered with HTTP 404.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <leptos_meta::Title text="Not found · taskwire"/>
        <section class="not-found" data-testid="not-found">
            <h1>"Not found"</h1>
            <p>"There is nothing here, or it is not yours to see."</p>
            <p><a href="/">"Back to the dashboard"</a></p>
        </section>
    }
}
