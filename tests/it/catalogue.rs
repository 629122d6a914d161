//! The detection catalogue proves itself: every rule of the default policy is documented in ADS
//! form and its examples do what they say, in-process (`policy check`) and against a running
//! webhook (`reconguard validate`); a layer that breaks a rule is caught with the example's path;
//! `docs/detections.md` is what `policy docs` writes.

use crate::common;

use common::server::Server;
use reconguard::ads::check::{check, check_with};
use reconguard::ads::validate::Verdict;
use reconguard::policy::load::parse_layer;
use reconguard::policy::{Layer, Policy};

fn layer(text: &str) -> Layer {
    parse_layer(
        "test-layer.yaml",
        &format!("apiVersion: reconguard.io/v1alpha1\nkind: Policy\n{text}"),
    )
    .unwrap()
}

/// Failures of the examples (and, with `tunings`, of the tunings) under `layers`.
fn failures_of(layers: Vec<Layer>, tunings: bool) -> Vec<String> {
    let policy = Policy::from_layers(layers.clone()).unwrap();
    check_with(&layers, &policy, tunings)
        .failures
        .iter()
        .map(|f| f.to_string())
        .collect()
}

#[test]
fn every_rule_of_the_default_policy_is_documented_and_proven_by_its_examples() {
    let policy = common::policy();
    let report = check(&[], policy);
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    assert!(report.gaps.is_empty(), "{:#?}", report.gaps);
    assert_eq!(report.rules, policy.rules.len());
    assert_eq!(
        report.enabled, report.rules,
        "every default rule is enabled"
    );
    assert!(report.tunings >= report.rules, "a tuning per rule at least");
    // At least one positive example and one near miss per rule.
    assert!(report.examples >= 2 * report.rules, "{}", report.examples);
    for scenario in &policy.document.scenarios {
        assert!(!scenario.rules.is_empty(), "{}", scenario.id);
    }
}

#[test]
fn the_seed_emulation_is_in_the_catalogue() {
    let policy = common::policy();
    let client = &policy.document.rules["exec-runtime-client"].examples.fires;
    let argv: Vec<String> = client
        .iter()
        .filter_map(|e| e.exec.as_ref().map(|a| a.join(" ")))
        .collect();
    assert!(
        argv.iter()
            .any(|a| a.starts_with("docker exec") && a.ends_with("netstat -tuln")),
        "{argv:?}"
    );
    assert!(
        argv.iter()
            .any(|a| a.starts_with("docker inspect --format={{.HostConfig.PortBindings}}")),
        "{argv:?}"
    );
    let ids: Vec<&str> = policy
        .document
        .scenarios
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    for id in [
        "runtime-socket-reconnaissance",
        "elevated-container-host-details",
        "unauthorized-container-creation",
    ] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    // Every alert a scenario names is an alert of the chart.
    let alerts = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/charts/reconguard/files/alerts.yaml"
    ))
    .unwrap();
    for scenario in &policy.document.scenarios {
        for alert in &scenario.alerts {
            assert!(
                alerts.contains(&format!("- alert: {alert}\n")),
                "{}: {alert}",
                scenario.id
            );
        }
    }
}

#[test]
fn a_layer_that_breaks_a_rule_is_caught_with_the_example_path() {
    // `ps` no longer in the entry that raises exec-process-discovery.
    let failures = failures_of(vec![layer(
        "exec:\n  programs:\n    add:\n      - id: ps\n        rule: exec-process-discovery\n        names: [pstree]\n",
    )], false);
    assert!(
        failures.iter().any(|f| f.starts_with(
            "rules.exec-process-discovery.examples.fires[0]: does not raise exec-process-discovery"
        )),
        "{failures:#?}"
    );
    // Version lookups no longer set aside: the near miss `ps --version` now raises the rule.
    let failures = failures_of(
        vec![layer("exec:\n  lookupArguments: [\"--nothing\"]\n")],
        false,
    );
    assert!(
        failures.iter().any(|f| f.starts_with("rules.exec-process-discovery.examples.quiet[0]: a near miss raises exec-process-discovery")),
        "{failures:#?}"
    );
}

#[test]
fn a_broken_tuning_an_invalid_example_and_an_unknown_scenario_rule_are_failures() {
    let failures = failures_of(
        vec![layer(
            r#"rules:
  exec-process-discovery:
    falsePositives:
      add:
        - name: a tuning with a typo
          tuning: "thresholds:\n  anotate: 3\n"
    examples:
      fires:
        add:
          - name: two requests in one
            exec: [ps]
            portForward: [10250]
scenarios:
  add:
    - id: broken
      name: broken
      summary: names a rule that does not exist
      rules: [exec-no-such-rule]
"#,
        )],
        true,
    );
    let has = |prefix: &str| failures.iter().any(|f| f.starts_with(prefix));
    assert!(
        has("rules.exec-process-discovery.falsePositives[1].tuning: "),
        "{failures:#?}"
    );
    assert!(has("rules.exec-process-discovery.examples.fires[3]: invalid example: names more than one request"), "{failures:#?}");
    assert!(
        has("scenarios[3].rules[0]: no rule \"exec-no-such-rule\""),
        "{failures:#?}"
    );
}

#[test]
fn modes_and_exemptions_do_not_hide_what_the_detectors_see() {
    // The first day in audit, a day with everything off, and an exemption of everyone: the
    // examples are about the findings, which neither changes.
    for text in [
        "mode: audit\n",
        "mode: off\n",
        "mode: {exec: off, pods: audit}\n",
        "exemptions:\n  add:\n    - name: everyone\n      groups: [system:authenticated]\n",
    ] {
        let failures = failures_of(vec![layer(text)], false);
        assert!(failures.is_empty(), "{text}: {failures:#?}");
    }
}

#[test]
fn an_admins_own_rule_without_documentation_is_a_gap_not_a_failure() {
    let layers = vec![layer(
        "rules:\n  exec-site-tool:\n    score: 30\n    technique: T1057\n    message: runs the site's inventory tool\nexec:\n  programs:\n    add:\n      - id: site-tool\n        rule: exec-site-tool\n        names: [site-inventory]\n",
    )];
    let policy = Policy::from_layers(layers.clone()).unwrap();
    let report = check(&layers, &policy);
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    let gaps: Vec<String> = report.gaps.iter().map(|g| g.path.clone()).collect();
    for field in [
        "priority",
        "strategy",
        "response",
        "examples.fires",
        "examples.quiet",
    ] {
        assert!(
            gaps.contains(&format!("rules.exec-site-tool.{field}")),
            "{gaps:?}"
        );
    }
    assert_eq!(
        gaps.iter()
            .filter(|g| !g.starts_with("rules.exec-site-tool."))
            .count(),
        0,
        "{gaps:?}"
    );
}

#[test]
fn docs_detections_md_is_what_policy_docs_writes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/detections.md");
    let written = std::fs::read_to_string(path).unwrap_or_default();
    let generated = reconguard::ads::docs::markdown(&Policy::embedded_default());
    assert!(
        written == generated,
        "docs/detections.md is out of date: run scripts/render-detections"
    );
    // Every rule has its section and its row.
    for id in Policy::embedded_default().rules.keys() {
        assert!(generated.contains(&format!("<a id=\"{id}\"></a>")), "{id}");
        assert!(generated.contains(&format!("[{id}](#{id})")), "{id}");
    }
}

/// The ADS validation step: every example sent to `serve` as the API server would send it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_reports_every_rule_as_documented_at_a_running_webhook() {
    let server = Server::start(|_, _| {}).await;
    let ca = server.dir.path().join("ca.crt");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let policy = common::policy();
    let outcomes = reconguard::cli::validate::validate(policy, &server.url("/validate"), &ca, None)
        .await
        .unwrap();
    let failed: Vec<_> = outcomes.iter().filter(|o| o.verdict.failed()).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(outcomes.len(), check(&[], policy).examples);
    // Only rules that cannot warn alone go unseen at a webhook, and only examples judged with the
    // pod cache's context are not sent.
    let annotate = policy.thresholds.annotate;
    let with_context: Vec<String> = policy
        .document
        .rules
        .iter()
        .flat_map(|(id, spec)| {
            let fires = spec
                .examples
                .fires
                .iter()
                .enumerate()
                .map(move |(i, e)| (id, "fires", i, e));
            let quiet = spec
                .examples
                .quiet
                .iter()
                .enumerate()
                .map(move |(i, e)| (id, "quiet", i, e));
            fires.chain(quiet)
        })
        .filter(|(_, _, _, e)| reconguard::ads::examples::needs_context(e))
        .map(|(id, set, i, _)| format!("rules.{id}.examples.{set}[{i}]"))
        .collect();
    assert!(with_context.len() >= 9, "{with_context:?}");
    let not_sent: Vec<String> = outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::NeedsContext)
        .map(|o| o.path.clone())
        .collect();
    assert_eq!(not_sent, with_context);
    for o in &outcomes {
        if let Verdict::NotVisible(_) = o.verdict {
            let score = policy.rules[&o.rule].score;
            assert!(
                score < annotate,
                "{}: score {score} is visible: {o:?}",
                o.path
            );
        }
    }
    let documented = outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::AsDocumented)
        .count();
    assert!(
        documented * 10 >= outcomes.len() * 9,
        "{documented} of {}",
        outcomes.len()
    );
    server.stop().await.unwrap();
}

/// An endpoint whose policy differs (an exemption for the validating identity's group) shows
/// the rules it no longer reports as silent, and `validate` exits 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_shows_where_an_endpoints_policy_differs() {
    let server = Server::start(|config, dir| {
        let path = dir.join("exempt.yaml");
        std::fs::write(
            &path,
            "apiVersion: reconguard.io/v1alpha1\nkind: Policy\nexemptions:\n  add:\n    - name: everyone-may-scan\n      groups: [system:authenticated]\n      rules: [exec-network-scan]\n",
        )
        .unwrap();
        config.policy = vec![path];
    })
    .await;
    let ca = server.dir.path().join("ca.crt");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let out = tokio::task::spawn_blocking({
        let url = server.url("/validate");
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_reconguard"))
                .args(["validate", "--webhook", &url, "--ca", ca.to_str().unwrap()])
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let silent: Vec<&str> = stdout.lines().filter(|l| l.starts_with("SILENT")).collect();
    assert!(!silent.is_empty(), "{stdout}");
    assert!(
        silent
            .iter()
            .all(|l| l.contains("rules.exec-network-scan.examples.fires[")),
        "{silent:#?}"
    );
    assert!(
        stdout
            .lines()
            .last()
            .unwrap_or("")
            .contains(" not as documented"),
        "{stdout}"
    );
    server.stop().await.unwrap();
}

/// Through `kubectl port-forward` the webhook is on 127.0.0.1 while its certificate names the
/// Service: `--connect-to` keeps the Service's name for TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_reaches_a_port_forwarded_webhook_by_the_services_name() {
    let names = reconguard::certs::service_names("reconguard", "reconguard");
    let generated = reconguard::certs::generate(&names, 30).unwrap();
    let (cert, key) = (generated.cert_pem.clone(), generated.key_pem.clone());
    let server = Server::start(move |config, dir| {
        let secret = dir.join("service-tls");
        std::fs::create_dir_all(&secret).unwrap();
        common::server::write_secret_volume(&secret, 1, &cert, &key);
        config.tls_cert = Some(secret.join("tls.crt"));
        config.tls_key = Some(secret.join("tls.key"));
    })
    .await;
    let ca = server.dir.path().join("service-ca.crt");
    std::fs::write(&ca, &generated.ca_pem).unwrap();
    let url = format!(
        "https://reconguard.reconguard.svc:{}/validate",
        server.addr.port()
    );
    let run = |extra: &'static [&'static str]| {
        let (url, ca) = (url.clone(), ca.clone());
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_reconguard"))
                .args(["validate", "--webhook", &url, "--ca", ca.to_str().unwrap()])
                .args(extra)
                .output()
                .unwrap()
        })
    };
    let out = run(&["--connect-to", "127.0.0.1"]).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout
            .lines()
            .last()
            .unwrap_or("")
            .ends_with(", 0 not as documented"),
        "{stdout}"
    );
    // Without it the Service's name does not resolve here: an error, not a verdict.
    let out = run(&[]).await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    server.stop().await.unwrap();
}
