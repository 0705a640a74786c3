//! Presentational pieces shared by the pages.

pub mod connection;
pub mod outbox;
pub mod status_badge;
pub mod timeline;
pub mod waiting;

use leptos::prelude::*;

/// "3 min ago", relative to `now` (both in milliseconds since the epoch).
pub fn relative_time(at: i64, now: i64) -> String {
    let secs = (now - at).max(0) / 1000;
    match secs {
        0..=9 => "just now".to_owned(),
        10..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// A moment as `2026-12-02T02:31:05Z` (for `datetime`).
pub fn iso_time(at: i64) -> String {
    let (date, (h, m, s)) = civil(at);
    format!("{date}T{h:02}:{m:02}:{s:02}Z")
}

/// A moment as people read it, the same on the server and in every browser:
/// `2026-12-02 02:31 UTC`.
pub fn absolute_time(at: i64) -> String {
    let (date, (h, m, _)) = civil(at);
    format!("{date} {h:02}:{m:02} UTC")
}

/// The UTC date (`YYYY-MM-DD`) and time of day of `at` (milliseconds since the epoch),
/// by the days-to-civil algorithm of the proleptic Gregorian calendar.
fn civil(at: i64) -> (String, (i64, i64, i64)) {
    let secs = at.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        (rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

/// "3 min ago", ticking, with the exact time on hover and on keyboard focus.
#[component]
pub fn RelativeTime(at: i64) -> impl IntoView {
    let now = crate::clock::use_now();
    let exact = absolute_time(at);
    view! {
        <time datetime=iso_time(at) title=exact tabindex="0" class="rel-time">
            {move || relative_time(at, now.get())}
        </time>
    }
}

/// The error of a form's last submission, as an alert; nothing while it has none.
pub fn action_error<S>(action: ServerAction<S>) -> impl Fn() -> Option<AnyView> + Copy
where
    S: leptos::server_fn::ServerFn<Error = crate::api::AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any())
    }
}

/// A secret shown this once (an invite link, a service token), with what to do with it
/// (`note`): the one `made` by the page's action or, before that has answered, the one a
/// form posted without JavaScript made (`kept`); or the action's error.
pub fn shown_once(
    made: Option<Result<String, crate::api::AppError>>,
    kept: Option<String>,
    note: &'static str,
    test_id: &'static str,
    error_test_id: &'static str,
) -> Option<AnyView> {
    let secret = match made {
        Some(Ok(secret)) => secret,
        Some(Err(e)) => return Some(
            view! { <p class="error" role="alert" data-testid=error_test_id>{e.to_string()}</p> }
                .into_any(),
        ),
        None => kept?,
    };
    Some(
        view! {
            <div class="notice" role="status">
                <p>{note}</p>
                <code class="token" data-testid=test_id>{secret}</code>
            </div>
        }
        .into_any(),
    )
}

/// Follows an `action` that ends this page's session (signing out, leaving a team):
/// while it runs, the tab's socket, which the server closes with the session, is left
/// closed (see [`crate::live::Live::leaving`]); once it has succeeded, `then` is loaded
/// afresh, its socket opening with whatever session the answer left; refused, the
/// socket comes back.
pub fn follow_session_end<S>(action: ServerAction<S>, then: &'static str)
where
    S: leptos::server_fn::ServerFn<Output = (), Error = crate::api::AppError>
        + Clone
        + Send
        + Sync
        + 'static,
{
    let live = crate::live::use_live();
    // Gone while the action runs (the viewer went to another page): nobody is left to
    // follow it, so the socket is not held for it.
    on_cleanup(move || {
        if action.pending().try_get_untracked().unwrap_or(false) {
            live.leaving(false);
        }
    });
    Effect::new(move |_| {
        if action.pending().get() {
            live.leaving(true);
            return;
        }
        match action.value().get() {
            Some(Ok(())) => crate::offline::forget_pages_then_go(then),
            Some(Err(_)) => live.leaving(false),
            None => {}
        }
    });
}

#[cfg(test)]
mod tests {
    use super::{absolute_time, iso_time, relative_time};

    #[test]
    fn exact_times_are_utc_calendar_dates() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(absolute_time(1_795_833_065_000), "2026-11-28 02:31 UTC");
        assert_eq!(iso_time(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso_time(-1_000), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative_time(0, 5_000), "just now");
        assert_eq!(relative_time(0, 42_000), "42 s ago");
        assert_eq!(relative_time(0, 180_000), "3 min ago");
        assert_eq!(relative_time(0, 7_200_000), "2 h ago");
        assert_eq!(
            relative_time(10_000, 0),
            "just now",
            "clock skew is not negative time"
        );
    }
}
