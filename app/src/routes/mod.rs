//! One page component per file.

pub mod dashboard;
pub mod login;
pub mod new_task;
pub mod task;

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::api::AppError;

/// What a page shows when its first load failed.
pub fn load_failed(e: AppError) -> AnyView {
    match e {
        AppError::Unauthorized => view! { <Redirect path="/login"/> }.into_any(),
        e => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
    }
}
