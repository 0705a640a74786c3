//! `/login` and `/signup`. Both work without JavaScript (plain form posts).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{Login, Signup};

/// After signing in, load the dashboard afresh so the live socket opens with the new
/// session cookie.
fn go_home() {
    #[cfg(feature = "hydrate")]
    let _ = window().location().set_href("/");
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = login.value().get() {
            go_home();
        }
    });
    view! {
        <Title text="Sign in · taskwire"/>
        <h1>"Sign in"</h1>
        <ActionForm action=login attr:class="form narrow">
            <label>"Username" <input name="username" required autocomplete="username"/></label>
            <label>"Password" <input name="password" type="password" required autocomplete="current-password"/></label>
            {move || login.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            <button type="submit" class="button primary" data-testid="login-submit">"Sign in"</button>
            <p class="hint">"No account yet? " <a href="/signup">"Sign up"</a></p>
        </ActionForm>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let signup = ServerAction::<Signup>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = signup.value().get() {
            go_home();
        }
    });
    view! {
        <Title text="Sign up · taskwire"/>
        <h1>"Create an account"</h1>
        <ActionForm action=signup attr:class="form narrow">
            <label>"Username" <input name="username" required autocomplete="username" pattern="[a-z0-9_\\-]{3,32}"
                title="3 to 32 characters: lowercase letters, digits, _ or -"/></label>
            <label>"Display name" <input name="display_name" required maxlength="64" autocomplete="name"/></label>
            <label>"Password" <input name="password" type="password" required minlength="8" autocomplete="new-password"/></label>
            {move || signup.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            <button type="submit" class="button primary" data-testid="signup-submit">"Sign up"</button>
            <p class="hint">"Already have an account? " <a href="/login">"Sign in"</a></p>
        </ActionForm>
    }
}
