//! `reconguard scan`: the cluster's running pods and workloads, judged like `evaluate` judges files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::evaluate::Report;
use super::output::{emit, exit_code, load_policy, Format};
use super::suggest::Suggestions;
use crate::cluster::scan;
use crate::decision::Action;

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
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
    /// The kubeconfig context to use (default: the current one), as `kubectl --context`.
    #[arg(long)]
    context: Option<String>,
    /// Write a policy layer exempting exactly what was denied, one entry per service account,
    /// namespace and image repositories, for review (see `policy diff`).
    #[arg(long, value_name = "FILE")]
    suggest_layer: Option<PathBuf>,
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let policy = load_policy(args.policy)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let client =
            crate::cluster::client_in(args.kubeconfig.as_deref(), args.context.as_deref()).await?;
        let objects = scan::collect(&client, args.namespace.as_deref()).await?;
        let (judged, unread) = scan::judge(&policy, objects);
        for why in &unread {
            eprintln!("not judged: {why}");
        }
        let mut out = String::new();
        for j in &judged {
            let source = format!(
                "{}/{}",
                j.subject.kind,
                j.subject.name.as_deref().unwrap_or("-")
            );
            out.push_str(&Report::new(&source, &j.subject, &j.decision).render(args.format)?);
            out.push('\n');
        }
        emit(&out)?;
        if let Some(path) = &args.suggest_layer {
            let mut suggestions = Suggestions::default();
            for j in &judged {
                suggestions.add(&j.subject, &j.decision, "");
            }
            let layer = suggestions.layer("reconguard scan of the running pods and workloads");
            std::fs::write(path, layer).with_context(|| format!("writing {}", path.display()))?;
        }
        if args.policy_reports {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let reports = scan::policy_reports(&policy, &judged, now);
            let written = scan::write_reports(&client, &reports).await?;
            eprintln!("wrote {written} PolicyReports");
        }
        let count = |action| {
            judged
                .iter()
                .filter(|j| j.decision.action == action)
                .count()
        };
        eprintln!(
            "{} objects judged: {} denied, {} annotated",
            judged.len(),
            count(Action::Deny),
            count(Action::Annotate)
        );
        Ok(exit_code(count(Action::Deny) > 0))
    })
}
