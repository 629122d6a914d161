//! reconguard command line: serve | evaluate | policy | certs.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use reconguard::cli::diff::{compare, Comparison};
use reconguard::cli::evaluate::{evaluate_text, Report};
use reconguard::decision::Action;
use reconguard::policy::files::PolicySources;
use reconguard::policy::{Policy, DEFAULT_POLICY_YAML};

#[derive(Parser)]
#[command(
    name = "reconguard",
    version = env!("RECONGUARD_LONG_VERSION"),
    about = "Kubernetes admission webhook against container-borne reconnaissance"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the admission webhook (HTTPS) and the metrics endpoint (HTTP).
    Serve(Box<ServeArgs>),
    /// Write a CA and a serving certificate for the webhook Service (ca.crt, tls.crt, tls.key).
    Certs {
        #[arg(long, default_value = "reconguard")]
        service: String,
        #[arg(long, default_value = "reconguard")]
        namespace: String,
        #[arg(long, default_value = "certs")]
        out: PathBuf,
        /// Validity of the serving certificate in days.
        #[arg(long, default_value_t = 365)]
        days: i64,
    },
    /// Judge manifests and AdmissionReviews offline (exit 0: nothing denied, 1: something denied, 2: error).
    Evaluate {
        /// Policy layer: a file, or a directory of them read in name order; repeat for more
        /// layers, bottom first. They merge over the built-in default.
        #[arg(long)]
        policy: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// YAML or JSON files; `-` reads stdin.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Judge the pods and workloads running in the cluster (KUBECONFIG, ~/.kube/config or
    /// in-cluster) like `evaluate` (exit 0: nothing denied, 1: something denied, 2: error).
    Scan(ScanArgs),
    /// Print or check policies.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Send every rule's examples to a running webhook as dry-run AdmissionReviews and report
    /// which rules answer as documented (exit 0: all, 1: some do not, 2: error).
    Validate {
        /// The webhook's URL, as the API server calls it (`https://HOST:PORT/validate`).
        #[arg(long)]
        webhook: String,
        /// PEM CA bundle that signed the webhook's certificate (the caBundle).
        #[arg(long)]
        ca: PathBuf,
        /// Connect to this address instead of resolving the URL's host, which the certificate
        /// is still checked against: `kubectl -n reconguard port-forward svc/reconguard 8443:443`,
        /// then `--webhook https://reconguard.reconguard.svc:8443/validate --connect-to 127.0.0.1`.
        #[arg(long)]
        connect_to: Option<std::net::IpAddr>,
        /// Layers of the policy whose examples are sent (and which predicts what the webhook can
        /// show); none: the built-in default.
        #[arg(long)]
        policy: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(clap::Args)]
struct ScanArgs {
    /// Policy layer (file or directory); repeat for more. None: the built-in default.
    #[arg(long)]
    policy: Vec<PathBuf>,
    /// Only this namespace (default: all namespaces).
    #[arg(long, short = 'n')]
    namespace: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Also write one PolicyReport (wgpolicyk8s.io/v1alpha2) per namespace, named `reconguard`
    /// (RBAC: patch and create policyreports).
    #[arg(long)]
    policy_reports: bool,
    /// Kubeconfig (default: KUBECONFIG, ~/.kube/config, else the in-cluster service account).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Print the embedded default policy.
    Default,
    /// Validate policy layers merged over the default and judge every rule's examples (exit 0
    /// valid, 2 invalid or an example not as documented); warnings go to standard error.
    Check {
        /// Layer files or directories, bottom first; none: the built-in default.
        layers: Vec<PathBuf>,
    },
    /// Write the detection catalogue: one ADS section per rule, grouped by ATT&CK tactic and
    /// technique, with a coverage table.
    Docs {
        /// Policy layer (file or directory); repeat for more. None: the built-in default.
        #[arg(long)]
        policy: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = DocsFormat::Markdown)]
        format: DocsFormat,
    },
    /// Print the merged policy with the layer each value came from.
    Show {
        /// Policy layer (file or directory); repeat for more. None: the built-in default.
        #[arg(long)]
        policy: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = ShowFormat::Yaml)]
        format: ShowFormat,
    },
    /// Show which decisions on FILES change between two policies (exit 0: none, 1: some, 2: error).
    Diff {
        /// A layer of the policy before the change (repeat; none: the built-in default).
        #[arg(long)]
        from: Vec<PathBuf>,
        /// A layer of the policy after the change (repeat; none: the built-in default).
        #[arg(long)]
        to: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Manifests and AdmissionReviews (YAML or JSON, lists included); `-` reads stdin.
        #[arg(required = true)]
        files: Vec<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DocsFormat {
    Markdown,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ShowFormat {
    Yaml,
    Json,
}

#[derive(clap::Args)]
struct ServeArgs {
    #[arg(long, default_value = "0.0.0.0:8443")]
    listen: std::net::SocketAddr,
    #[arg(long, default_value = "0.0.0.0:9090")]
    metrics_listen: std::net::SocketAddr,
    /// PEM certificate chain (reloaded when it changes). Without it, a self-signed one is made.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Without --tls-cert: write the generated CA's PEM here (otherwise it is only logged, so
    /// `serve` runs on a read-only filesystem).
    #[arg(long, conflicts_with = "tls_cert")]
    ca_out: Option<PathBuf>,
    /// Policy layer: a file, or a directory of them read in name order (a mounted ConfigMap);
    /// repeat for more layers, bottom first. They merge over the built-in default and are
    /// reloaded when any changes.
    #[arg(long)]
    policy: Vec<PathBuf>,
    /// Seconds between content checks of the policy and certificate files.
    #[arg(long, default_value_t = 10)]
    reload_interval: u64,
    /// Seconds after SIGTERM during which /readyz fails but requests are still accepted and
    /// answered, so that endpoints stop sending here before the listener closes.
    #[arg(long, default_value_t = 10)]
    shutdown_delay: u64,
    /// Seconds in-flight requests get to finish once the listener has closed.
    #[arg(long, default_value_t = 20)]
    drain_timeout: u64,
    /// Seconds an evaluation may take (waiting for a free evaluation thread included) before the
    /// request is denied as an analysis limit. Keep it below the webhook's timeoutSeconds.
    #[arg(long, default_value_t = 4)]
    evaluation_timeout: u64,
    /// Evaluation threads (0: one per CPU). Each has an 8 MiB stack.
    #[arg(long, default_value_t = 0)]
    evaluation_threads: usize,
    /// Seconds before a request is answered 408.
    #[arg(long, default_value_t = 9)]
    request_timeout: u64,
    /// Seconds a client gets to send TLS handshake and request headers.
    #[arg(long, default_value_t = 5)]
    header_read_timeout: u64,
    #[arg(long, default_value_t = reconguard::server::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Decision log file (JSON lines). Default: standard output.
    #[arg(long)]
    decision_log: Option<PathBuf>,
    /// Log every decision, not only annotate and deny.
    #[arg(long)]
    log_all_decisions: bool,
    /// Operational log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Json)]
    log_format: LogFormat,
    /// Watch running pods (RBAC: list and watch pods) so that exec, attach, port-forward and
    /// debug are judged with their target's risk, and bare pod creation with its namespace's
    /// usual creators. Uses KUBECONFIG, ~/.kube/config or the in-cluster service account.
    #[arg(long)]
    pod_cache: bool,
    /// With --pod-cache: watch only this namespace (repeat; none: all namespaces).
    #[arg(long = "pod-cache-namespace", requires = "pod_cache")]
    pod_cache_namespaces: Vec<String>,
    /// Publish Kubernetes Events for denials and escalations (RBAC: create and patch
    /// events.k8s.io events).
    #[arg(long)]
    events: bool,
    /// With --events: events published per second at most, after a burst of --events-burst.
    #[arg(long, default_value_t = 5.0, requires = "events")]
    events_per_second: f64,
    #[arg(long, default_value_t = 20, requires = "events")]
    events_burst: u32,
    /// With --events: seconds during which the same reason and rule on the same object is
    /// published once.
    #[arg(long, default_value_t = 300, requires = "events")]
    events_dedupe_seconds: u64,
    /// Label the target pod of a denied exec, attach or port-forward scoring at least this
    /// `reconguard.io/quarantine=<rule>` (RBAC: patch pods). Off unless given.
    #[arg(long)]
    quarantine_min_score: Option<u32>,
    /// Kubeconfig for --pod-cache, --events and --quarantine-min-score (default: KUBECONFIG,
    /// ~/.kube/config, else the in-cluster service account).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Text,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn read_input(name: &str) -> anyhow::Result<String> {
    if name == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading stdin")?;
        Ok(text)
    } else {
        std::fs::read_to_string(name).with_context(|| format!("reading {name}"))
    }
}

/// Loads layers, printing their warnings to standard error.
fn load_policy(layers: Vec<PathBuf>) -> anyhow::Result<Policy> {
    let policy = PolicySources::new(layers).load()?;
    print_warnings(&policy);
    Ok(policy)
}

/// Writes to standard output. A reader that stops early (`| head`, `| grep -q`) is not an error:
/// the rest is not wanted. (`print!` would panic on the closed pipe.)
fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written.context("writing to standard output"),
    }
}

fn print_warnings(policy: &Policy) {
    for w in &policy.warnings {
        eprintln!("reconguard: warning: {w}");
    }
}

/// `policy check`: the merged policy loads, and its catalogue proves itself.
fn check(layers: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    let layers = PolicySources::new(layers).read()?;
    let policy = Policy::from_layers(layers.clone())?;
    print_warnings(&policy);
    println!("valid: {}", policy.layers.join(" + "));
    let report = reconguard::ads::check::check(&layers, &policy);
    // Undocumented rules, one line each: an admin's own rules may well be.
    let mut undocumented: Vec<(String, Vec<String>)> = Vec::new();
    for gap in &report.gaps {
        let (rule, field) = gap.path.rsplit_once('.').unwrap_or((&gap.path, ""));
        let rule = rule.trim_end_matches(".examples").to_string();
        match undocumented.last_mut() {
            Some((r, fields)) if *r == rule => fields.push(field.to_string()),
            _ => undocumented.push((rule, vec![field.to_string()])),
        }
    }
    for (rule, fields) in &undocumented {
        eprintln!("reconguard: note: {rule}: no {}", fields.join(", "));
    }
    for failure in &report.failures {
        eprintln!("reconguard: {failure}");
    }
    println!(
        "examples: {} judged for {} enabled rules of {}, {} not as documented; tunings: {} loaded",
        report.examples,
        report.enabled,
        report.rules,
        report.failures.len(),
        report.tunings
    );
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn validate(
    webhook: &str,
    ca: &std::path::Path,
    connect_to: Option<std::net::IpAddr>,
    policy: Vec<PathBuf>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let policy = load_policy(policy)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcomes = runtime.block_on(reconguard::cli::validate::validate(
        &policy, webhook, ca, connect_to,
    ))?;
    match format {
        Format::Text => emit(&reconguard::cli::validate::text(&outcomes))?,
        Format::Json => {
            for o in &outcomes {
                emit(&format!("{}\n", serde_json::to_string(o)?))?;
            }
        }
    }
    Ok(if outcomes.iter().any(|o| o.verdict.failed()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn evaluate(policy: Vec<PathBuf>, format: Format, files: Vec<String>) -> anyhow::Result<ExitCode> {
    let policy = load_policy(policy)?;
    let mut denied = false;
    for file in &files {
        let text = read_input(file)?;
        let source = if file == "-" { "stdin" } else { file.as_str() };
        let results = evaluate_text(&policy, source, &text)?;
        for (label, subject, decision) in &results {
            denied |= decision.action == Action::Deny;
            let report = Report::new(label, subject, decision);
            match format {
                Format::Json => emit(&format!("{}\n", serde_json::to_string(&report)?))?,
                Format::Text => emit(&format!("{}\n", report.text()))?,
            }
        }
    }
    Ok(if denied {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn diff(
    from: Vec<PathBuf>,
    to: Vec<PathBuf>,
    format: Format,
    files: Vec<String>,
) -> anyhow::Result<ExitCode> {
    let before = load_policy(from).context("the policy before (--from)")?;
    let after = load_policy(to).context("the policy after (--to)")?;
    let mut comparison = Comparison::default();
    for file in &files {
        let text = read_input(file)?;
        let source = if file == "-" { "stdin" } else { file.as_str() };
        compare(&before, &after, source, &text, &mut comparison)?;
    }
    for change in &comparison.changes {
        match format {
            Format::Json => emit(&format!("{}\n", serde_json::to_string(change)?))?,
            Format::Text => emit(&format!("{}\n", change.text()))?,
        }
    }
    eprintln!("{}", comparison.summary());
    Ok(if comparison.changes.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Json => subscriber.json().init(),
        LogFormat::Text => subscriber.init(),
    }
    let config = reconguard::server::ServeConfig {
        listen: args.listen,
        metrics_listen: args.metrics_listen,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        ca_out: args.ca_out,
        policy: PolicySources::new(args.policy),
        reload_interval: std::time::Duration::from_secs(args.reload_interval.max(1)),
        drain_timeout: std::time::Duration::from_secs(args.drain_timeout),
        request_timeout: std::time::Duration::from_secs(args.request_timeout.max(1)),
        header_read_timeout: std::time::Duration::from_secs(args.header_read_timeout.max(1)),
        max_body_bytes: args.max_body_bytes,
        decision_log: args.decision_log,
        log_all_decisions: args.log_all_decisions,
        shutdown_delay: std::time::Duration::from_secs(args.shutdown_delay),
        evaluation_timeout: std::time::Duration::from_secs(args.evaluation_timeout.max(1)),
        evaluation_threads: args.evaluation_threads,
        cluster: reconguard::server::cluster::ClusterConfig {
            pod_cache: args.pod_cache,
            namespaces: args.pod_cache_namespaces,
            events: args
                .events
                .then(|| reconguard::cluster::events::EventSettings {
                    dedupe: std::time::Duration::from_secs(args.events_dedupe_seconds),
                    per_second: args.events_per_second.max(0.01),
                    burst: args.events_burst,
                    instance: std::env::var("POD_NAME").ok(),
                }),
            quarantine_min_score: args.quarantine_min_score,
            kubeconfig: args.kubeconfig,
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(reconguard::server::run(
        config,
        reconguard::server::shutdown_signal(),
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn scan(args: ScanArgs) -> anyhow::Result<ExitCode> {
    use reconguard::cluster::scan;
    let policy = load_policy(args.policy)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let client = reconguard::cluster::client(args.kubeconfig.as_deref()).await?;
        let objects = scan::collect(&client, args.namespace.as_deref()).await?;
        let (judged, unread) = scan::judge(&policy, objects);
        for why in &unread {
            eprintln!("not judged: {why}");
        }
        let mut denied = false;
        let mut out = String::new();
        for j in &judged {
            denied |= j.decision.action == Action::Deny;
            let source = format!(
                "{}/{}",
                j.subject.kind,
                j.subject.name.as_deref().unwrap_or("-")
            );
            let report = Report::new(&source, &j.subject, &j.decision);
            out.push_str(&match args.format {
                Format::Json => serde_json::to_string(&report)?,
                Format::Text => report.text(),
            });
            out.push('\n');
        }
        emit(&out)?;
        if args.policy_reports {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let reports = scan::policy_reports(&policy, &judged, now);
            let written = scan::write_reports(&client, &reports).await?;
            eprintln!("wrote {written} PolicyReports");
        }
        eprintln!(
            "{} objects judged: {} denied, {} annotated",
            judged.len(),
            judged
                .iter()
                .filter(|j| j.decision.action == Action::Deny)
                .count(),
            judged
                .iter()
                .filter(|j| j.decision.action == Action::Annotate)
                .count()
        );
        Ok(if denied {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    })
}

fn certs(
    service: &str,
    namespace: &str,
    out: &std::path::Path,
    days: i64,
) -> anyhow::Result<ExitCode> {
    let generated =
        reconguard::certs::generate(&reconguard::certs::service_names(service, namespace), days)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for (name, text) in [
        ("ca.crt", &generated.ca_pem),
        ("tls.crt", &generated.cert_pem),
        ("tls.key", &generated.key_pem),
    ] {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Scan(args) => scan(args),
        Command::Certs {
            service,
            namespace,
            out,
            days,
        } => certs(&service, &namespace, &out, days),
        Command::Evaluate {
            policy,
            format,
            files,
        } => evaluate(policy, format, files),
        Command::Policy {
            command: PolicyCommand::Default,
        } => {
            emit(DEFAULT_POLICY_YAML)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy {
            command: PolicyCommand::Check { layers },
        } => check(layers),
        Command::Policy {
            command: PolicyCommand::Docs { policy, format },
        } => {
            let policy = load_policy(policy)?;
            emit(&match format {
                DocsFormat::Markdown => reconguard::ads::docs::markdown(&policy),
                DocsFormat::Json => {
                    serde_json::to_string_pretty(&reconguard::ads::docs::json(&policy))? + "\n"
                }
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate {
            webhook,
            ca,
            connect_to,
            policy,
            format,
        } => validate(&webhook, &ca, connect_to, policy, format),
        Command::Policy {
            command: PolicyCommand::Show { policy, format },
        } => {
            let merged = PolicySources::new(policy).merged()?;
            // Validate too: showing a policy that would not load would mislead.
            print_warnings(&Policy::from_merged(&merged)?);
            emit(&match format {
                ShowFormat::Yaml => reconguard::policy::show::yaml(&merged),
                ShowFormat::Json => {
                    serde_json::to_string_pretty(&reconguard::policy::show::json(&merged))? + "\n"
                }
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy {
            command:
                PolicyCommand::Diff {
                    from,
                    to,
                    format,
                    files,
                },
        } => diff(from, to, format, files),
    }
}

/// mimalloc rather than glibc's allocator: a request allocates and frees many small objects on
/// two or more threads, and glibc's arenas spent about 15% of the server's time in
/// malloc/free/consolidate under load (benches/load.sh, perf).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's defaults trade memory for speed: arenas committed eagerly and freed memory kept
/// for 10 ms. With them the server sat at 60 MiB resident when idle (policy compilation's
/// transient peak, kept); with these settings at 30 MiB, for about 3% of throughput
/// (benches/load.sh). Set here, after mimalloc's first arena exists; `MIMALLOC_ARENA_EAGER_COMMIT=0`
/// in the environment also covers that one (23 MiB).
fn tune_allocator() {
    // Positions in mimalloc 2's `mi_option_e` (libmimalloc-sys 0.1 builds mimalloc 2): the crate
    // names only some of them. `MIMALLOC_*` environment variables still override.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: setting an option is a plain store in mimalloc's option table.
    unsafe {
        libmimalloc_sys::mi_option_set_default(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set_default(PURGE_DELAY, 0);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("reconguard: {e:#}");
            ExitCode::from(2)
        }
    }
}
