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

/// Drops the copies of pages, then loads `href` afresh: the copies show the account that
/// is signing out, or the one that was signed in before. The load waits for the copies
/// to be gone, or a page torn down at once could leave them behind.
pub fn forget_pages_then_go(href: &str) {
    #[cfg(feature = "hydrate")]
    {
        let href = href.to_owned();
        leptos::task::spawn_local(async move {
            let window = leptos::prelude::window();
            if let Ok(caches) = window.caches() {
                let _ = wasm_bindgen_futures::JsFuture::from(caches.delete(PAGES)).await;
            }
            let _ = window.location().set_href(&href);
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = href;
}
