//! reconguard command line: serve | evaluate | policy | certs.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use reconguard::cli::evaluate::{evaluate_text, Report};
use reconguard::decision::Action;
use reconguard::policy::{Policy, DEFAULT_POLICY_YAML};

#[derive(Parser)]
#[command(
    name = "reconguard",
    version,
    about = "Kubernetes admission webhook against container-borne reconnaissance"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Judge manifests and AdmissionReviews offline (exit 0: nothing denied, 1: something denied, 2: error).
    Evaluate {
        /// Policy file (default: the embedded policy).
        #[arg(long)]
        policy: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// YAML or JSON files; `-` reads stdin.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Print or check policies.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Print the embedded default policy.
    Default,
    /// Validate a policy file (exit 0 valid, 2 invalid).
    Check { file: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn load_policy(path: Option<&PathBuf>) -> anyhow::Result<Policy> {
    match path {
        None => Ok(Policy::embedded_default()),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading policy {}", p.display()))?;
            Policy::from_yaml(&text).with_context(|| format!("policy {}", p.display()))
        }
    }
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

fn evaluate(
    policy: Option<PathBuf>,
    format: Format,
    files: Vec<String>,
) -> anyhow::Result<ExitCode> {
    let policy = load_policy(policy.as_ref())?;
    let mut denied = false;
    for file in &files {
        let text = read_input(file)?;
        let source = if file == "-" { "stdin" } else { file.as_str() };
        let results = evaluate_text(&policy, source, &text)?;
        for (label, subject, decision) in &results {
            denied |= decision.action == Action::Deny;
            let report = Report::new(label, subject, decision);
            match format {
                Format::Json => println!("{}", serde_json::to_string(&report)?),
                Format::Text => println!("{}", report.text()),
            }
        }
    }
    Ok(if denied {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Evaluate {
            policy,
            format,
            files,
        } => evaluate(policy, format, files),
        Command::Policy {
            command: PolicyCommand::Default,
        } => {
            print!("{DEFAULT_POLICY_YAML}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy {
            command: PolicyCommand::Check { file },
        } => {
            load_policy(Some(&file))?;
            println!("{}: valid", file.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("reconguard: {e:#}");
            ExitCode::from(2)
        }
    }
}
