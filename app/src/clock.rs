//! A ticking "now" for relative times, provided through context.

use leptos::prelude::*;

#[derive(Clone, Copy)]
struct Now(RwSignal<i64>);

/// Milliseconds since the epoch; refreshed every 15 s in the browser.
pub fn provide_clock() {
    let now = RwSignal::new(current_millis());
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || now.set(current_millis()),
            std::time::Duration::from_secs(15),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    }
    provide_context(Now(now));
}

pub fn use_now() -> Signal<i64> {
    expect_context::<Now>().0.into()
}

fn current_millis() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}
