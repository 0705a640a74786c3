//! taskwire's user interface: server-rendered, then hydrated and kept live.

// The pages' view types are deeply nested generics.
#![recursion_limit = "512"]

/// Server functions and the data pages load.
pub mod api;
/// A ticking "now" for relative times.
pub mod clock;
/// Presentational pieces (status badge, timeline, connection indicator).
pub mod components;
/// The tab's reconnecting socket and the views it feeds.
pub mod live;
/// The service worker that keeps pages readable offline.
pub mod offline;
/// Actions kept in the browser until the server has them.
pub mod outbox;
/// One page per file.
pub mod routes;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use components::connection::{ConnectionIndicator, OfflineBanner};
use components::outbox::PendingActions;
use components::waiting::WaitingBadge;
use routes::account::AccountPage;
use routes::dashboard::Dashboard;
use routes::login::{LoginPage, SignupPage};
use routes::new_task::NewTask;
use routes::task::TaskDetailPage;
use routes::team::TeamPage;

/// A page's title for `<Title>`. The server writes the title into the page's `<head>` as
/// it is given, so there text from users (a task's title) is escaped, or it could close
/// the `<title>` element and run a script; in the browser the title is set as text.
pub fn title_text(text: String) -> String {
    #[cfg(feature = "ssr")]
    {
        let mut escaped = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                '&' => escaped.push_str("&amp;"),
                '<' => escaped.push_str("&lt;"),
                '>' => escaped.push_str("&gt;"),
                c => escaped.push(c),
            }
        }
        escaped
    }
    #[cfg(not(feature = "ssr"))]
    {
        text
    }
}

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    live::provide_live();
    provide_session_enders();
    outbox::provide_outbox();
    clock::provide_clock();
    // Tells tests (and curious people) that the page is interactive.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
        offline::register_worker();
    });

    view! {
        <Title text="taskwire"/>
        <Router>
            // Keyboard users skip the header; the browser, not the router, follows it.
            <a class="skip-link" href="#content" rel="external" data-testid="skip-link">"Skip to content"</a>
            <header class="topbar">
                <a class="brand" href="/">"taskwire"</a>
                <TopNav/>
            </header>
            <OfflineBanner/>
            <PendingActions/>
            <FocusOnNewPage/>
            <main id="content" tabindex="-1">
                // Async: pages are sent whole once their data is loaded, so they render
                // fully without JavaScript.
                <Routes fallback=routes::NotFound>
                    <Route path=path!("/") view=Dashboard ssr=SsrMode::Async/>
                    <Route path=path!("/tasks/new") view=NewTask ssr=SsrMode::Async/>
                    <Route path=path!("/tasks/:id") view=TaskDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/team") view=TeamPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/signup") view=SignupPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// When the router moves to another page (another path; a new query on the same page,
/// such as a search, leaves focus where it is), keyboard and screen-reader focus starts
/// at the new page's content: the link or button used went away with the old page, and
/// focus would otherwise fall back to the top of the document. A page that puts focus
/// in its content itself (the new-task form, on its title) keeps it there.
#[component]
fn FocusOnNewPage() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    Effect::new(move |shown: Option<String>| {
        let path = location.pathname.get();
        if shown.is_some_and(|shown| shown != path) {
            // Once the new page is on screen.
            request_animation_frame(focus_content_unless_there);
        }
        path
    });
}

fn focus_content_unless_there() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(content) = document()
            .get_element_by_id("content")
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
        else {
            return;
        };
        let in_content = document()
            .active_element()
            .is_some_and(|el| content.contains(Some(&el)));
        if !in_content {
            let options = web_sys::FocusOptions::new();
            // The router has put the new page at the top already.
            options.set_prevent_scroll(true);
            let _ = content.focus_with_options(&options);
        }
    }
}

/// The pages a visitor without a session sees: they offer an account, not a session's
/// controls.
fn signed_out_page(path: &str) -> bool {
    matches!(path, "/login" | "/signup")
}

#[component]
fn TopNav() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let signed_out = move || location.pathname.with(|p| signed_out_page(p));
    view! {
        <Show
            when=signed_out
            fallback=|| view! {
                <nav>
                    <a href="/">"Dashboard"</a>
                    <a href="/tasks/new" data-testid="nav-new-task">"New task"</a>
                    <a href="/team" data-testid="nav-team">"Team"</a>
                    <a href="/account" data-testid="nav-account">"Account"</a>
                </nav>
                <WaitingBadge/>
                <ConnectionIndicator/>
                <LogoutButton/>
            }
        >
            <nav class="account" data-testid="account-links">
                <a href="/login" data-testid="nav-sign-in">"Sign in"</a>
                <a href="/signup" data-testid="nav-sign-up">"Sign up"</a>
            </nav>
        </Show>
    }
}

/// The actions that sign this tab out, made once for the whole app and followed from
/// here: the component that asked is gone before the answer is followed (the router
/// takes the answer's redirect to the sign-in page, which has no sign-out controls).
#[derive(Clone, Copy)]
pub struct SessionEnders {
    /// This session only.
    pub sign_out: ServerAction<api::SignOut>,
    /// Every session of the account.
    pub logout: ServerAction<api::Logout>,
}

fn provide_session_enders() {
    let enders = SessionEnders {
        sign_out: ServerAction::new(),
        logout: ServerAction::new(),
    };
    components::follow_session_end(enders.sign_out, "/login");
    components::follow_session_end(enders.logout, "/login");
    provide_context(enders);
}

/// Signs this browser out; the account's other devices stay signed in (the account
/// page has "Sign out everywhere").
#[component]
fn LogoutButton() -> impl IntoView {
    let logout = expect_context::<SessionEnders>().sign_out;
    let failed = components::action_error(logout);
    view! {
        <ActionForm action=logout attr:class="logout">
            {failed}
            <button type="submit" class="link">"Sign out"</button>
        </ActionForm>
    }
}
