//! The site's generated files are served as built: the precompressed copy the browser
//! accepts, and, for hashed names, cached for good.

use std::path::Path;

use crate::helpers::*;

/// A server whose site root holds a few generated files; the directory lives as long as
/// the returned guard.
async fn app_with_site(hash_files: bool) -> (TestApp, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    site(root.path());
    let site_root = root.path().to_str().unwrap().to_owned();
    let app = spawn_app_with(move |s| {
        s.leptos.site_root = site_root.into();
        s.leptos.hash_files = hash_files;
    })
    .await;
    (app, root)
}

fn site(dir: &Path) {
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("taskwire.abc123.wasm"), b"\0asm raw bytes").unwrap();
    std::fs::write(pkg.join("taskwire.abc123.wasm.br"), b"brotli bytes").unwrap();
    std::fs::write(pkg.join("taskwire.abc123.wasm.gz"), b"gzip bytes").unwrap();
    std::fs::write(pkg.join("taskwire.abc123.css"), b"body{}").unwrap();
}

async fn get(app: &TestApp, path: &str, encoding: Option<&str>) -> reqwest::Response {
    let mut req = app.http.get(app.url(path));
    if let Some(e) = encoding {
        req = req.header("accept-encoding", e);
    }
    req.send().await.unwrap()
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn hashed_files_go_out_precompressed_and_cached_for_a_year() {
    let (app, _site) = app_with_site(true).await;

    let res = get(&app, "/pkg/taskwire.abc123.wasm", Some("gzip, deflate, br")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-encoding"), Some("br"));
    assert_eq!(header(&res, "content-type"), Some("application/wasm"));
    assert_eq!(
        header(&res, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(header(&res, "vary"), Some("accept-encoding"));
    assert_eq!(header(&res, "x-content-type-options"), Some("nosniff"));
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"brotli bytes");

    let res = get(&app, "/pkg/taskwire.abc123.wasm", Some("gzip")).await;
    assert_eq!(header(&res, "content-encoding"), Some("gzip"));
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"gzip bytes");

    let res = get(&app, "/pkg/taskwire.abc123.wasm", Some("identity")).await;
    assert_eq!(header(&res, "content-encoding"), None);
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"\0asm raw bytes");

    // A file with no compressed copy is sent as it is.
    let res = get(&app, "/pkg/taskwire.abc123.css", Some("br")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-encoding"), None);

    // A missing file is not cached: the next build may bring it.
    let res = get(&app, "/pkg/taskwire.nothere.wasm", Some("br")).await;
    assert_eq!(res.status(), 404);
    assert_eq!(header(&res, "cache-control"), None);
}

#[tokio::test]
async fn unhashed_files_are_checked_with_the_server_on_every_use() {
    let (app, _site) = app_with_site(false).await;
    let res = get(&app, "/pkg/taskwire.abc123.css", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "cache-control"), Some("no-cache"));
}
