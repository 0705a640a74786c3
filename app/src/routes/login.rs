//! `/login` and `/signup`. Both work without JavaScript (plain form posts), and both
//! bring the visitor back to the page that sent them (`?next=/tasks/7`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{load_signup_info, safe_next, JoinTeam, Login, SignedIn, Signup, SignupInfo};

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
    let open_invite = invite.clone().filter(|_| info.invited_to.is_some());
    if let (Some(team), Some(me), Some(secret)) = (
        info.invited_to.clone(),
        info.signed_in.clone(),
        open_invite.clone(),
    ) {
        return view! { <JoinTeamForm team me secret/> }.into_any();
    }
    // With an open invite, signing in first comes back here, to join with that account.
    let login_href = match &open_invite {
        // An open invite's secret is plain; `login_path` encodes the way back whole.
        Some(secret) => crate::api::login_path(&format!("/signup?invite={secret}")),
        None => format!("/login{}", carry_next(&next)),
    };
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
            <p class="hint">"Already have an account? " <a href=login_href data-testid="signup-sign-in">"Sign in"</a>
                {open_invite.is_some().then_some(" to join with it.")}</p>
        </ActionForm>
    }
    .into_any()
}

/// An invite opened by someone signed in already: their account can move into the
/// invite's team.
#[component]
fn JoinTeamForm(team: String, me: SignedIn, secret: String) -> impl IntoView {
    if me.in_invited_team {
        return view! {
            <h1 data-testid="signup-heading">{format!("You are in {team}")}</h1>
            <p data-testid="already-member">
                {format!("You are signed in as {}, a member of {team} already.", me.name)}
            </p>
            <p><a href="/" class="button primary">"Go to the dashboard"</a></p>
        }
        .into_any();
    }
    let join = ServerAction::<JoinTeam>::new();
    Effect::new(move |_| {
        if let Some(Ok(path)) = join.value().get() {
            go_to(&path);
        }
    });
    let failed = crate::components::action_error(join);
    view! {
        <h1 data-testid="signup-heading">{format!("Join {team}")}</h1>
        <ActionForm action=join attr:class="form narrow">
            <input type="hidden" name="invite" value=secret/>
            <p data-testid="join-explained">
                {format!(
                    "You are signed in as {}, in {}. Joining moves your account to {team}: you will \
                     see its tasks, and no longer those of {} (except the ones you made). You \
                     will be signed out on your other devices.",
                    me.name, me.team, me.team,
                )}
            </p>
            {failed}
            <button type="submit" class="button primary" data-testid="join-team">{format!("Join {team}")}</button>
            <p class="hint">"To make a new account with this link instead, sign out first."</p>
        </ActionForm>
    }
    .into_any()
}
