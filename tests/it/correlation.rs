//! Memory across requests, over TLS against `serve`: distinct discovery techniques from one
//! identity within the window escalate; the window expires; one `kubectl exec` admitted twice
//! counts once; dry runs never count; identities (users, and service accounts per source pod)
//! are kept apart.

use crate::common;

use std::time::Duration;

use common::server::*;
use serde_json::Value;

/// An exec review as the API server sends it, from `user` (and the pod its token is bound to).
fn exec(uid: &str, user: &str, pod: Option<&str>, argv: &[&str], dry_run: bool) -> Value {
    let user = common::user_info(user, pod);
    common::exec_review(uid, "shop", "web-0", user, argv, dry_run)
}

const SEQUENCE: [&[&str]; 4] = [
    &["ps", "aux"],
    &["netstat", "-tuln"],
    &["ip", "addr"],
    &["id"],
];

/// The response and its `rules` audit annotation.
async fn judged(client: &reqwest::Client, url: &str, review: &Value) -> (Value, Vec<String>) {
    let (status, _, body) = post(client, url, review).await;
    assert_eq!(status, 200, "{body}");
    let response = body["response"].clone();
    let rules = response["auditAnnotations"]["rules"]
        .as_str()
        .unwrap_or("")
        .split(',')
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    (response, rules)
}

/// A policy layer with a short window, so expiry is testable.
fn short_window(config: &mut reconguard::server::ServeConfig, dir: &std::path::Path) {
    let path = dir.join("window.yaml");
    std::fs::write(
        &path,
        "apiVersion: reconguard.io/v1alpha1\nkind: Policy\ncorrelation:\n  windowSeconds: 3\n  duplicateSeconds: 1\n",
    )
    .unwrap();
    config.policy = vec![path];
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_discovery_from_one_identity_escalates_then_expires() {
    let (clock, time) = reconguard::engine::clock::Clock::manual();
    let server = Server::start(|c, dir| {
        short_window(c, dir);
        c.clock = clock;
    })
    .await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    // Three distinct techniques: each annotated, allowed, no burst.
    for (i, argv) in SEQUENCE[..3].iter().enumerate() {
        let (response, rules) = judged(
            &client,
            &url,
            &exec(&format!("a{i}"), "alice", None, argv, false),
        )
        .await;
        assert_eq!(response["allowed"], true, "{response}");
        assert!(
            !rules.contains(&"exec-discovery-burst".to_string()),
            "{rules:?}"
        );
    }
    // Someone else's discovery meanwhile is theirs alone.
    let (response, rules) =
        judged(&client, &url, &exec("b0", "bob", None, SEQUENCE[3], false)).await;
    assert_eq!(response["allowed"], true, "{response}");
    assert!(
        !rules.contains(&"exec-discovery-burst".to_string()),
        "{rules:?}"
    );
    // The fourth distinct technique from alice completes the set: 20 + 50 denies.
    let (response, rules) = judged(
        &client,
        &url,
        &exec("a3", "alice", None, SEQUENCE[3], false),
    )
    .await;
    assert_eq!(response["allowed"], false, "{response}");
    assert!(
        rules.contains(&"exec-discovery-burst".to_string()),
        "{rules:?}"
    );
    let message = response["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("4 distinct discovery techniques from alice within 3 s")
            && message.contains("T1057 (exec-process-discovery)")
            && message.contains("T1033 (exec-account-discovery)"),
        "{message}"
    );
    // Past the window the sequence is forgotten: the same command is one annotation again.
    time.advance(Duration::from_millis(3500));
    let (response, rules) = judged(
        &client,
        &url,
        &exec("a4", "alice", None, SEQUENCE[0], false),
    )
    .await;
    assert_eq!(response["allowed"], true, "{response}");
    assert!(
        !rules.contains(&"exec-discovery-burst".to_string()),
        "{rules:?}"
    );
    let metrics = server.metrics_text().await;
    assert_eq!(
        metric(
            &metrics,
            "reconguard_rule_matches_total",
            &[("rule", "exec-discovery-burst")]
        ),
        1.0
    );
    assert_eq!(
        metric(&metrics, "reconguard_correlation_identities", &[]),
        1.0,
        "bob expired with the window"
    );
    assert_promtool_accepts(&metrics);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_kubectl_exec_admitted_twice_counts_once_and_dry_runs_never_count() {
    let server = Server::start(|_, _| {}).await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    // The whole sequence as dry runs: judged, never remembered.
    for (i, argv) in SEQUENCE.iter().enumerate() {
        let (response, rules) = judged(
            &client,
            &url,
            &exec(&format!("d{i}"), "carol", None, argv, true),
        )
        .await;
        assert_eq!(response["allowed"], true, "{response}");
        assert!(
            !rules.contains(&"exec-discovery-burst".to_string()),
            "{rules:?}"
        );
    }
    let metrics = server.metrics_text().await;
    assert_eq!(
        metric(&metrics, "reconguard_correlation_identities", &[]),
        0.0
    );
    // kubectl 1.30+: the websocket attempt, then the SPDY fallback, each with its own uid.
    judged(
        &client,
        &url,
        &exec("w0", "carol", None, SEQUENCE[0], false),
    )
    .await;
    judged(
        &client,
        &url,
        &exec("s0", "carol", None, SEQUENCE[0], false),
    )
    .await;
    let metrics = server.metrics_text().await;
    assert_eq!(
        metric(&metrics, "reconguard_correlation_duplicates_total", &[]),
        1.0
    );
    assert_eq!(
        metric(&metrics, "reconguard_correlation_identities", &[]),
        1.0
    );
    // A different command is not a duplicate.
    judged(
        &client,
        &url,
        &exec("w1", "carol", None, SEQUENCE[1], false),
    )
    .await;
    let metrics = server.metrics_text().await;
    assert_eq!(
        metric(&metrics, "reconguard_correlation_duplicates_total", &[]),
        1.0
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_account_is_followed_per_source_pod() {
    let server = Server::start(|_, _| {}).await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    let sa = "system:serviceaccount:shop:web";
    // Two pods of the same workload, two techniques each: no single source ran four.
    for (i, argv) in SEQUENCE.iter().enumerate() {
        let pod = if i % 2 == 0 { "web-0" } else { "web-1" };
        let (_, rules) = judged(
            &client,
            &url,
            &exec(&format!("p{i}"), sa, Some(pod), argv, false),
        )
        .await;
        assert!(
            !rules.contains(&"exec-discovery-burst".to_string()),
            "{rules:?}"
        );
    }
    // One pod running all four is a burst, and the finding names the pod.
    let mut last = (Value::Null, Vec::new());
    for (i, argv) in SEQUENCE.iter().enumerate() {
        last = judged(
            &client,
            &url,
            &exec(&format!("q{i}"), sa, Some("web-2"), argv, false),
        )
        .await;
    }
    assert!(
        last.1.contains(&"exec-discovery-burst".to_string()),
        "{:?}",
        last.1
    );
    let message = last.0["status"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("from system:serviceaccount:shop:web from pod web-2"),
        "{message}"
    );
    server.stop().await.unwrap();
}
