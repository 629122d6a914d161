//! `reconguard validate`: the ADS validation step an operator runs after an install or a policy
//! change. Every example of the policy's enabled rules is sent to a running webhook as the
//! dry-run AdmissionReview the API server would send, and the answer is compared with what the
//! example says. The verdicts are `crate::ads::validate`'s; this is the I/O.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde::Serialize;

use crate::ads::check::judge_review;
use crate::ads::examples::{describe, needs_context, review};
use crate::ads::validate::{verdict, Verdict};
use crate::decision::Action;
use crate::policy::Policy;

/// One example's result.
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub rule: String,
    pub path: String,
    pub example: String,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// An HTTPS client that trusts only `ca`, speaking HTTP/2 or HTTP/1.1 as the server offers;
/// `connect_to` replaces the resolution of the URL's host, which TLS still checks.
fn client(ca: &Path, connect_to: Option<(&str, IpAddr)>) -> anyhow::Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in
        CertificateDer::pem_file_iter(ca).with_context(|| format!("reading CA {}", ca.display()))?
    {
        let cert = cert.with_context(|| format!("reading CA {}", ca.display()))?;
        roots
            .add(cert)
            .with_context(|| format!("CA {}", ca.display()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let mut builder = reqwest::Client::builder();
    if let Some((host, ip)) = connect_to {
        // The URL's port is used; reqwest ignores this one.
        builder = builder.resolve(host, SocketAddr::new(ip, 0));
    }
    builder
        .use_preconfigured_tls(tls)
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .context("building the HTTPS client")
}

/// Sends every example to `webhook` (at `connect_to` when given) and judges the answers.
pub async fn validate(
    policy: &Policy,
    webhook: &str,
    ca: &Path,
    connect_to: Option<IpAddr>,
) -> anyhow::Result<Vec<Outcome>> {
    let url = reqwest::Url::parse(webhook).with_context(|| format!("--webhook {webhook}"))?;
    let host = url.host_str().unwrap_or_default().to_string();
    let client = client(ca, connect_to.map(|ip| (host.as_str(), ip)))?;
    let mut outcomes = Vec::new();
    for (id, spec) in &policy.document.rules {
        if !policy.rule(id).is_some_and(|r| r.enabled) {
            continue;
        }
        let sets = [
            ("fires", &spec.examples.fires, true),
            ("quiet", &spec.examples.quiet, false),
        ];
        for (set, examples, must_raise) in sets {
            for (i, example) in examples.iter().enumerate() {
                let path = format!("rules.{id}.examples.{set}[{i}]");
                let uid = format!("reconguard-validate-{id}-{set}-{i}");
                let verdict = match review(example, &uid) {
                    Err(e) => Verdict::Error(format!("invalid example: {e}")),
                    // The pod cache's view of a pod or a namespace cannot travel in a request.
                    Ok(_) if needs_context(example) => Verdict::NeedsContext,
                    Ok(body) => {
                        let visible = locally_visible(policy, &body);
                        let answer = client
                            .post(webhook)
                            .json(&body)
                            .send()
                            .await
                            .with_context(|| format!("POST {webhook}"))?;
                        let status = answer.status();
                        let text = answer.text().await.unwrap_or_default();
                        match serde_json::from_str(&text) {
                            Ok(answer) if status.is_success() => {
                                verdict(id, must_raise, &answer, visible)
                            }
                            _ => Verdict::Error(format!(
                                "HTTP {status}: {}",
                                crate::mask::text(&text)
                            )),
                        }
                    }
                };
                outcomes.push(Outcome {
                    rule: id.clone(),
                    path,
                    example: crate::mask::text(&describe(example)).into_owned(),
                    verdict,
                });
            }
        }
    }
    Ok(outcomes)
}

/// Whether the local policy warns or denies this review (so its rules are in the answer).
fn locally_visible(policy: &Policy, review: &serde_json::Value) -> bool {
    // Exemptions and the mode stay in, unlike in `check`: they apply at the webhook too.
    judge_review(policy, review, &Default::default())
        .is_ok_and(|d| d.action != Action::Allow || d.would_deny)
}

/// One line per example, then a summary line.
pub fn text(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    for o in outcomes {
        let (word, detail) = match &o.verdict {
            Verdict::AsDocumented => ("ok", String::new()),
            Verdict::NotVisible(d) => ("unseen", format!(" ({d})")),
            Verdict::NeedsContext => (
                "context",
                " (judged with the pod cache's view of its target; a review cannot carry it, not sent)"
                    .to_string(),
            ),
            Verdict::Silent(d) => ("SILENT", format!(" ({d})")),
            Verdict::Raised(d) => ("RAISED", format!(" ({d})")),
            Verdict::Error(d) => ("ERROR", format!(" ({d})")),
        };
        out.push_str(&format!("{word:<7} {}: {}{detail}\n", o.path, o.example));
    }
    let count = |f: &dyn Fn(&Verdict) -> bool| outcomes.iter().filter(|o| f(&o.verdict)).count();
    out.push_str(&format!(
        "{} examples: {} as documented, {} not visible at a webhook (allowed without findings), {} not sent (need the pod cache's context), {} not as documented\n",
        outcomes.len(),
        count(&|v| *v == Verdict::AsDocumented),
        count(&|v| matches!(v, Verdict::NotVisible(_))),
        count(&|v| *v == Verdict::NeedsContext),
        count(&Verdict::failed),
    ));
    out
}

/// `reconguard validate`: exit 1 when some rule does not answer as documented.
pub fn run(
    policy: &Policy,
    webhook: &str,
    ca: &Path,
    connect_to: Option<IpAddr>,
    format: super::output::Format,
) -> anyhow::Result<std::process::ExitCode> {
    use super::output::{emit, Format};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcomes = runtime.block_on(validate(policy, webhook, ca, connect_to))?;
    match format {
        Format::Text => emit(&text(&outcomes))?,
        Format::Json => {
            for o in &outcomes {
                emit(&format!("{}\n", serde_json::to_string(o)?))?;
            }
        }
    }
    Ok(super::output::exit_code(
        outcomes.iter().any(|o| o.verdict.failed()),
    ))
}
