//! `/login` and `/signup`. Both work without JavaScript (plain form posts), and both
//! bring the visitor back to the page that sent them (`?next=/tasks/7`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{load_signup_info, safe_next, Login, Signup, SignupInfo};

/// After signing in, load the page afresh so the live socket opens with the new session
/// cookie.
fn go_to(path: &str) {
    crate::offline::forget_pages_then_go(path);
}

/// The `next` of this page's URL, checked: only a path on this site.
fn next_path() -> String {
    let query = use_query_map();
    query.with_untracked(|q| safe_next(q.get("next").as_deref()))
}

/// `?next=…` for the link to the other form, so the way back is kept.
fn carry_next(next: &str) -> String {
    crate::api::login_path(next)
        .strip_prefix("/login")
        .unwrap_or_default()
        .to_owned()
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let next = next_path();
    Effect::new(move |_| {
        if let Some(Ok(path)) = login.value().get() {
            go_to(&path);
        }
    });
    let signup_href = format!("/signup{}", carry_next(&next));
    view! {
        <Title text="Sign in · taskwire"/>
        <h1>"Sign in"</h1>
        <ActionForm action=login attr:class="form narrow">
            <input type="hidden" name="next" value=next/>
            <label>"Username" <input name="username" required autocomplete="username"/></label>
            <label>"Password" <input name="password" type="password" required autocomplete="current-password"/></label>
            {move || login.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            <button type="submit" class="button primary" data-testid="login-submit">"Sign in"</button>
            <p class="hint">"No account yet? " <a href=signup_href>"Sign up"</a></p>
        </ActionForm>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let invite = use_query_map().with_untracked(|q| q.get("invite"));
    let info = Resource::new(
        {
            let invite = invite.clone();
            move || invite.clone()
        },
        load_signup_info,
    );
    view! {
        <Title text="Sign up · taskwire"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let invite = invite.clone();
                Suspend::new(async move {
                    match info.await {
                        Ok(info) => view! { <SignupForm info invite/> }.into_any(),
                        Err(e) => super::load_failed(e),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn SignupForm(info: SignupInfo, invite: Option<String>) -> impl IntoView {
    let signup = ServerAction::<Signup>::new();
    let next = next_path();
    Effect::new(move |_| {
        if let Some(Ok(path)) = signup.value().get() {
            go_to(&path);
        }
    });
    let login_href = format!("/login{}", carry_next(&next));
    let closed_invite = info.invite_closed.then(|| {
        view! {
            <p class="error" role="alert" data-testid="invite-closed">
                "This invite link has been used, revoked or has expired. Ask for a new one."
            </p>
        }
    });
    let Some(invite) = invite.filter(|_| info.invited_to.is_some()).or_else(|| {
        // Without an open invite the account joins the default team, if anyone may.
        info.open.then(String::new)
    }) else {
        return view! {
            <h1>"Sign-up is closed"</h1>
            {closed_invite}
            <p data-testid="signup-closed">
                "Accounts are made by invitation here: ask a member of your team for an invite link."
            </p>
            <p class="hint">"Already have an account? " <a href=login_href>"Sign in"</a></p>
        }
        .into_any();
    };
    let heading = match &info.invited_to {
        Some(team) => format!("Join {team}"),
        None => "Create an account".to_owned(),
    };
    view! {
        <h1 data-testid="signup-heading">{heading}</h1>
        {closed_invite}
        <ActionForm action=signup attr:class="form narrow">
            <input type="hidden" name="next" value=next/>
            {(!invite.is_empty()).then(|| view! { <input type="hidden" name="invite" value=invite.clone()/> })}
            <label>"Username" <input name="username" required autocomplete="username" pattern="[a-z0-9_\\-]{3,32}"
                title="3 to 32 characters: lowercase letters, digits, _ or -"/></label>
            <label>"Display name" <input name="display_name" required maxlength="64" autocomplete="name"/></label>
            <label>"Password" <input name="password" type="password" required minlength="8" autocomplete="new-password"/></label>
            {move || signup.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            <button type="submit" class="button primary" data-testid="signup-submit">"Sign up"</button>
            <p class="hint">"Already have an account? " <a href=login_href>"Sign in"</a></p>
        </ActionForm>
    }
    .into_any()
}
