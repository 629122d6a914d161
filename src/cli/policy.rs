//! `reconguard policy ...`: print, check, document, show and compare policies.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};

use super::output::{emit, load_policy, print_warnings, Format};
use crate::policy::files::PolicySources;
use crate::policy::{Policy, DEFAULT_POLICY_YAML};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
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

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DocsFormat {
    Markdown,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShowFormat {
    Yaml,
    Json,
}

pub fn run(command: PolicyCommand) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Default => {
            emit(DEFAULT_POLICY_YAML)?;
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Check { layers } => check(layers),
        PolicyCommand::Docs { policy, format } => {
            let policy = load_policy(policy)?;
            emit(&match format {
                DocsFormat::Markdown => crate::ads::docs::markdown(&policy),
                DocsFormat::Json => {
                    serde_json::to_string_pretty(&crate::ads::docs::json(&policy))? + "\n"
                }
            })?;
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Show { policy, format } => {
            let merged = PolicySources::new(policy).merged()?;
            // Validate too: showing a policy that would not load would mislead.
            print_warnings(&Policy::from_merged(&merged)?);
            emit(&match format {
                ShowFormat::Yaml => crate::policy::show::yaml(&merged),
                ShowFormat::Json => {
                    serde_json::to_string_pretty(&crate::policy::show::json(&merged))? + "\n"
                }
            })?;
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Diff {
            from,
            to,
            format,
            files,
        } => {
            let before = load_policy(from).context("the policy before (--from)")?;
            let after = load_policy(to).context("the policy after (--to)")?;
            super::diff::run(&before, &after, format, &files)
        }
    }
}

/// `policy check`: the merged policy loads, and its catalogue proves itself.
fn check(layers: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    let layers = PolicySources::new(layers).read()?;
    let policy = Policy::from_layers(layers.clone())?;
    print_warnings(&policy);
    println!("valid: {}", policy.layers.join(" + "));
    let report = crate::ads::check::check(&layers, &policy);
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
