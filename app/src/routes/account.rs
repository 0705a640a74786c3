//! `/account`: the viewer's account (change the password, end every session) and, for
//! an administrator, the installation's service tokens. Every form posts without
//! JavaScript too.

use leptos::prelude::*;
use leptos_meta::Title;

use super::load_failed;
use crate::api::{load_account, Account, ChangePassword, CreateServiceToken, RevokeServiceToken};
use crate::components::{action_error, RelativeTime};

#[component]
pub fn AccountPage() -> impl IntoView {
    // Nothing here is live, but the header says whether the server can be reached.
    crate::live::use_live().connect();
    let create = ServerAction::<CreateServiceToken>::new();
    let revoke = ServerAction::<RevokeServiceToken>::new();
    // The token list changes with each token made or revoked.
    let account = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| load_account(),
    );
    view! {
        <Title text="Account · taskwire"/>
        <h1>"Account"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match account.await {
                    Ok(a) => view! { <AccountView account=a create revoke/> }.into_any(),
                    Err(e) => load_failed(e),
                }
            })}
        </Transition>
    }
}

#[component]
fn AccountView(
    account: Account,
    create: ServerAction<CreateServiceToken>,
    revoke: ServerAction<RevokeServiceToken>,
) -> impl IntoView {
    let admin = account.admin;
    view! {
        <section class="panel" aria-labelledby="you">
            <h2 id="you">"You"</h2>
            <p>
                <strong data-testid="account-name">{account.user.name.clone()}</strong>
                " · signs in as " <code data-testid="account-username">{account.username.clone()}</code>
                {admin.then(|| view! { " · " <span class="badge" data-testid="account-admin">"Administrator"</span> })}
            </p>
        </section>
        <PasswordForm/>
        <SessionsForm/>
        {admin.then(|| view! {
            <ServiceTokens tokens=account.tokens.clone() new_token=account.new_token.clone() create revoke/>
        })}
    }
    .into_any()
}

#[component]
fn PasswordForm() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let outcome = move || {
        change.value().get().map(|r| match r {
            Ok(()) => view! {
                <p class="notice" role="status" data-testid="password-changed">
                    "Password changed. Your other sessions have ended; this one goes on."
                </p>
            }
            .into_any(),
            Err(e) => view! { <p class="error" role="alert" data-testid="password-error">{e.to_string()}</p> }
                .into_any(),
        })
    };
    view! {
        <section class="panel" aria-labelledby="password">
            <h2 id="password">"Change password"</h2>
            <ActionForm action=change attr:class="form narrow">
                <label>"Current password"
                    <input name="current_password" type="password" required autocomplete="current-password" data-testid="current-password"/>
                </label>
                <label>"New password"
                    <input name="new_password" type="password" required minlength="8" autocomplete="new-password" data-testid="new-password"/>
                </label>
                {outcome}
                <button type="submit" class="button primary" data-testid="change-password">"Change password"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

#[component]
fn SessionsForm() -> impl IntoView {
    let logout = expect_context::<crate::SessionEnders>().logout;
    view! {
        <section class="panel" aria-labelledby="sessions">
            <h2 id="sessions">"Sessions"</h2>
            <p>"Signing out everywhere ends your sessions on every device and closes their live connections."</p>
            <ActionForm action=logout>
                <button type="submit" class="button" data-testid="sign-out-everywhere">"Sign out everywhere"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

#[component]
fn ServiceTokens(
    tokens: Vec<crate::api::ServiceToken>,
    /// The token a form posted without JavaScript made (the page's answer carries it).
    new_token: Option<String>,
    create: ServerAction<CreateServiceToken>,
    revoke: ServerAction<RevokeServiceToken>,
) -> impl IntoView {
    let made = move || {
        crate::components::shown_once(
            create.value().get(),
            new_token.clone(),
            "Copy the token now: it is not shown again.",
            "new-token",
            "token-error",
        )
    };
    let revoke_error = action_error(revoke);
    let rows = tokens
        .into_iter()
        .map(|t| {
            let name = t.name.clone();
            view! {
                <li class="token-row" data-testid="token-row" data-name=t.name.clone()>
                    <span class="token-name">{t.name.clone()}</span>
                    <span class="muted">" made " <RelativeTime at=t.created_at/></span>
                    <ActionForm action=revoke attr:class="inline">
                        <input type="hidden" name="name" value=name.clone()/>
                        <button type="submit" class="button" aria-label=format!("Revoke {name}") data-testid="revoke-token">"Revoke"</button>
                    </ActionForm>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="panel" aria-labelledby="tokens">
            <h2 id="tokens">"Service tokens"</h2>
            <p>"Agents report their progress with a service token. Tokens act for the whole installation."</p>
            <ul class="tokens" data-testid="tokens">{rows}</ul>
            {revoke_error}
            <ActionForm action=create attr:class="form narrow">
                <label>"Name" <input name="name" required maxlength="100" data-testid="token-name"/></label>
                {made}
                <button type="submit" class="button primary" data-testid="create-token">"Make a token"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}
