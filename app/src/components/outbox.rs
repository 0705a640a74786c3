//! The actions kept on this device until the server has them, on every page.

use leptos::prelude::*;

use crate::outbox::{use_outbox, Standing};

/// Lists what waits to be sent (and what the server refused, until dismissed); nothing
/// when the outbox is empty.
#[component]
pub fn PendingActions() -> impl IntoView {
    let outbox = use_outbox();
    let items = move || outbox.items.get();
    view! {
        <Show when=move || !outbox.items.with(Vec::is_empty)>
            <section class="outbox" data-testid="outbox" aria-live="polite">
                <h2>"Waiting to send"</h2>
                <ul>
                    <For each=items key=|p| (p.key.clone(), p.refused.clone()) let:pending>
                        {
                            let key = pending.key.clone();
                            let standing = {
                                let key = key.clone();
                                move || outbox.standing_of(&key)
                            };
                            let state = {
                                let standing = standing.clone();
                                let refused = pending.refused.is_some();
                                move || match standing() {
                                    _ if refused => "refused",
                                    Some(Standing::Sending) => "sending",
                                    Some(Standing::SignedOut) => "signed-out",
                                    _ => "waiting",
                                }
                            };
                            let note = {
                                let refused = pending.refused.clone();
                                move || match (&refused, standing()) {
                                    (Some(reason), _) => format!("Not sent: {reason}"),
                                    (None, Some(Standing::Sending)) => "Sending…".to_owned(),
                                    (None, Some(Standing::SignedOut)) => {
                                        "Will be sent once you sign in again.".to_owned()
                                    }
                                    _ => "Kept on this device; it will be sent when the server can be reached.".to_owned(),
                                }
                            };
                            let refused = pending.refused.is_some();
                            view! {
                                <li data-testid="outbox-item" data-state=state>
                                    <span class="outbox-what">{pending.action.describe()}</span>
                                    " "
                                    <span class="outbox-note" class:error=refused>{note}</span>
                                    {refused.then(|| view! {
                                        <button type="button" class="link" data-testid="outbox-dismiss"
                                            on:click=move |_| outbox.dismiss(&key)>"Dismiss"</button>
                                    })}
                                </li>
                            }
                        }
                    </For>
                </ul>
            </section>
        </Show>
    }
}
