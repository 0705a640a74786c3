//! Building and running a server instance.

use std::future::Future;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{middleware, Router};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::path::Path;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::auth::{load_or_create_shared_secret, SessionKeys};
use crate::config::Settings;
use crate::pages::PageBackend;
use crate::pipeline::analyser::{Analyser, RulesAnalyser};
use crate::pipeline::github::GithubClient;
use crate::pipeline::lease::Leases;
use crate::pipeline::llm::LlmAnalyser;
use crate::pipeline::{Dispatcher, PipelineHandle};
use crate::rooms::{
    dashboard::DashboardHandle,
    sequencer::{listen_for_commits, run_sequencer, Commits},
    Rooms,
};
use crate::state::AppState;
use crate::tasks::TaskService;
use crate::{db, routes, ws};

/// A built server, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Opens the database (running migrations), loads the dashboard, starts the
    /// sequencer and pipeline, and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        std::fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!(
                "creating the data directory {}",
                settings.data_dir.display()
            )
        })?;
        let database = db::open(&settings.database_url).await?;
        let pool = database.read.clone();
        let secret = load_or_create_shared_secret(
            settings.jwt_secret.as_ref(),
            &database,
            &settings.data_dir,
            "jwt.key",
        )
        .await?;
        let keys = SessionKeys::new(&secret, settings.session_ttl)
            .context("the session signing key is empty")?;
        let webhook_secret = load_or_create_shared_secret(
            settings.webhook_secret.as_ref(),
            &database,
            &settings.data_dir,
            "webhook.secret",
        )
        .await?;
        let github = settings.github.clone().map(GithubClient::new);

        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let committed = Arc::new(Commits::default());
        let revocations = tokio::sync::broadcast::channel(256).0;
        let tasks = TaskService::new(&database, committed.clone());

        // The dashboard room and the sequencer start from the same consistent read, so
        // the first event the sequencer publishes is the first the room has not seen.
        let (all, seq) = tasks.list().await.context("loading tasks")?;
        let rows = all
            .into_iter()
            .map(|t| {
                let visibility = t.visibility();
                (t.detail.summary, visibility)
            })
            .collect();
        let dashboard = DashboardHandle::new(
            pool.clone(),
            rows,
            seq,
            settings.replay_limit,
            settings.dashboard_hold,
        );
        let rooms = Rooms::new(pool.clone(), dashboard);
        if database.store == db::Store::Postgres {
            tracker.spawn(listen_for_commits(
                database.url.clone(),
                committed.clone(),
                revocations.clone(),
                shutdown.clone(),
            ));
        }
        if let Some(checkpoint) = database.checkpoint.clone() {
            tracker.spawn(db::run_checkpointer(
                checkpoint,
                db::CHECKPOINT_EVERY,
                shutdown.clone(),
            ));
        }
        tracker.spawn(run_sequencer(
            pool.clone(),
            committed,
            seq,
            rooms.clone(),
            settings.log_poll,
            shutdown.clone(),
        ));

        let dispatcher = Dispatcher::new(github.clone(), settings.public_url.clone());
        let analyser: Arc<dyn Analyser> = match settings.llm.clone() {
            Some(llm) => Arc::new(LlmAnalyser::new(llm)),
            None => Arc::new(RulesAnalyser),
        };
        let pipeline = PipelineHandle::start(
            tasks.clone(),
            analyser,
            dispatcher,
            settings.analysis_delay,
            (database.store == db::Store::Postgres)
                // Postgres connections all write; leases stay off the task writer's one.
                .then(|| Leases::new(database.read.clone(), settings.pipeline_lease)),
            tracker.clone(),
            shutdown.clone(),
        );
        pipeline
            .resume(&tasks)
            .await
            .context("resuming the pipeline")?;

        // The recorder is process-wide; installing it early means start-up is counted too.
        let _ = crate::metrics::handle();
        let listener = TcpListener::bind(settings.addr)
            .await
            .with_context(|| format!("binding {}", settings.addr))?;
        let action_quota = action_quota(&settings);
        let poll_quota = crate::ws::connection::frame_quota(&settings.ws);
        let ip_limits = Arc::new(crate::limits::IpLimits::new(&settings.ip_limits));
        let settings_sign_in = settings.ip_limits.sign_in;
        let state = AppState {
            settings: Arc::new(settings),
            db: database,
            keys,
            webhook_secret,
            github,
            tasks,
            pipeline,
            rooms,
            revocations,
            action_limits: Arc::new(governor::RateLimiter::keyed(action_quota)),
            poll_limits: Arc::new(governor::RateLimiter::keyed(poll_quota)),
            password_limits: Arc::new(governor::RateLimiter::keyed(crate::limits::quota(
                settings_sign_in,
            ))),
            ip_limits,
            socket_slots: Default::default(),
            connections: Arc::new(AtomicUsize::new(0)),
            shutdown,
            tracker,
        };
        state
            .tracker
            .spawn(crate::janitor::run(state.clone(), state.shutdown.clone()));
        state
            .tracker
            .spawn(crate::metrics::run_upkeep(state.shutdown.clone()));
        if let Some(step) = state.settings.demo {
            state.tracker.spawn(crate::demo::run(state.clone(), step));
        }
        let router = build_router(state.clone());
        Ok(Application {
            listener,
            router,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `stop` resolves, then closes every socket with a close frame and
    /// waits (briefly) for background work to finish.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            listener,
            router,
            state,
        } = self;
        tracing::info!(addr = %listener.local_addr()?, "listening");
        let token = state.shutdown.clone();
        // Peers' addresses reach the handlers, for the per-client-IP limits.
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        // Frames are small and written as soon as they are ready; Nagle's algorithm would
        // hold each one back until the peer acknowledges the last, which a receiving
        // client delays by up to 40 ms. A fixed send buffer bounds what a client that
        // stops reading holds in the kernel (left alone, the kernel grows it to
        // megabytes before the socket's queue fills and the client is cut).
        let send_buffer = state.settings.send_buffer_bytes;
        let listener = listener.tap_io(move |tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
            if let Some(bytes) = send_buffer {
                if let Err(error) = socket2::SockRef::from(&*tcp).set_send_buffer_size(bytes) {
                    tracing::debug!(%error, "could not set SO_SNDBUF");
                }
            }
        });
        let server = axum::serve(listener, service).with_graceful_shutdown(async move {
            stop.await;
            // Sockets see this and send their close frames.
            token.cancel();
        });
        server.await.context("serving")?;
        state.tracker.close();
        if tokio::time::timeout(Duration::from_secs(5), state.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not close in time");
        }
        state.db.close().await;
        Ok(())
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(crate::shutdown::signal()).await
    }
}

fn action_quota(settings: &Settings) -> governor::Quota {
    crate::limits::quota(crate::config::Rate {
        per_minute: settings.actions_per_minute,
        burst: settings.action_burst,
    })
}

/// A browser's write (any method but `GET`, `HEAD` and `OPTIONS`) must come from a page of
/// this server or of an allowed origin, as a socket must: with the session cookie, a
/// form on another site could otherwise sign a visitor in as someone else, or act for
/// them. Clients that are not browsers send no `Origin` and are not affected.
async fn same_origin_writes(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let safe = matches!(
        *request.method(),
        http::Method::GET | http::Method::HEAD | http::Method::OPTIONS
    );
    if !safe && !crate::ws::origin_allowed(request.headers(), &state.settings.allowed_origins) {
        return crate::error::ApiError::OriginNotAllowed.into_response();
    }
    next.run(request).await
}

/// What every response tells the browser: not to guess content types, not to be framed
/// by another site, to send no more than its origin to other sites; and a page (HTML),
/// which may show a user's private tasks, is kept by no shared cache.
async fn browser_headers(
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    if is_page {
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(HeaderValue::from_static("frame-ancestors 'none'"));
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("private, no-cache"));
    }
    response
}

/// A caller's `X-Request-Id` is kept only if it is a plausible id: 1 to 128
/// characters, each a letter, a digit or one of `-_.:`. Anything else is replaced by a
/// fresh one, since the id is echoed in error bodies and written to every log line of
/// the request.
async fn plausible_request_id(
    mut request: axum::http::Request<axum::body::Body>,
) -> axum::http::Request<axum::body::Body> {
    let unusable = request.headers().get("x-request-id").is_some_and(|id| {
        id.is_empty()
            || id.len() > 128
            || !id
                .as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    });
    if unusable {
        request.headers_mut().remove("x-request-id");
    }
    request
}

/// Every request's span names its method, path (never the query, which may hold a
/// token) and request id, so each log line of a request can be found by its id.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
}

/// The site's generated JS, WASM and CSS. Browsers that accept brotli or gzip get the
/// copies made at build time (`build_site` in `scripts/bootstrap.sh`; nothing is
/// compressed per request);
/// files whose names carry content hashes are cached for a year, anything else is
/// checked with the server on every use.
fn site_pkg(options: &LeptosOptions) -> Router {
    let dir = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let cache = HeaderValue::from_static(if options.hash_files {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    });
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    Router::new().fallback_service(
        ServiceBuilder::new()
            .layer(SetResponseHeaderLayer::overriding(
                header::CACHE_CONTROL,
                move |res: &http::Response<_>| res.status().is_success().then(|| cache.clone()),
            ))
            // The same name is sent brotli, gzip or plain: a cache keeps one per encoding.
            .layer(SetResponseHeaderLayer::appending(
                header::VARY,
                HeaderValue::from_static("accept-encoding"),
            ))
            .service(files),
    )
}

/// The app's page routes, listed once per process. Listing them renders the app with
/// resource loads suppressed process-wide, so a page another server in this process was
/// rendering at that moment would wait forever for its data: every server in the
/// process (tests and the cluster harness run several) waits here for the one listing,
/// before it serves anything.
static ROUTES: std::sync::LazyLock<Vec<leptos_axum::AxumRouteListing>> =
    std::sync::LazyLock::new(|| generate_route_list(app::App));

/// Pages (and their server functions) first, with the session renewal that only they
/// get; then the JSON API and the socket. Every request passes the per-client-IP limits
/// and the body limits.
fn build_router(state: AppState) -> Router {
    let leptos_options = state.settings.leptos.clone();
    let routes = ROUTES.clone();
    let backend: app::api::backend::SharedBackend = Arc::new(PageBackend(state.clone()));
    let context = move || provide_context(backend.clone());
    Router::new()
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = leptos_options.clone();
            move || app::shell(options.clone())
        })
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::pages::renew_expired_session,
        ))
        .nest_service("/pkg", site_pkg(&leptos_options))
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, app::shell))
        .merge(routes::router())
        .merge(ws::router())
        .route("/metrics", get(crate::metrics::serve_metrics))
        // Every route's wrong method, the pages' server functions' included.
        .method_not_allowed_fallback(|| async { crate::error::ApiError::MethodNotAllowed })
        .layer(middleware::from_fn(routes::limit_bodies))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            routes::client_limits::limit_per_client_ip,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            same_origin_writes,
        ))
        .layer(middleware::from_fn(browser_headers))
        .layer(middleware::from_fn(crate::metrics::record_http))
        .layer(middleware::from_fn(crate::error::with_request_id))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(middleware::map_request(plausible_request_id))
        .with_state(state)
}
