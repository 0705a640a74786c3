//! Actions that wait for the network: creating a task and answering its questions.
//!
//! Each action is written to the browser's `localStorage` (one outbox per account) with
//! its `Idempotency-Key` before it is sent, shown as pending until the server has
//! answered, kept across reloads, and sent in the order it was made once the server can
//! be reached. The key makes every resend (after a lost answer, a reload, or from a
//! second tab) apply once. An action the server refuses (403, 404, 409, 422) is shown
//! with the server's reason and never sent again; one it could not take (no network, a
//! 5xx, 429) waits and is tried again, holding back the ones made after it.

use std::collections::HashMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shared_protocol::api::{Answers, NewTask, TaskChanged};
use shared_protocol::{ApiErrorCode, ApiErrorEnvelope};

/// An action as the user made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    CreateTask(NewTask),
    Answer {
        task_id: i64,
        answers: Answers,
    },
    /// Sends a failed task through the pipeline again.
    Retry {
        task_id: i64,
    },
}

impl Action {
    /// Where it is sent, and the JSON body.
    pub fn request(&self) -> (String, String) {
        match self {
            Action::CreateTask(task) => (
                "/api/tasks".to_owned(),
                serde_json::to_string(task).unwrap_or_default(),
            ),
            Action::Answer { task_id, answers } => (
                format!("/api/tasks/{task_id}/answers"),
                serde_json::to_string(answers).unwrap_or_default(),
            ),
            Action::Retry { task_id } => (format!("/api/tasks/{task_id}/retry"), "{}".to_owned()),
        }
    }

    /// What the user sees in the list of waiting actions.
    pub fn describe(&self) -> String {
        match self {
            Action::CreateTask(task) => format!("New task “{}”", task.title),
            Action::Answer { task_id, .. } => format!("Answers to task #{task_id}"),
            Action::Retry { task_id } => format!("Retry of task #{task_id}"),
        }
    }
}

/// An action not yet answered by the server (or refused by it), as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// Its `Idempotency-Key`, and its name here.
    pub key: String,
    pub action: Action,
    /// The server's reason for refusing it; a refused action is not sent again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// What became of one attempt to send an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied (now, or by an earlier attempt whose answer was lost).
    Done { task_id: Option<i64> },
    /// Refused for good, with the server's reason.
    Refused(String),
    /// Not taken this time; try again later.
    Later,
    /// The session is gone: held until the user signs in again.
    SignedOut,
}

/// Reads the server's answer (`status` 0: no answer at all).
pub fn outcome(status: u16, body: &str) -> Outcome {
    match status {
        // Only the API's own answer counts: a proxy's or captive portal's page answered
        // with 200 means the action never reached the server.
        200..=299 => match serde_json::from_str::<TaskChanged>(body) {
            Ok(c) => Outcome::Done {
                task_id: Some(c.task.summary.id.0),
            },
            Err(_) => Outcome::Later,
        },
        401 => Outcome::SignedOut,
        0 | 408 | 429 | 500..=599 => Outcome::Later,
        400..=499 => match serde_json::from_str::<ApiErrorEnvelope>(body) {
            // The same action is still being applied (from another tab, say): its
            // answer is what this one will get.
            Ok(e) if e.error.code == ApiErrorCode::RequestInProgress => Outcome::Later,
            Ok(e) => Outcome::Refused(e.error.message),
            Err(_) => Outcome::Refused(format!("The server refused this (HTTP {status}).")),
        },
        _ => Outcome::Later,
    }
}

/// Where an action stands, as pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Kept, not tried yet.
    Queued,
    /// Being sent now.
    Sending,
    /// Kept on this device until the server can be reached.
    Waiting,
    /// Kept until the user signs in again.
    SignedOut,
    Refused(String),
    Done {
        task_id: Option<i64>,
    },
}

/// The tab's outbox, through context: the actions waiting, and where each stands.
#[derive(Debug, Clone, Copy)]
pub struct Outbox {
    /// Waiting and refused actions, oldest first.
    pub items: RwSignal<Vec<Pending>>,
    /// Where the actions this tab knows of stand, by key (finished ones included, so a
    /// form can follow its own).
    pub standing: RwSignal<HashMap<String, Standing>>,
    /// Whose outbox it is, once a page knows who is signed in.
    user: RwSignal<Option<i64>>,
}

pub fn provide_outbox() {
    let outbox = Outbox {
        items: RwSignal::new(Vec::new()),
        standing: RwSignal::new(HashMap::new()),
        user: RwSignal::new(None),
    };
    provide_context(outbox);
    #[cfg(feature = "hydrate")]
    browser::start(outbox);
}

pub fn use_outbox() -> Outbox {
    expect_context::<Outbox>()
}

impl Outbox {
    /// Opens the signed-in user's outbox (pages call this once they know who it is) and
    /// sends what it holds.
    pub fn open_for(&self, user_id: i64) {
        if self.user.get_untracked() == Some(user_id) {
            return;
        }
        self.user.set(Some(user_id));
        #[cfg(feature = "hydrate")]
        browser::opened(*self);
    }

    /// Keeps `action` and sends it as soon as it can; its key, to follow it by.
    pub fn push(&self, action: Action) -> Option<String> {
        #[cfg(feature = "hydrate")]
        {
            browser::push(*self, action)
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = action;
            None
        }
    }

    /// Forgets a refused action (the user has seen why).
    pub fn dismiss(&self, key: &str) {
        #[cfg(feature = "hydrate")]
        browser::dismiss(*self, key);
        #[cfg(not(feature = "hydrate"))]
        let _ = key;
    }

    pub fn standing_of(&self, key: &str) -> Option<Standing> {
        self.standing.with(|s| s.get(key).cloned())
    }

    /// Whose outbox this tab has open: who a page last said was signed in.
    pub fn user_id(&self) -> Option<i64> {
        self.user.get_untracked()
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    //! `localStorage`, the sender, and what wakes it.

    use std::cell::RefCell;

    use futures::channel::mpsc::{unbounded, UnboundedSender};
    use futures::{FutureExt, StreamExt};
    use gloo_timers::future::TimeoutFuture;
    use leptos::prelude::*;

    use super::{outcome, Action, Outbox, Outcome, Pending, Standing};
    use crate::live::{backoff_ms, use_live, ConnState};

    thread_local! {
        static WAKE: RefCell<Option<UnboundedSender<()>>> = const { RefCell::new(None) };
    }

    fn wake() {
        WAKE.with_borrow(|w| {
            if let Some(w) = w {
                let _ = w.unbounded_send(());
            }
        });
    }

    /// Each action is stored under a key of its own, so two tabs adding and removing
    /// actions at once never overwrite each other's.
    fn prefix(user: i64) -> String {
        format!("taskwire.outbox.{user}.")
    }

    fn storage() -> Option<web_sys::Storage> {
        window().local_storage().ok().flatten()
    }

    /// The user's actions, oldest first (keys begin with the time they were made).
    fn load(user: i64) -> Vec<Pending> {
        let Some(s) = storage() else {
            return Vec::new();
        };
        let prefix = prefix(user);
        let mut items: Vec<Pending> = (0..s.length().unwrap_or(0))
            .filter_map(|i| s.key(i).ok().flatten())
            .filter(|k| k.starts_with(&prefix))
            .filter_map(|k| s.get_item(&k).ok().flatten())
            .filter_map(|text| serde_json::from_str(&text).ok())
            .collect();
        items.sort_by(|a, b| a.key.cmp(&b.key));
        items
    }

    /// Stores (or replaces) one action; `false` if the browser would not keep it.
    fn put(outbox: Outbox, pending: &Pending) -> bool {
        let (Some(user), Some(s)) = (outbox.user.get_untracked(), storage()) else {
            return false;
        };
        let Ok(text) = serde_json::to_string(pending) else {
            return false;
        };
        let kept = s
            .set_item(&format!("{}{}", prefix(user), pending.key), &text)
            .is_ok();
        outbox.items.set(load(user));
        kept
    }

    fn remove(outbox: Outbox, key: &str) {
        let (Some(user), Some(s)) = (outbox.user.get_untracked(), storage()) else {
            return;
        };
        let _ = s.remove_item(&format!("{}{key}", prefix(user)));
        outbox.items.set(load(user));
    }

    fn set_standing(outbox: Outbox, key: &str, standing: Standing) {
        outbox
            .standing
            .update(|s| drop(s.insert(key.to_owned(), standing)));
    }

    /// The oldest action cannot be sent now (no network, or no session): those queued
    /// behind it are held with it, and stand as it does.
    fn hold_unsent(outbox: Outbox, standing: Standing) {
        let unsent: Vec<String> = outbox.items.with_untracked(|items| {
            items
                .iter()
                .filter(|p| p.refused.is_none())
                .map(|p| p.key.clone())
                .collect()
        });
        outbox.standing.update(|s| {
            for key in unsent {
                s.insert(key, standing.clone());
            }
        });
    }

    /// 128 random bits, as hex: `getRandomValues` works on plain `http://` too, where
    /// `randomUUID` does not.
    fn new_key() -> String {
        let mut bytes = [0u8; 16];
        if let Ok(crypto) = window().crypto() {
            let _ = crypto.get_random_values_with_u8_array(&mut bytes);
        }
        // Fixed width, so keys sort in the order the actions were made.
        let now = js_sys::Date::now() as u64;
        let mut key = format!("web-{now:012x}-");
        for b in bytes {
            key.push_str(&format!("{b:02x}"));
        }
        key
    }

    pub fn start(outbox: Outbox) {
        let (tx, mut rx) = unbounded::<()>();
        WAKE.with_borrow_mut(|w| *w = Some(tx));
        // Back online, or live again: whatever waits goes now.
        let _ = window_event_listener(leptos::ev::online, |_| wake());
        let live = use_live();
        Effect::new(move |_| {
            if matches!(live.state.get(), ConnState::Connected | ConnState::Polling) {
                wake();
            }
        });
        // Another tab changed the outbox: show what it holds now.
        let _ = window_event_listener(leptos::ev::storage, move |ev| {
            let Some(user) = outbox.user.get_untracked() else {
                return;
            };
            if ev.key().is_none_or(|k| k.starts_with(&prefix(user))) {
                outbox.items.set(load(user));
                wake();
            }
        });
        leptos::task::spawn_local(async move {
            let mut attempt = 0u32;
            loop {
                let Some(user) = outbox.user.get_untracked() else {
                    let _ = rx.next().await;
                    continue;
                };
                // Read afresh: another tab may have sent some meanwhile.
                let items = load(user);
                outbox.items.set(items.clone());
                let Some(next) = items.into_iter().find(|p| p.refused.is_none()) else {
                    attempt = 0;
                    let _ = rx.next().await;
                    continue;
                };
                set_standing(outbox, &next.key, Standing::Sending);
                let result = send(&next).await;
                match result {
                    Outcome::Done { task_id } => {
                        attempt = 0;
                        remove(outbox, &next.key);
                        set_standing(outbox, &next.key, Standing::Done { task_id });
                    }
                    Outcome::Refused(reason) => {
                        attempt = 0;
                        let refused = Pending {
                            refused: Some(reason.clone()),
                            ..next.clone()
                        };
                        put(outbox, &refused);
                        set_standing(outbox, &next.key, Standing::Refused(reason));
                    }
                    Outcome::SignedOut => {
                        hold_unsent(outbox, Standing::SignedOut);
                        let _ = rx.next().await;
                    }
                    Outcome::Later => {
                        hold_unsent(outbox, Standing::Waiting);
                        attempt = attempt.saturating_add(1);
                        let wait = backoff_ms(attempt, js_sys::Math::random()).max(500);
                        futures::select! {
                            _ = TimeoutFuture::new(wait).fuse() => {}
                            _ = rx.next() => {}
                        }
                    }
                }
            }
        });
    }

    async fn send(pending: &Pending) -> Outcome {
        let (path, body) = pending.action.request();
        let request = gloo_net::http::Request::post(&path)
            .header("idempotency-key", &pending.key)
            .header("content-type", "application/json")
            .body(body);
        let Ok(request) = request else {
            return Outcome::Refused("This could not be sent.".into());
        };
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                outcome(status, &text)
            }
            Err(_) => outcome(0, ""),
        }
    }

    pub fn opened(outbox: Outbox) {
        // After the page has hydrated: the list was rendered empty on the server.
        leptos::task::spawn_local(async move {
            if let Some(user) = outbox.user.get_untracked() {
                outbox.items.set(load(user));
            }
            wake();
        });
    }

    pub fn push(outbox: Outbox, action: Action) -> Option<String> {
        outbox.user.get_untracked()?;
        let key = new_key();
        let pending = Pending {
            key: key.clone(),
            action,
            refused: None,
        };
        // Not kept (storage blocked or full): the caller does without the outbox.
        if !put(outbox, &pending) {
            remove(outbox, &key);
            return None;
        }
        set_standing(outbox, &key, Standing::Queued);
        wake();
        Some(key)
    }

    pub fn dismiss(outbox: Outbox, key: &str) {
        remove(outbox, key);
        outbox.standing.update(|s| drop(s.remove(key)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &str, message: &str) -> String {
        format!(r#"{{"error":{{"code":"{code}","message":"{message}","requestId":"r1"}}}}"#)
    }

    #[test]
    fn success_is_done_and_names_the_task() {
        let body = r#"{"task":{"id":7,"title":"t","status":"received","creator":{"id":1,"name":"a"},"createdAt":1,"updatedAt":1,"lastSeq":3,"private":false,"description":"","questions":[],"answers":[]},"seq":3}"#;
        assert_eq!(outcome(201, body), Outcome::Done { task_id: Some(7) });
        assert_eq!(
            outcome(200, "<html>Sign in to the hotel Wi-Fi</html>"),
            Outcome::Later,
            "a portal's page is not the server's answer"
        );
    }

    #[test]
    fn refusals_are_final_and_keep_the_servers_reason() {
        assert_eq!(
            outcome(422, &error("invalid_input", "title: must not be empty")),
            Outcome::Refused("title: must not be empty".into())
        );
        assert_eq!(
            outcome(404, &error("not_found", "That task does not exist.")),
            Outcome::Refused("That task does not exist.".into())
        );
        assert!(matches!(outcome(403, "<html>"), Outcome::Refused(_)));
        assert!(matches!(
            outcome(409, &error("invalid_transition", "no questions are open")),
            Outcome::Refused(_)
        ));
    }

    #[test]
    fn what_the_server_could_not_take_now_is_tried_again() {
        for status in [0, 408, 429, 500, 502, 503] {
            assert_eq!(outcome(status, ""), Outcome::Later, "{status}");
        }
        assert_eq!(
            outcome(409, &error("request_in_progress", "still running")),
            Outcome::Later
        );
        assert_eq!(outcome(401, ""), Outcome::SignedOut);
    }

    #[test]
    fn an_action_is_stored_as_the_api_reads_it() {
        let create = Action::CreateTask(NewTask {
            title: "Fix it".into(),
            description: "Now".into(),
            private: true,
        });
        let (path, body) = create.request();
        assert_eq!(path, "/api/tasks");
        let sent: NewTask = serde_json::from_str(&body).unwrap();
        assert_eq!(sent.title, "Fix it");
        assert!(sent.private);

        let answer = Action::Answer {
            task_id: 4,
            answers: Answers {
                answers: vec!["yes".into()],
            },
        };
        assert_eq!(answer.request().0, "/api/tasks/4/answers");
        let stored = serde_json::to_string(&Pending {
            key: "k".into(),
            action: answer.clone(),
            refused: None,
        })
        .unwrap();
        let back: Pending = serde_json::from_str(&stored).unwrap();
        assert_eq!(back.action, answer);
    }
}
