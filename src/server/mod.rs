//! `reconguard serve`: the admission webhook over HTTPS, a plain-HTTP metrics port, reloads of the
//! policy and the certificate, and graceful shutdown. All I/O lives here; judging is the engine's.

pub mod cluster;
pub mod config;
pub mod decision_log;
pub mod metrics;
pub mod panics;
pub mod ratelimit;
pub mod reload;
pub mod store;
pub mod tls;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use arc_swap::ArcSwap;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use kube::core::admission::AdmissionRequest;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower_http::timeout::TimeoutLayer;

use crate::admission::RawObject;
use crate::decision::{Action, Decision};
use crate::engine::clock::Clock;
use crate::engine::pool::{self, EvalPool, PoolError};
use crate::engine::{Engine, Unjudged, Verdict};
use crate::policy::Policy;
use crate::subject::{self, Subject};
pub use config::{LogFormat, ServeConfig, DEFAULT_MAX_BODY_BYTES};
use decision_log::DecisionLog;
use metrics::Metrics;
use ratelimit::LogLimiter;
use store::SharedMemory;

/// Reviews judged on the async worker that received them rather than on the evaluation pool:
/// bodies up to this size whose command lines (`detect::script_bytes`) fit the next bound.
/// Analysis time grows faster than linearly with script bytes on hostile shapes: of the fuzz
/// corpus's 4 115 inputs, the slowest of up to 256 bytes costs 1.3 ms and 256 bytes of repeated
/// `time` prefixes 1.8 ms (release build), against 20 ms for some of up to 1 KiB. Typical commands
/// cost microseconds; longer ones go to the pool.
pub const INLINE_MAX_BODY_BYTES: usize = 64 * 1024;
pub const INLINE_MAX_SCRIPT_BYTES: usize = 256;

/// What the request handlers share.
pub struct AppState {
    pub policy: ArcSwap<Policy>,
    pub metrics: Metrics,
    pub shutting_down: AtomicBool,
    pub decision_log: DecisionLog,
    pub pool: EvalPool,
    pub evaluation_timeout: Duration,
    /// The pipeline's memory: recent discovery findings per identity (this replica's own, and
    /// the shared store when one is configured).
    pub engine: Engine<SharedMemory>,
    pub clock: Clock,
    /// The pod cache, Events and the labeller, when enabled.
    pub cluster: cluster::ClusterState,
}

/// Rejected and fail-closed requests are logged at most once a second: any in-cluster client can
/// send them.
static REJECTED_LOG: LogLimiter = LogLimiter::new(Duration::from_secs(1));

/// A 4xx answer for bodies that are not a review we can answer: the API server treats it as a
/// webhook failure and applies failurePolicy.
fn error(app: &AppState, status: StatusCode, reason: &str, message: String) -> Response {
    app.metrics.errors.with_label_values(&[reason]).inc();
    // A parser's message can quote the body it refused.
    let message = crate::mask::text(&message).into_owned();
    if let Some(suppressed) = REJECTED_LOG.admit(Instant::now()) {
        tracing::warn!(reason, %message, suppressed, "rejected request");
    }
    let body = serde_json::json!({
        "apiVersion": "v1", "kind": "Status", "status": "Failure",
        "code": status.as_u16(), "reason": reason, "message": message,
    });
    (status, Json(body)).into_response()
}

async fn validate(State(app): State<Arc<AppState>>, body: Bytes) -> Response {
    let started = Instant::now();
    let request = match crate::admission::read_review(&body) {
        Ok(request) => request,
        Err(e) => return error(&app, StatusCode::BAD_REQUEST, e.reason(), e.to_string()),
    };
    if request.uid.is_empty() {
        // An empty uid is refused like a missing one (`read_review` leaves it to the caller).
        let missing = crate::admission::ReviewError::MissingUid;
        return error(
            &app,
            StatusCode::BAD_REQUEST,
            missing.reason(),
            missing.to_string(),
        );
    }
    // At debug level only: the JSON formatter renders a span's fields when it is created, a few
    // per cent of a clean review's cost, and at info level nothing would be logged inside it.
    let span =
        tracing::debug_span!("review", uid = %request.uid, resource = %request.resource.resource);
    let mut subject = match span.in_scope(|| subject::from_request(&request)) {
        Ok(s) => s,
        Err(e) => {
            app.metrics
                .errors
                .with_label_values(&["invalid_object"])
                .inc();
            if let Some(suppressed) = REJECTED_LOG.admit(Instant::now()) {
                tracing::warn!(
                    uid = %request.uid,
                    resource = %request.resource.resource,
                    error = %crate::mask::text(&e.to_string()),
                    suppressed,
                    "cannot judge request"
                );
            }
            return Json(crate::review::invalid_object(&request, &e.to_string()).into_review())
                .into_response();
        }
    };
    app.cluster.enrich(&mut subject);
    let policy = app.policy.load_full();
    let subject = Arc::new(subject);
    let evaluation_started = Instant::now();
    // A review whose command lines are short is judged here: its analysis costs at most about
    // 2 ms and usually microseconds, and a hand-off to the pool would cost more than the
    // judgement. The pool takes the rest, so a long script never holds up an async worker.
    let inline = body.len() <= INLINE_MAX_BODY_BYTES
        && crate::detect::script_bytes(&subject) <= INLINE_MAX_SCRIPT_BYTES;
    let detected = if inline {
        crate::engine::detect_guarded(&policy, &subject)
    } else {
        let job = {
            let (policy, subject) = (policy.clone(), subject.clone());
            move || crate::engine::detect(&policy, &subject)
        };
        match tokio::time::timeout(app.evaluation_timeout, app.pool.run(job)).await {
            Ok(Ok(detected)) => Ok(detected),
            Ok(Err(PoolError::Panicked)) => Err(Unjudged::Panicked),
            Ok(Err(PoolError::Closed)) => {
                return error(
                    &app,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "shutting_down",
                    "the server is stopping".into(),
                )
            }
            Err(_) => Err(Unjudged::TimedOut(app.evaluation_timeout)),
        }
    };
    let verdict = app
        .engine
        .conclude(&policy, &subject, detected, app.clock.now())
        .await;
    let decision = account(&app, &subject, verdict);
    app.cluster
        .after(&policy, &app.metrics, &subject, &decision);
    respond(
        &app,
        &span,
        started,
        evaluation_started,
        &request,
        &subject,
        &decision,
    )
}

/// The verdict's side effects on metrics and the operational log: correlation's state, and an
/// analysis that did not complete (logged at a rate limit: any requester can cause one).
fn account(app: &AppState, subject: &Subject, verdict: Verdict) -> Decision {
    if let Some(c) = verdict.correlated {
        app.metrics.correlation_identities.set(c.identities as i64);
        app.metrics.correlation_evictions.inc_by(c.evicted);
        if c.duplicate {
            app.metrics.correlation_duplicates.inc();
        }
    }
    if let Some(why) = verdict.unjudged {
        app.metrics.errors.with_label_values(&[why.reason()]).inc();
        if let Some(suppressed) = REJECTED_LOG.admit(Instant::now()) {
            let uid = subject.uid.as_deref().unwrap_or("");
            tracing::error!(
                uid,
                reason = why.reason(),
                detail = %crate::mask::text(&why.detail()),
                suppressed,
                "request judged without a complete analysis"
            );
        }
    }
    verdict.decision
}

/// Metrics, the decision log and the response for a judged request.
fn respond(
    app: &AppState,
    span: &tracing::Span,
    started: Instant,
    evaluation_started: Instant,
    request: &AdmissionRequest<RawObject>,
    subject: &Subject,
    decision: &Decision,
) -> Response {
    let resource = metrics::resource_label(&request.resource.resource);
    app.metrics
        .evaluation_duration
        .with_label_values(&[resource])
        .observe(evaluation_started.elapsed().as_secs_f64());
    let response = crate::review::response(request, decision);
    span.in_scope(|| record(app, request, subject, decision));
    app.metrics
        .request_duration
        .with_label_values(&[resource])
        .observe(started.elapsed().as_secs_f64());
    Json(response.into_review()).into_response()
}

/// Metrics, the decision log and a debug line for one judged request.
fn record(
    app: &AppState,
    request: &AdmissionRequest<RawObject>,
    subject: &Subject,
    decision: &Decision,
) {
    let resource = metrics::resource_label(&request.resource.resource);
    let subresource = metrics::subresource_label(request.sub_resource.as_deref().unwrap_or(""));
    let operation = subject
        .operation
        .as_ref()
        .map_or("", subject::operation_name);
    let outcome = if decision.skipped.is_some() {
        "skipped"
    } else {
        decision.action.as_str()
    };
    app.metrics
        .requests
        .with_label_values(&[operation, resource, subresource, outcome])
        .inc();
    for hit in &decision.exemptions {
        app.metrics
            .exemption_hits
            .with_label_values(&[hit.name.as_str(), hit.effect.as_str()])
            .inc();
    }
    for f in &decision.findings {
        app.metrics
            .rule_matches
            .with_label_values(&[&f.rule, &f.technique])
            .inc();
    }
    if decision.action == Action::Deny || decision.would_deny {
        let top = decision
            .findings
            .first()
            .map(|f| f.rule.as_str())
            .unwrap_or("");
        let mode = decision.mode.as_str();
        app.metrics
            .denials
            .with_label_values(&[
                &app.metrics
                    .namespace_label(request.namespace.as_deref().unwrap_or("")),
                top,
                mode,
            ])
            .inc();
    }
    app.decision_log.record(request, subject, decision);
    tracing::debug!(
        decision = decision.action.as_str(),
        score = decision.score,
        "judged"
    );
}

/// The layers a policy was merged from, and its warnings, in the operational log.
fn log_policy(policy: &Policy, what: &str) {
    tracing::info!(layers = policy.layers.join(", "), "{what}");
    for warning in &policy.warnings {
        tracing::warn!(%warning, "policy warning");
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(app): State<Arc<AppState>>) -> Response {
    if app.shutting_down.load(Ordering::SeqCst) {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response()
    } else {
        (StatusCode::OK, "ready").into_response()
    }
}

async fn metrics_handler(State(app): State<Arc<AppState>>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

/// The webhook's routes, for the TLS port (and for in-process tests).
pub fn webhook_router(app: Arc<AppState>, config: &ServeConfig) -> Router {
    Router::new()
        .route("/validate", post(validate))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(axum::middleware::map_response_with_state(
            app.clone(),
            count_layer_rejections,
        ))
        .with_state(app)
}

/// The body limit (413) and the request timeout (408) answer before any handler runs; they are
/// counted here, with the handlers' own rejections, in `reconguard_errors_total`.
async fn count_layer_rejections(State(app): State<Arc<AppState>>, response: Response) -> Response {
    let reason = match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        _ => return response,
    };
    app.metrics.errors.with_label_values(&[reason]).inc();
    response
}

pub fn metrics_router(app: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .with_state(app)
}

/// Certificate files, or a self-signed pair made now (its CA logged, or written to `--ca-out`).
fn initial_certificate(config: &ServeConfig) -> anyhow::Result<tls::ServingCert> {
    match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            let cert_pem =
                std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?;
            let key_pem =
                std::fs::read(key).with_context(|| format!("reading {}", key.display()))?;
            tls::load_pem(&cert_pem, &key_pem).context("loading the serving certificate")
        }
        (None, None) => {
            let names = vec![
                "localhost".to_string(),
                "127.0.0.1".to_string(),
                "::1".to_string(),
            ];
            let generated = crate::certs::generate(&names, 365)
                .context("generating a self-signed certificate")?;
            match &config.ca_out {
                Some(path) => {
                    std::fs::write(path, &generated.ca_pem)
                        .with_context(|| format!("writing {}", path.display()))?;
                    tracing::warn!(ca = %path.display(), "no --tls-cert/--tls-key: serving a generated certificate for localhost; its CA is at this path");
                }
                None => tracing::warn!(
                    ca_pem = %generated.ca_pem,
                    "no --tls-cert/--tls-key: serving a generated certificate for localhost; its CA follows (--ca-out FILE writes it to a file)"
                ),
            }
            tls::load_pem(generated.cert_pem.as_bytes(), generated.key_pem.as_bytes())
                .context("loading the generated certificate")
        }
        _ => anyhow::bail!("--tls-cert and --tls-key go together"),
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Binds the configured addresses and runs the webhook until `shutdown` resolves, then drains.
pub async fn run(
    config: ServeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let metrics_listener = TcpListener::bind(config.metrics_listen)
        .await
        .with_context(|| format!("binding {}", config.metrics_listen))?;
    run_with_listeners(config, listener, metrics_listener, shutdown).await
}

/// Runs the webhook on listeners bound by the caller (tests bind port 0).
pub async fn run_with_listeners(
    config: ServeConfig,
    listener: TcpListener,
    metrics_listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    config.check().map_err(anyhow::Error::msg)?;
    let sources = config.policy_sources();
    let policy = sources.load()?;
    log_policy(&policy, "policy loaded");
    let cert = initial_certificate(&config)?;
    let metrics = Metrics::new().context("registering metrics")?;
    metrics.seed_exemptions(policy.exemptions.iter().map(|e| e.name.as_str()));
    metrics.certificate_expiry.set(cert.not_after_unix as f64);
    let resolver = Arc::new(tls::SwappableCert::new(cert.key));
    let tls_config = tls::server_config(resolver.clone())?;
    let log_out: Box<dyn std::io::Write + Send> = match &config.decision_log {
        None => Box::new(std::io::stdout()),
        Some(p) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("opening decision log {}", p.display()))?,
        ),
    };
    let decision_log = DecisionLog::new(
        log_out,
        config.log_all_decisions,
        metrics.decision_log_dropped.clone(),
    );
    let threads = match config.evaluation_threads {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let pool = EvalPool::new(threads, pool::STACK_BYTES).context("starting evaluation threads")?;
    let cluster = cluster::start(&config.cluster, &metrics).await?;
    let memory = SharedMemory::start(&config.store, &metrics)?;
    panics::install_hook();
    let app = Arc::new(AppState {
        policy: ArcSwap::from_pointee(policy),
        metrics,
        shutting_down: AtomicBool::new(false),
        decision_log,
        pool,
        evaluation_timeout: config.evaluation_timeout,
        engine: Engine::with_memory(memory),
        clock: config.clock.clone(),
        cluster,
    });

    let mut watchers = Vec::new();
    if !sources.is_empty() {
        let app = app.clone();
        let paths = sources.paths().to_vec();
        watchers.push(reload::watch(
            paths,
            config.reload_interval,
            move || match sources.load() {
                Ok(policy) => {
                    log_policy(&policy, "policy reloaded");
                    app.metrics
                        .seed_exemptions(policy.exemptions.iter().map(|e| e.name.as_str()));
                    app.policy.store(Arc::new(policy));
                    app.metrics
                        .policy_reloads
                        .with_label_values(&["success"])
                        .inc();
                }
                Err(e) => {
                    app.metrics
                        .policy_reloads
                        .with_label_values(&["failure"])
                        .inc();
                    tracing::error!(
                        error = format!("{e:#}"),
                        "policy reload failed; keeping the last good policy"
                    );
                }
            },
        ));
    }
    if let (Some(cert), Some(key)) = (config.tls_cert.clone(), config.tls_key.clone()) {
        let app = app.clone();
        let resolver = resolver.clone();
        let (c, k) = (cert.clone(), key.clone());
        watchers.push(reload::watch(vec![cert, key], config.reload_interval, move || {
            let loaded = std::fs::read(&c)
                .map_err(anyhow::Error::from)
                .and_then(|cp| Ok((cp, std::fs::read(&k)?)))
                .and_then(|(cp, kp)| Ok(tls::load_pem(&cp, &kp)?));
            match loaded {
                Ok(serving) => {
                    resolver.store(serving.key);
                    app.metrics.certificate_expiry.set(serving.not_after_unix as f64);
                    app.metrics.tls_reloads.with_label_values(&["success"]).inc();
                    tracing::info!(cert = %c.display(), "serving certificate reloaded");
                }
                Err(e) => {
                    app.metrics.tls_reloads.with_label_values(&["failure"]).inc();
                    tracing::error!(cert = %c.display(), error = format!("{e:#}"), "certificate reload failed; keeping the current one");
                }
            }
        }));
    }

    tracing::info!(listen = %listener.local_addr()?, metrics = %metrics_listener.local_addr()?, threads, "serving");

    let (stop_tx, stop_rx) = watch::channel(false);
    let metrics_task = {
        let mut stop = stop_rx.clone();
        let router = metrics_router(app.clone());
        tokio::spawn(async move {
            let _ = axum::serve(metrics_listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
        })
    };

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let connections = Connections {
        acceptor: TlsAcceptor::from(tls_config),
        router: webhook_router(app.clone(), &config),
        builder: Arc::new(builder),
        graceful: hyper_util::server::graceful::GracefulShutdown::new(),
        handshake_timeout: config.header_read_timeout,
        app: app.clone(),
    };

    // Serving until told to stop.
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => connections.accept(accepted),
        }
    }

    // Not ready, still serving: the endpoints controller removes this pod and the API server
    // stops calling it while every request that still arrives is answered.
    app.shutting_down.store(true, Ordering::SeqCst);
    tracing::info!(delay = ?config.shutdown_delay, "shutting down: not ready, still serving during the delay");
    let delay = tokio::time::sleep(config.shutdown_delay);
    tokio::pin!(delay);
    loop {
        tokio::select! {
            _ = &mut delay => break,
            accepted = listener.accept() => connections.accept(accepted),
        }
    }

    tracing::info!(drain = ?config.drain_timeout, "closing the listener, draining connections");
    drop(listener);
    if tokio::time::timeout(config.drain_timeout, connections.graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("drain timeout reached; closing remaining connections");
    }
    let _ = stop_tx.send(true);
    for w in watchers {
        w.abort();
    }
    let _ = metrics_task.await;
    app.pool.close();
    app.decision_log.close();
    tracing::info!("stopped");
    Ok(())
}

/// What every accepted connection needs: TLS, the routes, HTTP/1.1 and HTTP/2 settings, and the
/// graceful-shutdown watcher that lets the drain wait for it.
struct Connections {
    acceptor: TlsAcceptor,
    router: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    graceful: hyper_util::server::graceful::GracefulShutdown,
    handshake_timeout: Duration,
    app: Arc<AppState>,
}

impl Connections {
    fn accept(&self, accepted: std::io::Result<(tokio::net::TcpStream, SocketAddr)>) {
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                return;
            }
        };
        // Small responses must not wait for a delayed ACK (Nagle's algorithm).
        let _ = stream.set_nodelay(true);
        let acceptor = self.acceptor.clone();
        let router = self.router.clone();
        let builder = self.builder.clone();
        let watcher = self.graceful.watcher();
        let timeout = self.handshake_timeout;
        let app = self.app.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    let reason = tls::handshake_failure_reason(&e);
                    app.metrics
                        .tls_handshake_failures
                        .with_label_values(&[reason])
                        .inc();
                    tracing::debug!(%peer, error = %e, reason, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    app.metrics
                        .tls_handshake_failures
                        .with_label_values(&["timeout"])
                        .inc();
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let service = TowerToHyperService::new(router);
            let conn = builder.serve_connection(TokioIo::new(tls), service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    fn state() -> Arc<AppState> {
        let metrics = Metrics::new().unwrap();
        let decision_log = DecisionLog::new(
            Box::new(std::io::sink()),
            false,
            metrics.decision_log_dropped.clone(),
        );
        let memory = SharedMemory::local(&metrics);
        Arc::new(AppState {
            policy: ArcSwap::from_pointee(Policy::embedded_default()),
            metrics,
            shutting_down: AtomicBool::new(false),
            decision_log,
            pool: EvalPool::new(1, pool::STACK_BYTES).unwrap(),
            evaluation_timeout: Duration::from_secs(4),
            engine: Engine::with_memory(memory),
            clock: Clock::system(),
            cluster: Default::default(),
        })
    }

    #[tokio::test]
    async fn readiness_drops_when_shutdown_begins() {
        let app = state();
        let router = webhook_router(app.clone(), &ServeConfig::default());
        let get = || Request::get("/readyz").body(Body::empty()).unwrap();
        assert_eq!(
            router.clone().oneshot(get()).await.unwrap().status(),
            StatusCode::OK
        );
        app.shutting_down.store(true, Ordering::SeqCst);
        assert_eq!(
            router.clone().oneshot(get()).await.unwrap().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let health = Request::get("/healthz").body(Body::empty()).unwrap();
        assert_eq!(
            router.oneshot(health).await.unwrap().status(),
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn only_post_validates() {
        let router = webhook_router(state(), &ServeConfig::default());
        let resp = router
            .oneshot(Request::get("/validate").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
