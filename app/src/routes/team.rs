//! `/team`: who is in the viewer's team, invite links (made, listed, revoked), leaving
//! the team; and, for an administrator, whether anyone may sign up without an invite.
//! Every form posts without JavaScript too.

use leptos::prelude::*;
use leptos_meta::Title;

use super::load_failed;
use crate::api::{load_team, CreateInvite, LeaveTeam, RevokeInvite, SetSignupOpen, Team};
use crate::components::{action_error, RelativeTime};

#[component]
pub fn TeamPage() -> impl IntoView {
    // Nothing here is live, but the header says whether the server can be reached.
    crate::live::use_live().connect();
    let create = ServerAction::<CreateInvite>::new();
    let revoke = ServerAction::<RevokeInvite>::new();
    let signup = ServerAction::<SetSignupOpen>::new();
    let team = Resource::new(
        move || {
            (
                create.version().get(),
                revoke.version().get(),
                signup.version().get(),
            )
        },
        |_| load_team(),
    );
    view! {
        <Title text="Team · taskwire"/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match team.await {
                    Ok(t) => view! { <TeamView team=t create revoke signup/> }.into_any(),
                    Err(e) => load_failed(e),
                }
            })}
        </Transition>
    }
}

#[component]
fn TeamView(
    team: Team,
    create: ServerAction<CreateInvite>,
    revoke: ServerAction<RevokeInvite>,
    signup: ServerAction<SetSignupOpen>,
) -> impl IntoView {
    let alone = team.members.len() <= 1;
    let members = team
        .members
        .iter()
        .map(|m| {
            let me = m.user.id == team.viewer.id;
            view! {
                <li class="member" data-testid="member" data-username=m.username.clone()>
                    <strong>{m.user.name.clone()}</strong>
                    " " <code>{m.username.clone()}</code>
                    {me.then(|| view! { " " <span class="badge">"you"</span> })}
                    {m.admin.then(|| view! { " " <span class="badge">"Administrator"</span> })}
                    <span class="muted">" joined " <RelativeTime at=m.joined_at/></span>
                </li>
            }
        })
        .collect_view();
    view! {
        <h1>"Team " <span data-testid="team-name">{team.name.clone()}</span></h1>
        <section class="panel" aria-labelledby="members">
            <h2 id="members">"Members"</h2>
            <p>"Everyone here sees the team's tasks, except the ones their creators made private."</p>
            <ul class="members" data-testid="members">{members}</ul>
        </section>
        <Invites invites=team.invites.clone() new_invite=team.new_invite.clone() create revoke/>
        {team.admin.then(|| view! { <SignupSetting open=team.signup_open signup/> })}
        <LeaveForm alone/>
    }
    .into_any()
}

#[component]
fn Invites(
    invites: Vec<crate::api::Invite>,
    /// The link a form posted without JavaScript made (the page's answer carries it).
    new_invite: Option<String>,
    create: ServerAction<CreateInvite>,
    revoke: ServerAction<RevokeInvite>,
) -> impl IntoView {
    let made = move || {
        let link = |secret| format!("{}/signup?invite={secret}", origin());
        crate::components::shown_once(
            create.value().get().map(|made| made.map(link)),
            new_invite.clone(),
            "Send this link to the person you invite; within 7 days it brings them into this team, with a new account or the one they have. Copy it now: it is not shown again.",
            "invite-link",
            "invite-error",
        )
    };
    let revoke_error = action_error(revoke);
    let empty = invites.is_empty();
    let rows = invites
        .into_iter()
        .map(|i| {
            view! {
                <li class="token-row" data-testid="invite-row">
                    <span>"By " {i.created_by.clone()} ", made " <RelativeTime at=i.created_at/></span>
                    <span class="muted">" · open until " <RelativeTime at=i.expires_at/></span>
                    <ActionForm action=revoke attr:class="inline">
                        <input type="hidden" name="id" value=i.id.to_string()/>
                        <button type="submit" class="button" aria-label=format!("Revoke the invite made by {}", i.created_by) data-testid="revoke-invite">"Revoke"</button>
                    </ActionForm>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="panel" aria-labelledby="invites">
            <h2 id="invites">"Invite by link"</h2>
            {empty.then(|| view! { <p class="muted" data-testid="no-invites">"No open invite links."</p> })}
            <ul class="tokens" data-testid="invites">{rows}</ul>
            {revoke_error}
            <ActionForm action=create attr:class="form narrow">
                {made}
                <button type="submit" class="button primary" data-testid="create-invite">"Make an invite link"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// This site's origin, for a link to paste elsewhere; a path alone on the server.
fn origin() -> String {
    #[cfg(feature = "hydrate")]
    {
        window().location().origin().unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

#[component]
fn SignupSetting(open: bool, signup: ServerAction<SetSignupOpen>) -> impl IntoView {
    let error = action_error(signup);
    let state = if open {
        "Anyone who finds this site can make an account, in the default team."
    } else {
        "Closed: accounts are made only with an invite link."
    };
    view! {
        <section class="panel" aria-labelledby="signup-setting">
            <h2 id="signup-setting">"Sign-up"</h2>
            <p data-testid="signup-state">{state}</p>
            <ActionForm action=signup attr:class="form narrow">
                {(!open).then(|| view! { <input type="hidden" name="open" value="1"/> })}
                <button type="submit" class="button" data-testid="toggle-signup">
                    {if open { "Close open sign-up" } else { "Open sign-up to anyone" }}
                </button>
            </ActionForm>
            {error}
        </section>
    }
    .into_any()
}

#[component]
fn LeaveForm(alone: bool) -> impl IntoView {
    let leave = ServerAction::<LeaveTeam>::new();
    // Then a fresh load: the live connection opens again as a member of the new team.
    crate::components::follow_session_end(leave, "/team");
    let error = action_error(leave);
    view! {
        <section class="panel" aria-labelledby="leave">
            <h2 id="leave">"Leave the team"</h2>
            {if alone {
                view! { <p data-testid="leave-alone">"You are this team's only member. Invite someone with a link above."</p> }.into_any()
            } else {
                view! {
                    <p>"You move to a team of your own and stop seeing this team's tasks, except the ones you made (they stay with the team). Your other sessions end."</p>
                    <ActionForm action=leave>
                        <button type="submit" class="button" data-testid="leave-team">"Leave the team"</button>
                    </ActionForm>
                }.into_any()
            }}
            {error}
        </section>
    }
    .into_any()
}
