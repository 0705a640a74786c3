//! The service worker (`public/sw.js`) that keeps pages readable offline, and the copies
//! it keeps, which belong to whoever is signed in.

/// The worker's cache of pages and assets (the name `sw.js` uses).
#[cfg(feature = "hydrate")]
const PAGES: &str = "taskwire-pages-v1";

/// Registers the worker, where the browser has them (not on plain `http://` to
/// another machine, for one).
pub fn register_worker() {
    #[cfg(feature = "hydrate")]
    {
        let navigator = leptos::prelude::window().navigator();
        let has_workers = js_sys::Reflect::get(&navigator, &"serviceWorker".into())
            .is_ok_and(|v| !v.is_undefined() && !v.is_null());
        if has_workers {
            let _ = navigator.service_worker().register("/sw.js");
        }
    }
}

/// Drops the copies of pages: they show the account that is signing out, or the one
/// that was signed in before.
pub fn forget_pages() {
    #[cfg(feature = "hydrate")]
    if let Ok(caches) = leptos::prelude::window().caches() {
        let _ = caches.delete(PAGES);
    }
}
