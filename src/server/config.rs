//! `serve`'s configuration, which is also its command line: every default is written once, here,
//! and a value out of range is refused with the flag's name rather than clamped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::{Args, Parser, ValueEnum};

use super::cluster::ClusterConfig;
use super::store::StoreConfig;
use crate::engine::clock::Clock;
use crate::flags::{at_least_one_second, seconds};
use crate::policy::files::PolicySources;

/// Largest AdmissionReview body accepted. An UPDATE carries object and oldObject: two pods at the
/// API server's 1.5 MiB object limit, plus the review envelope, stay under 4 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    #[arg(long, default_value = "0.0.0.0:8443")]
    pub listen: SocketAddr,
    #[arg(long, default_value = "0.0.0.0:9090")]
    pub metrics_listen: SocketAddr,
    /// PEM certificate chain (reloaded when it changes). Without it, a self-signed one is made.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Without --tls-cert: write the generated CA's PEM here (otherwise it is only logged, so
    /// `serve` runs on a read-only filesystem).
    #[arg(long, conflicts_with = "tls_cert")]
    pub ca_out: Option<PathBuf>,
    /// Policy layer: a file, or a directory of them read in name order (a mounted ConfigMap);
    /// repeat for more layers, bottom first. They merge over the built-in default and are
    /// reloaded when any changes.
    #[arg(long = "policy", value_name = "PATH")]
    pub policy: Vec<PathBuf>,
    /// Seconds between content checks of the policy and certificate files.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = at_least_one_second)]
    pub reload_interval: Duration,
    /// Seconds in-flight requests get to finish once the listener has closed.
    #[arg(long, value_name = "SECONDS", default_value = "20", value_parser = seconds)]
    pub drain_timeout: Duration,
    /// Seconds before a request is answered 408.
    #[arg(long, value_name = "SECONDS", default_value = "9", value_parser = at_least_one_second)]
    pub request_timeout: Duration,
    /// Seconds a client gets to send TLS handshake and request headers.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = at_least_one_second)]
    pub header_read_timeout: Duration,
    /// Largest request body (at least 64 KiB).
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES,
          value_parser = clap::value_parser!(u64).range(65_536..=1 << 30).map(|n| n as usize))]
    pub max_body_bytes: usize,
    /// Decision log file (JSON lines). Default: standard output.
    #[arg(long)]
    pub decision_log: Option<PathBuf>,
    /// Log every decision, not only annotate and deny.
    #[arg(long)]
    pub log_all_decisions: bool,
    /// Operational log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
    /// Seconds after SIGTERM during which /readyz fails but requests are still accepted and
    /// answered, so that endpoints stop sending here before the listener closes.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = seconds)]
    pub shutdown_delay: Duration,
    /// Seconds an evaluation may take (waiting for a free evaluation thread included) before the
    /// request is denied as an analysis limit. Keep it below the webhook's timeoutSeconds and
    /// below --request-timeout.
    #[arg(long, value_name = "SECONDS", default_value = "4", value_parser = at_least_one_second)]
    pub evaluation_timeout: Duration,
    /// Evaluation threads (0: one per CPU; at most 256). Each has an 8 MiB stack.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=256).map(|n| n as usize))]
    pub evaluation_threads: usize,
    /// The pod cache, Events and containment (all off by default).
    #[command(flatten)]
    pub cluster: ClusterConfig,
    /// The correlation store every replica shares (off by default).
    #[command(flatten)]
    pub store: StoreConfig,
    /// The correlator's time (tests move it).
    #[arg(skip)]
    pub clock: Clock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

/// The configuration `serve` runs with when given no flag.
impl Default for ServeConfig {
    fn default() -> Self {
        #[derive(Parser)]
        struct Bare {
            #[command(flatten)]
            config: ServeConfig,
        }
        match Bare::try_parse_from(["serve"]) {
            Ok(bare) => bare.config,
            // The flags' own defaults failing to parse is a programming error every test shows.
            Err(e) => panic!("serve's built-in defaults do not parse: {e}"),
        }
    }
}

impl ServeConfig {
    pub fn policy_sources(&self) -> PolicySources {
        PolicySources::new(self.policy.clone())
    }

    /// Settings that are each in range but contradict one another.
    pub fn check(&self) -> Result<(), String> {
        if self.evaluation_timeout >= self.request_timeout {
            return Err(format!(
                "--evaluation-timeout ({} s) must be below --request-timeout ({} s): a request \
                 would be answered 408 before its evaluation could be judged fail-closed",
                self.evaluation_timeout.as_secs(),
                self.request_timeout.as_secs()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Parser, Debug)]
    struct Serve {
        #[command(flatten)]
        config: ServeConfig,
    }

    fn parse(args: &[&str]) -> Result<ServeConfig, String> {
        let argv = std::iter::once("serve").chain(args.iter().copied());
        Serve::try_parse_from(argv)
            .map(|s| s.config)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_the_flags_defaults() {
        let c = ServeConfig::default();
        assert_eq!(c.listen, "0.0.0.0:8443".parse().unwrap());
        assert_eq!(c.reload_interval, Duration::from_secs(10));
        assert_eq!(c.evaluation_timeout, Duration::from_secs(4));
        assert_eq!(c.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert!(!c.cluster.pod_cache && c.cluster.events().is_none());
        assert!(c.store.correlation_store.is_none());
        assert_eq!(
            c.store.correlation_store_timeout,
            Duration::from_millis(100)
        );
        assert_eq!(c.store.correlation_store_prefix, "reconguard:");
        assert_eq!(c.check(), Ok(()));
    }

    #[test]
    fn out_of_range_values_are_refused_with_the_flag_name() {
        for (args, flag) in [
            (&["--reload-interval", "0"][..], "--reload-interval"),
            (&["--evaluation-timeout", "0"], "--evaluation-timeout"),
            (&["--request-timeout=-3"], "--request-timeout"),
            (&["--header-read-timeout", "1.5"], "--header-read-timeout"),
            (&["--max-body-bytes", "10"], "--max-body-bytes"),
            (&["--evaluation-threads", "100000"], "--evaluation-threads"),
            (
                &["--events", "--events-per-second", "0"],
                "--events-per-second",
            ),
            (&["--events", "--events-burst", "0"], "--events-burst"),
            (
                &[
                    "--correlation-store",
                    "redis://r",
                    "--correlation-store-timeout",
                    "0",
                ],
                "--correlation-store-timeout",
            ),
            (
                &["--correlation-store-timeout", "2001"],
                "--correlation-store-timeout",
            ),
            (
                &["--correlation-store-password-file", "/p"],
                "--correlation-store",
            ),
        ] {
            let error = parse(args).expect_err(&format!("{args:?} accepted"));
            assert!(error.contains(flag), "{args:?}: {error}");
        }
        let long_prefix = "p".repeat(129);
        let error = parse(&["--correlation-store-prefix", &long_prefix]).unwrap_err();
        assert!(error.contains("--correlation-store-prefix"), "{error}");
        let parsed = parse(&["--drain-timeout", "0", "--shutdown-delay", "0"]).unwrap();
        assert_eq!(parsed.drain_timeout, Duration::ZERO);
    }

    #[test]
    fn contradicting_timeouts_are_refused() {
        let c = parse(&["--evaluation-timeout", "9", "--request-timeout", "9"]).unwrap();
        let error = c.check().unwrap_err();
        assert!(error.contains("--evaluation-timeout"), "{error}");
    }
}
