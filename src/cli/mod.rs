//! The command line: one module per command, each a shell around the engine. `main.rs` only
//! sets up the allocator and calls [`main`].

pub mod certs;
pub mod diff;
pub mod documents;
pub mod evaluate;
pub mod output;
pub mod policy;
pub mod replay;
pub mod scan;
pub mod serve;
pub mod suggest;
pub mod validate;

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use output::{load_policy, Format};

#[derive(Debug, Parser)]
#[command(
    name = "reconguard",
    version = env!("RECONGUARD_LONG_VERSION"),
    about = "Kubernetes admission webhook against container-borne reconnaissance"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the admission webhook (HTTPS) and the metrics endpoint (HTTP).
    Serve(Box<crate::server::ServeConfig>),
    /// Write a CA and a serving certificate for the webhook Service (ca.crt, tls.crt, tls.key).
    Certs {
        #[arg(long, default_value = "reconguard")]
        service: String,
        #[arg(long, default_value = "reconguard")]
        namespace: String,
        #[arg(long, default_value = "certs")]
        out: PathBuf,
        /// Validity of the serving certificate in days.
        #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(i64).range(1..=3650))]
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
    Scan(scan::ScanArgs),
    /// Judge the requests of the API server's audit log with the current policy, as `serve`
    /// would have judged them, with a summary by rule, namespace and identity (exit 0: nothing
    /// denied, 1: something denied, 2: error).
    Replay(replay::ReplayArgs),
    /// Print or check policies.
    Policy {
        #[command(subcommand)]
        command: policy::PolicyCommand,
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
        connect_to: Option<IpAddr>,
        /// Layers of the policy whose examples are sent (and which predicts what the webhook can
        /// show); none: the built-in default.
        #[arg(long)]
        policy: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(config) => serve::run(*config),
        Command::Scan(args) => scan::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Certs {
            service,
            namespace,
            out,
            days,
        } => certs::run(&service, &namespace, &out, days),
        Command::Evaluate {
            policy,
            format,
            files,
        } => evaluate::run(&load_policy(policy)?, format, &files),
        Command::Policy { command } => policy::run(command),
        Command::Validate {
            webhook,
            ca,
            connect_to,
            policy,
            format,
        } => validate::run(&load_policy(policy)?, &webhook, &ca, connect_to, format),
    }
}

/// The command line's grammar. Installed as `kubectl-reconguard` on the PATH, the binary is a
/// kubectl plugin (`kubectl reconguard scan ...`), and its help and errors name it so.
fn grammar() -> clap::Command {
    let plugin = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().starts_with("kubectl-"))
        })
        .unwrap_or(false);
    let command = Cli::command();
    if plugin {
        command.bin_name("kubectl reconguard")
    } else {
        command
    }
}

/// Parses the command line and runs it; errors exit 2 with their chain of context.
pub fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&grammar().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("reconguard: {e:#}");
            ExitCode::from(2)
        }
    }
}
