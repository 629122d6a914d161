//! Correlation memory shared by every replica: Redis or Valkey (`--correlation-store`). The API
//! server spreads one identity's requests over the replicas, so a burst, or the two admissions of
//! one `kubectl exec`, is only whole where every replica writes it.
//!
//! Each request is one script run (`observe.lua`): atomic per identity, on the store's clock, its
//! key expiring a window after the identity's last request, its value capped like the replica's
//! own history. The store is never on the critical path's correctness: a request it does not
//! answer within `--correlation-store-timeout` is answered from the replica's own memory (which
//! every request also updates), counted in `reconguard_correlation_store_errors_total`, and while
//! the store is down requests do not wait for it at all: a background task reconnects with
//! backoff and switches sharing back on when the store answers a PING.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::builder::TypedValueParser;
use clap::Args;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::mpsc;

use super::metrics::Metrics;
use super::ratelimit::LogLimiter;
use crate::engine::correlate::{hex, LocalMemory, Memory, Observation, Recalled, Remember, RECENT};
use crate::policy::Correlation;

/// The `reason` label values of `reconguard_correlation_store_errors_total`.
pub const ERROR_REASONS: [&str; 4] = ["timeout", "connection", "unavailable", "rejected"];

/// Longest key prefix accepted: keys stay bounded (prefix and 32 hex digits).
const MAX_PREFIX_BYTES: usize = 128;
/// Longest technique and rule names written to the store (the policy's own names are far shorter).
const MAX_TECHNIQUE_BYTES: usize = 32;
const MAX_RULE_BYTES: usize = 128;
/// Most techniques kept per identity, whatever the policy counts.
const MAX_TECHNIQUES: usize = 64;
/// Reconnection: first retry, then doubling up to the last, each with up to half again of jitter.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);
/// Time a connection attempt or a PING of the reconnecting task may take (off the request path).
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// `serve`'s flags for the shared store.
#[derive(Debug, Clone, Args)]
pub struct StoreConfig {
    /// Redis or Valkey that every replica shares for correlation and de-duplication:
    /// redis://HOST:PORT/DB, or rediss:// for TLS; a user name may be given in the URL, the
    /// password may not (--correlation-store-password-file). Without it each replica remembers
    /// alone.
    #[arg(long, value_name = "URL")]
    pub correlation_store: Option<String>,
    /// File holding the store's password (a mounted Secret); read at start.
    #[arg(long, value_name = "PATH", requires = "correlation_store")]
    pub correlation_store_password_file: Option<PathBuf>,
    /// PEM CA bundle that signed the store's certificate (rediss:// only); default: the system's.
    #[arg(long, value_name = "PATH", requires = "correlation_store")]
    pub correlation_store_ca: Option<PathBuf>,
    /// Prefix of every key, one per installation sharing a store.
    #[arg(long, value_name = "PREFIX", default_value = "reconguard:", value_parser = key_prefix)]
    pub correlation_store_prefix: String,
    /// Milliseconds a request waits for the store before its replica's own memory answers.
    #[arg(long, value_name = "MILLISECONDS", default_value = "100",
          value_parser = clap::value_parser!(u64).range(1..=2000).map(Duration::from_millis))]
    pub correlation_store_timeout: Duration,
}

fn key_prefix(text: &str) -> Result<String, String> {
    if text.len() > MAX_PREFIX_BYTES {
        return Err(format!("at most {MAX_PREFIX_BYTES} bytes"));
    }
    Ok(text.to_string())
}

/// Why the store did not answer a request.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    #[error("the store could not be reached: {0}")]
    Connection(redis::RedisError),
    #[error("the store is down and being reconnected")]
    Unavailable,
    #[error("the store refused the request: {0}")]
    Rejected(String),
}

impl StoreError {
    /// The `reason` label.
    pub fn reason(&self) -> &'static str {
        match self {
            StoreError::Timeout(_) => "timeout",
            StoreError::Connection(_) => "connection",
            StoreError::Unavailable => "unavailable",
            StoreError::Rejected(_) => "rejected",
        }
    }
}

/// The memory `serve` uses: the replica's own, and the shared store when one is configured.
pub struct SharedMemory {
    local: LocalMemory,
    store: Option<Arc<RedisStore>>,
}

impl SharedMemory {
    /// The replica's memory alone.
    pub fn local(metrics: &Metrics) -> SharedMemory {
        metrics
            .correlation_store_mode
            .with_label_values(&["local"])
            .set(1);
        SharedMemory {
            local: LocalMemory::default(),
            store: None,
        }
    }

    /// The configured memory: a store (connected in the background) or the replica's own.
    pub fn start(config: &StoreConfig, metrics: &Metrics) -> anyhow::Result<SharedMemory> {
        let Some(url) = &config.correlation_store else {
            return Ok(SharedMemory::local(metrics));
        };
        let store = RedisStore::start(url, config, metrics)?;
        Ok(SharedMemory {
            local: LocalMemory::default(),
            store: Some(store),
        })
    }
}

impl Memory for SharedMemory {
    async fn observe(&self, settings: &Correlation, request: &Remember, now: Instant) -> Recalled {
        // The replica's own memory always learns the request: it is what answers when the store
        // cannot, and then it knows everything this replica saw.
        let local = self.local.observe_now(settings, request, now);
        let Some(store) = &self.store else {
            return local;
        };
        match store.observe(settings, request).await {
            Ok(observation) => Recalled {
                observation,
                ..local
            },
            Err(e) => {
                store.failed(&e);
                local
            }
        }
    }
}

/// A connection to the store, the script, and whether requests should ask it.
pub struct RedisStore {
    connection: ConnectionManager,
    script: redis::Script,
    prefix: String,
    timeout: Duration,
    /// Set while the store answers; cleared by a request that found it down.
    up: AtomicBool,
    /// Wakes the reconnecting task when a request finds the store down.
    down: mpsc::Sender<()>,
    /// Where the store is, for the log (never the password).
    address: String,
    mode: prometheus::IntGaugeVec,
    errors: prometheus::IntCounterVec,
}

/// A down store is logged at most once every ten seconds.
static DOWN_LOG: LogLimiter = LogLimiter::new(Duration::from_secs(10));

impl RedisStore {
    fn start(
        url: &str,
        config: &StoreConfig,
        metrics: &Metrics,
    ) -> anyhow::Result<Arc<RedisStore>> {
        use redis::IntoConnectionInfo;
        // The client's TLS builds its configuration from the process's provider: ring, as the
        // webhook's own TLS uses.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut info = url
            .into_connection_info()
            .map_err(|e| anyhow::anyhow!("--correlation-store: {e}"))?;
        if info.redis_settings().password().is_some() {
            anyhow::bail!(
                "--correlation-store: the URL holds a password, which would show in the pod's \
                 arguments; give it in --correlation-store-password-file instead"
            );
        }
        let address = info.addr().to_string();
        let tls = matches!(info.addr(), redis::ConnectionAddr::TcpTls { .. });
        // No CLIENT SETINFO on connect: one command less for the store's ACL to allow.
        let mut settings = info.redis_settings().clone().set_skip_set_lib_name();
        if let Some(path) = &config.correlation_store_password_file {
            let password = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            settings = settings.set_password(password.trim_end_matches(['\r', '\n']));
        }
        info = info.set_redis_settings(settings);
        let client = match &config.correlation_store_ca {
            Some(_) if !tls => anyhow::bail!(
                "--correlation-store-ca is for a rediss:// (TLS) store; {address} is plain TCP"
            ),
            Some(path) => {
                let ca =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                let certificates = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(ca),
                };
                redis::Client::build_with_tls(info, certificates)
            }
            None => redis::Client::open(info),
        }
        .map_err(|e| anyhow::anyhow!("--correlation-store: {e}"))?;
        // One attempt per connection: the reconnecting task below owns the backoff, so that a
        // request never waits behind the library's retries.
        let manager_config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(PROBE_TIMEOUT))
            .set_response_timeout(Some(PROBE_TIMEOUT));
        let connection = ConnectionManager::new_lazy_with_config(client, manager_config)
            .map_err(|e| anyhow::anyhow!("--correlation-store: {e}"))?;
        let (down, woken) = mpsc::channel(1);
        let store = Arc::new(RedisStore {
            connection,
            script: script(),
            prefix: config.correlation_store_prefix.clone(),
            timeout: config.correlation_store_timeout,
            up: AtomicBool::new(false),
            down,
            address,
            mode: metrics.correlation_store_mode.clone(),
            errors: metrics.correlation_store_errors.clone(),
        });
        store.show_mode(false);
        tracing::info!(store = %store.address, tls, "correlation store: connecting");
        tokio::spawn(reconnect(Arc::downgrade(&store), woken));
        Ok(store)
    }

    /// The key of an identity: the installation's prefix and 128 bits of its SHA-256, whatever
    /// the identity's length.
    fn key(&self, identity: &str) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, identity.as_bytes());
        format!("{}id:{}", self.prefix, hex(&digest.as_ref()[..16]))
    }

    /// One request, applied by the script within the timeout.
    async fn observe(
        &self,
        settings: &Correlation,
        request: &Remember,
    ) -> Result<Observation, StoreError> {
        if !self.up.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable);
        }
        let mut invocation = self.script.key(self.key(&request.identity));
        invocation.arg(arguments(settings, request));
        let mut connection = self.connection.clone();
        let reply = tokio::time::timeout(
            self.timeout,
            invocation.invoke_async::<Vec<String>>(&mut connection),
        )
        .await;
        match reply {
            Err(_) => Err(StoreError::Timeout(self.timeout)),
            Ok(Err(e)) if is_connection(&e) => Err(StoreError::Connection(e)),
            Ok(Err(e)) => Err(StoreError::Rejected(e.to_string())),
            Ok(Ok(reply)) => observation(reply),
        }
    }

    /// Counts a request the store did not answer; one that could not reach it marks it down, so
    /// that the next requests do not wait for it while it is reconnected.
    fn failed(&self, error: &StoreError) {
        self.errors.with_label_values(&[error.reason()]).inc();
        let down = matches!(error, StoreError::Timeout(_) | StoreError::Connection(_));
        if down && self.up.swap(false, Ordering::AcqRel) {
            self.show_mode(false);
            let _ = self.down.try_send(());
        }
        if !matches!(error, StoreError::Unavailable) {
            if let Some(suppressed) = DOWN_LOG.admit(Instant::now()) {
                tracing::warn!(
                    store = %self.address,
                    reason = error.reason(),
                    error = %crate::mask::text(&error.to_string()),
                    suppressed,
                    "correlation store did not answer; this replica's own memory answers"
                );
            }
        }
    }

    fn show_mode(&self, up: bool) {
        self.mode.with_label_values(&["shared"]).set(i64::from(up));
        self.mode
            .with_label_values(&["fallback"])
            .set(i64::from(!up));
    }

    async fn ping(&self) -> Result<(), String> {
        let mut connection = self.connection.clone();
        let command = redis::cmd("PING");
        let ping = command.query_async::<String>(&mut connection);
        match tokio::time::timeout(PROBE_TIMEOUT, ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
        }
    }
}

/// The script each counted request runs in the store (`observe.lua`).
pub fn script() -> redis::Script {
    redis::Script::new(include_str!("observe.lua"))
}

/// The script's arguments for one request (its key is the identity's, `RedisStore::key`).
pub fn arguments(settings: &Correlation, request: &Remember) -> Vec<String> {
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let mut args = vec![
        millis(settings.window).to_string(),
        millis(settings.duplicate_window).to_string(),
        settings.distinct_techniques.to_string(),
        RECENT.to_string(),
        settings.techniques.len().min(MAX_TECHNIQUES).to_string(),
        request.fingerprint.hex(),
    ];
    for (technique, rule) in &request.findings {
        args.push(clip(technique, MAX_TECHNIQUE_BYTES).to_string());
        args.push(clip(rule, MAX_RULE_BYTES).to_string());
    }
    args
}

/// Errors that say the store could not be reached or dropped the connection, as opposed to a
/// store that answered with an error (out of memory, a script error).
fn is_connection(e: &redis::RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_unrecoverable_error()
}

/// The script's reply: `duplicate`, `counted`, or `burst` and its (technique, rule) pairs.
pub fn observation(reply: Vec<String>) -> Result<Observation, StoreError> {
    let mut words = reply.into_iter();
    let kind = words.next().unwrap_or_default();
    let rest: Vec<String> = words.collect();
    match kind.as_str() {
        "duplicate" if rest.is_empty() => Ok(Observation::Duplicate),
        "counted" if rest.is_empty() => Ok(Observation::Counted),
        "burst" if !rest.is_empty() && rest.len() % 2 == 0 => Ok(Observation::Burst(
            rest.chunks_exact(2)
                .map(|pair| (pair[0].clone(), pair[1].clone()))
                .collect(),
        )),
        _ => Err(StoreError::Rejected(format!(
            "unexpected reply {kind:?} with {} more words",
            rest.len()
        ))),
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Connects, then waits for a request to find the store down and reconnects, each time with
/// backoff until a PING is answered. Ends when the store is dropped (the server stopped).
async fn reconnect(store: Weak<RedisStore>, mut woken: mpsc::Receiver<()>) {
    let jitter = foldhash::fast::RandomState::default();
    loop {
        let mut delay = FIRST_RETRY;
        let mut attempt: u64 = 0;
        loop {
            let Some(s) = store.upgrade() else { return };
            match s.ping().await {
                Ok(()) => {
                    // A signal from before this PING is stale.
                    while woken.try_recv().is_ok() {}
                    s.up.store(true, Ordering::Release);
                    s.show_mode(true);
                    tracing::info!(store = %s.address, attempt, "correlation store: sharing");
                    break;
                }
                Err(error) => {
                    if attempt == 0 || DOWN_LOG.admit(Instant::now()).is_some() {
                        tracing::warn!(
                            store = %s.address,
                            attempt,
                            error = %crate::mask::text(&error),
                            retry_ms = delay.as_millis() as u64,
                            "correlation store unavailable; this replica's own memory answers"
                        );
                    }
                }
            }
            drop(s);
            attempt += 1;
            let spread = delay.as_millis() as u64 / 2;
            let extra = std::hash::BuildHasher::hash_one(&jitter, attempt) % spread.max(1);
            tokio::time::sleep(delay + Duration::from_millis(extra)).await;
            delay = (delay * 2).min(LAST_RETRY);
        }
        if woken.recv().await.is_none() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_strictly() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            observation(words(&["counted"])).unwrap(),
            Observation::Counted
        );
        assert_eq!(
            observation(words(&["duplicate"])).unwrap(),
            Observation::Duplicate
        );
        assert_eq!(
            observation(words(&["burst", "T1057", "a", "T1049", "b"])).unwrap(),
            Observation::Burst(vec![
                ("T1057".into(), "a".into()),
                ("T1049".into(), "b".into())
            ])
        );
        for bad in [
            &[][..],
            &["burst"],
            &["burst", "T1057"],
            &["counted", "x"],
            &["OK"],
        ] {
            let error = observation(words(bad)).unwrap_err();
            assert_eq!(error.reason(), "rejected", "{bad:?}");
        }
    }

    #[test]
    fn names_are_clipped_at_character_boundaries() {
        assert_eq!(clip("T1057", 32), "T1057");
        assert_eq!(clip("ééé", 3), "é");
        assert_eq!(clip("abcdef", 4), "abcd");
    }

    #[test]
    fn a_password_in_the_url_or_a_ca_without_tls_is_refused() {
        let metrics = Metrics::new().unwrap();
        let config = |url: &str, ca: Option<&str>| StoreConfig {
            correlation_store: Some(url.into()),
            correlation_store_password_file: None,
            correlation_store_ca: ca.map(PathBuf::from),
            correlation_store_prefix: "reconguard:".into(),
            correlation_store_timeout: Duration::from_millis(100),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            for (url, ca, expected) in [
                ("redis://:s3cret@redis:6379", None, "password"),
                ("redis://user:s3cret@redis:6379", None, "password"),
                ("redis://redis:6379", Some("/ca.pem"), "rediss://"),
                ("http://redis:6379", None, "--correlation-store"),
            ] {
                let error = SharedMemory::start(&config(url, ca), &metrics)
                    .err()
                    .unwrap_or_else(|| panic!("{url} accepted"))
                    .to_string();
                assert!(error.contains(expected), "{url}: {error}");
                assert!(!error.contains("s3cret"), "{url}: {error}");
            }
        });
    }
}
