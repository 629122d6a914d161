//! The webhook as the API server calls it: a real server on a loopback port, a CA made here, and
//! AdmissionReview JSON over real TLS, with HTTP/2 (ALPN h2) and with HTTP/1.1.

use crate::common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::server::*;
use reconguard::server::{run_with_listeners, ServeConfig};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_annotate_and_deny_over_http2_and_http1() {
    let server = Server::start(|_, _| {}).await;
    for (client, version) in [
        (h2_client(&server.ca_pem), reqwest::Version::HTTP_2),
        (h1_client(&server.ca_pem), reqwest::Version::HTTP_11),
    ] {
        let url = server.url("/validate");
        let (status, v, body) = post(&client, &url, &corpus("pod-create.json")).await;
        assert_eq!((status.as_u16(), v), (200, version));
        assert_eq!(body["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(body["kind"], "AdmissionReview");
        let resp = &body["response"];
        assert_eq!(resp["uid"], corpus("pod-create.json")["request"]["uid"]);
        assert_eq!(resp["allowed"], true);
        assert!(
            resp.get("warnings").is_none(),
            "a plain allow carries no warnings: {resp}"
        );
        assert!(resp.get("auditAnnotations").is_none());

        let (status, _, body) = post(&client, &url, &corpus("exec-netstat.json")).await;
        assert_eq!(status, 200);
        let resp = &body["response"];
        assert_eq!(resp["uid"], "uid-exec-netstat");
        assert_eq!(resp["allowed"], true);
        let warnings = resp["warnings"].as_array().unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].as_str().unwrap().contains("T1049"));
        let audit = &resp["auditAnnotations"];
        assert_eq!(audit["decision"], "annotate");
        assert_eq!(audit["score"], "20");
        assert_eq!(audit["rules"], "exec-network-connections");
        assert_eq!(audit["techniques"], "T1049");

        let (status, _, body) = post(&client, &url, &corpus("exec-reverse-shell.json")).await;
        assert_eq!(status, 200);
        let resp = &body["response"];
        assert_eq!(resp["uid"], "uid-exec-reverse-shell");
        assert_eq!(resp["allowed"], false);
        assert_eq!(resp["status"]["code"], 403);
        let message = resp["status"]["message"].as_str().unwrap();
        assert!(
            message.contains("exec-reverse-shell") && message.contains("T1059.004"),
            "{message}"
        );
        assert_eq!(resp["auditAnnotations"]["decision"], "deny");

        // kubectl debug: only the new ephemeral container is judged.
        let (_, _, body) = post(&client, &url, &corpus("ephemeralcontainers-update.json")).await;
        assert_eq!(body["response"]["allowed"], true);
        assert_eq!(
            body["response"]["auditAnnotations"]["rules"],
            "cap-sys-ptrace"
        );

        // A dry run is judged the same.
        let mut dry = corpus("exec-reverse-shell.json");
        dry["request"]["dryRun"] = json!(true);
        let (_, _, body) = post(&client, &url, &dry).await;
        assert_eq!(body["response"]["allowed"], false);

        let health = client.get(server.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let ready = client.get(server.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
    }
    // The log is written by its own thread; stopping the server flushes it.
    let dir = server.stop().await.unwrap();
    let (log, lines) = decision_log(dir.path());
    // Annotate and deny only: netstat, reverse shell, debug, dry-run, twice over.
    assert_eq!(lines.len(), 8, "{log}");
    let denied = lines.iter().find(|l| l["decision"] == "deny").unwrap();
    assert_eq!(denied["user"], "dev@example.org");
    assert_eq!(denied["argv"][0], "bash");
    assert_eq!(denied["namespace"], "shop");
    assert_eq!(denied["findings"][0]["technique"], "T1059.004");
    assert!(denied["time"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_defined_answer_and_the_next_request_is_served() {
    let server = Server::start(|c, _| c.max_body_bytes = 256 * 1024).await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    let send_raw = |body: Vec<u8>| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let resp = client
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.text().await.unwrap())
        }
    };
    let (status, body) = send_raw(b"{not json".to_vec()).await;
    assert_eq!(status, 400);
    assert!(body.contains("\"reason\":\"malformed\""), "{body}");

    let mut v1beta1 = corpus("exec-netstat.json");
    v1beta1["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let (status, body) = send_raw(serde_json::to_vec(&v1beta1).unwrap()).await;
    assert_eq!(status, 400);
    assert!(body.contains("unsupported_version"), "{body}");

    let (status, body) =
        send_raw(br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#.to_vec())
            .await;
    assert_eq!(status, 400);
    assert!(body.contains("missing_request"), "{body}");

    let mut no_uid = corpus("exec-netstat.json");
    no_uid["request"]["uid"] = json!("");
    let (status, body) = send_raw(serde_json::to_vec(&no_uid).unwrap()).await;
    assert_eq!(status, 400);
    assert!(body.contains("missing_uid"), "{body}");

    let mut missing_field = corpus("exec-netstat.json");
    missing_field["request"]
        .as_object_mut()
        .unwrap()
        .remove("uid");
    let (status, body) = send_raw(serde_json::to_vec(&missing_field).unwrap()).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("missing_uid") && body.contains("has no uid"),
        "{body}"
    );

    // A kind we do not judge is allowed, with the reason.
    let mut configmap = corpus("pod-create.json");
    configmap["request"]["resource"] =
        json!({"group": "", "version": "v1", "resource": "configmaps"});
    configmap["request"]["kind"] = json!({"group": "", "version": "v1", "kind": "ConfigMap"});
    let (status, body) = send_raw(serde_json::to_vec(&configmap).unwrap()).await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["response"]["allowed"], true);
    assert!(body["response"]["status"]["message"]
        .as_str()
        .unwrap()
        .contains("not judged"));

    // A pod spec the API server would never send is refused, not crashed on.
    let mut broken = corpus("pod-create.json");
    broken["request"]["object"]["spec"]["containers"] = json!("not a list");
    let (status, body) = send_raw(serde_json::to_vec(&broken).unwrap()).await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["response"]["allowed"], false);
    assert_eq!(body["response"]["status"]["code"], 400);

    // Too large.
    let mut huge = corpus("pod-create.json");
    huge["request"]["object"]["metadata"]["annotations"] = json!({"x": "a".repeat(300 * 1024)});
    let (status, _) = send_raw(serde_json::to_vec(&huge).unwrap()).await;
    assert_eq!(status, 413);

    // Still serving.
    let (status, _, body) = post(&client, &url, &corpus("exec-netstat.json")).await;
    assert_eq!(status, 200);
    assert_eq!(body["response"]["uid"], "uid-exec-netstat");

    let metrics = server.metrics_text().await;
    for reason in [
        "malformed",
        "unsupported_version",
        "missing_request",
        "missing_uid",
        "invalid_object",
        "body_too_large",
    ] {
        assert!(
            metric(&metrics, "reconguard_errors_total", &[("reason", reason)]) >= 1.0,
            "{reason}"
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_slow_bodies_are_cut_off() {
    let server = Server::start(|c, _| {
        c.header_read_timeout = Duration::from_secs(1);
        c.request_timeout = Duration::from_secs(1);
        // Below the request timeout, or `serve` refuses the configuration.
        c.evaluation_timeout = Duration::from_millis(500);
    })
    .await;
    // Headers that never finish: the connection is closed.
    let mut slow = tls_stream(&server).await;
    slow.write_all(b"POST /validate HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let started = Instant::now();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "server kept a slow-header connection open");
    assert!(started.elapsed() < Duration::from_secs(10));

    // A body that never finishes: 408.
    let mut slow = tls_stream(&server).await;
    slow.write_all(b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"apiVersion\":").await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), slow.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    server
        .wait_for_metric(
            "the timeout counted",
            "reconguard_errors_total",
            &[("reason", "request_timeout")],
        )
        .await;

    let (status, _, _) = post(
        &h2_client(&server.ca_pem),
        &server.url("/validate"),
        &corpus("pod-create.json"),
    )
    .await;
    assert_eq!(status, 200);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_after_traffic_pass_promtool() {
    let server = Server::start(|_, _| {}).await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    for file in [
        "pod-create.json",
        "exec-netstat.json",
        "exec-nmap-wrapped.json",
        "exec-nmap-wrapped.json",
    ] {
        post(&client, &url, &corpus(file)).await;
    }
    let text = server.metrics_text().await;
    assert_eq!(
        metric(
            &text,
            "reconguard_admission_requests_total",
            &[("subresource", "exec"), ("decision", "deny")]
        ),
        2.0
    );
    assert_eq!(
        metric(
            &text,
            "reconguard_admission_requests_total",
            &[("operation", "CREATE"), ("decision", "allow")]
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            "reconguard_rule_matches_total",
            &[("rule", "exec-network-scan"), ("technique", "T1046")]
        ),
        2.0
    );
    assert_eq!(
        metric(
            &text,
            "reconguard_denials_total",
            &[("namespace", "shop"), ("rule", "exec-network-scan")]
        ),
        2.0
    );
    assert_eq!(
        metric(
            &text,
            "reconguard_admission_request_duration_seconds_count",
            &[]
        ),
        4.0
    );
    assert_eq!(
        metric(&text, "reconguard_evaluation_duration_seconds_count", &[]),
        4.0
    );
    let days = days_until_expiry(&text);
    assert!(days > 29.0 && days < 31.0, "{days}");

    assert_promtool_accepts(&text);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_swapped_on_disk_is_served_without_restart() {
    let server = Server::start(|_, _| {}).await;
    let secret: PathBuf = server.dir.path().join("tls");
    let old = h2_client(&server.ca_pem);
    assert_eq!(
        post(&old, &server.url("/validate"), &corpus("pod-create.json"))
            .await
            .0,
        200
    );

    let rotated = reconguard::certs::generate(&names(), 90).unwrap();
    write_secret_volume(&secret, 2, &rotated.cert_pem, &rotated.key_pem);
    let url = server.url("/validate");
    eventually("the rotated certificate is served", || {
        let client = h2_client(&rotated.ca_pem);
        let url = url.clone();
        async move {
            client
                .post(&url)
                .json(&corpus("pod-create.json"))
                .send()
                .await
                .is_ok()
        }
    })
    .await;
    // New connections from a client that trusts only the old CA fail now.
    assert!(h1_client(&server.ca_pem)
        .post(&url)
        .json(&corpus("pod-create.json"))
        .send()
        .await
        .is_err());
    let text = server.metrics_text().await;
    assert!(
        metric(
            &text,
            "reconguard_tls_reloads_total",
            &[("result", "success")]
        ) >= 1.0
    );
    assert!(
        days_until_expiry(&text) > 89.0,
        "expiry gauge follows the new certificate"
    );

    // A broken pair keeps the current one serving, and says so in a metric.
    write_secret_volume(&secret, 3, "not a certificate", "not a key");
    server
        .wait_for_metric(
            "a failed TLS reload is counted",
            "reconguard_tls_reloads_total",
            &[("result", "failure")],
        )
        .await;
    let (status, _, _) = post(
        &h1_client(&rotated.ca_pem),
        &url,
        &corpus("pod-create.json"),
    )
    .await;
    assert_eq!(status, 200);
    server.stop().await.unwrap();
}

const LAYER_HEADER: &str = "apiVersion: reconguard.io/v1alpha1\nkind: Policy\n";

/// A layer that makes netstat (annotate by default) deny.
fn netstat_denied() -> String {
    format!("{LAYER_HEADER}rules:\n  exec-network-connections: {{action: deny}}\n")
}

/// Policy layers in a directory mounted like a ConfigMap: a changed layer, a new layer and a
/// removed layer are each picked up after `..data` swaps; a broken layer keeps the last good
/// policy serving and is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_layers_are_reloaded_and_a_broken_one_is_rejected() {
    let server = Server::start(|c, dir| {
        let volume = dir.join("policy");
        std::fs::create_dir_all(&volume).unwrap();
        write_projected_volume(&volume, 1, &[("10-site.yaml", LAYER_HEADER)]);
        c.policy = vec![volume];
    })
    .await;
    let volume = server.dir.path().join("policy");
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    let allowed = |review: &'static str| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let (_, _, body) = post(&client, &url, &corpus(review)).await;
            body["response"]["allowed"] == true
        }
    };
    assert!(allowed("exec-netstat.json").await);

    // A changed layer.
    write_projected_volume(&volume, 2, &[("10-site.yaml", &netstat_denied())]);
    eventually("the changed layer denies netstat", || async {
        !allowed("exec-netstat.json").await
    })
    .await;

    // A second layer on top: exec requests in audit mode.
    write_projected_volume(
        &volume,
        3,
        &[
            ("10-site.yaml", &netstat_denied()),
            (
                "20-audit.yaml",
                &format!("{LAYER_HEADER}mode: {{exec: audit}}\n"),
            ),
        ],
    );
    eventually("the added layer puts exec in audit mode", || async {
        allowed("exec-netstat.json").await
    })
    .await;

    // The audit layer removed again.
    write_projected_volume(&volume, 4, &[("10-site.yaml", &netstat_denied())]);
    eventually("the removed layer no longer applies", || async {
        !allowed("exec-netstat.json").await
    })
    .await;

    // A broken layer (a removal of an entry that does not exist) is rejected.
    write_projected_volume(
        &volume,
        5,
        &[
            ("10-site.yaml", &netstat_denied()),
            (
                "30-broken.yaml",
                &format!("{LAYER_HEADER}exec:\n  programs:\n    remove: [no-such-entry]\n"),
            ),
        ],
    );
    server
        .wait_for_metric(
            "a failed policy reload is counted",
            "reconguard_policy_reloads_total",
            &[("result", "failure")],
        )
        .await;
    assert!(
        !allowed("exec-netstat.json").await,
        "the last good policy keeps serving"
    );
    let text = server.metrics_text().await;
    assert!(
        metric(
            &text,
            "reconguard_policy_reloads_total",
            &[("result", "success")]
        ) >= 3.0
    );
    server.stop().await.unwrap();
}

/// A single policy file given to --policy is reloaded when rewritten in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_file_rewritten_in_place_is_reloaded() {
    let server = Server::start(|c, dir| {
        let path = dir.join("policy.yaml");
        std::fs::write(&path, LAYER_HEADER).unwrap();
        c.policy = vec![path];
    })
    .await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    let (_, _, body) = post(&client, &url, &corpus("exec-netstat.json")).await;
    assert_eq!(body["response"]["allowed"], true);
    std::fs::write(server.dir.path().join("policy.yaml"), netstat_denied()).unwrap();
    eventually("the rewritten policy denies netstat", || {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let (_, _, body) = post(&client, &url, &corpus("exec-netstat.json")).await;
            body["response"]["allowed"] == false
        }
    })
    .await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_policy_at_start_up_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.yaml");
    std::fs::write(
        &path,
        reconguard::policy::DEFAULT_POLICY_YAML.replace("deny: 70", "deny: 7"),
    )
    .unwrap();
    let config = ServeConfig {
        policy: vec![path],
        ..ServeConfig::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = run_with_listeners(config, listener, metrics, async {})
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("policy.yaml") && text.contains("thresholds.deny"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_lets_a_request_in_flight_finish() {
    let server = Server::start(|c, _| c.drain_timeout = Duration::from_secs(10)).await;
    let client = h2_client(&server.ca_pem);
    let body = serde_json::to_vec(&corpus("exec-netstat.json")).unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    let (first, rest) = (first.to_vec(), rest.to_vec());
    let stream = async_stream(first, rest);
    let url = server.url("/validate");
    let in_flight = tokio::spawn(async move {
        client
            .post(&url)
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let Server {
        stop, task, addr, ..
    } = server;
    let _ = stop.unwrap().send(());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // No new connections once shutdown began.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    let resp = in_flight
        .await
        .unwrap()
        .expect("the in-flight request completes");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["response"]["uid"], "uid-exec-netstat");
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_the_shutdown_delay_readyz_fails_and_requests_are_still_answered() {
    let server = Server::start(|c, _| c.shutdown_delay = Duration::from_secs(3)).await;
    let ca = server.ca_pem.clone();
    let (validate, readyz) = (server.url("/validate"), server.url("/readyz"));
    assert_eq!(
        h2_client(&ca).get(&readyz).send().await.unwrap().status(),
        200
    );
    let Server {
        stop, task, addr, ..
    } = server;
    let stopped_at = Instant::now();
    let _ = stop.unwrap().send(());
    // Fresh connections (as the API server would open) during the delay.
    let mut answered = 0;
    while stopped_at.elapsed() < Duration::from_millis(2000) {
        let client = h1_client(&ca);
        let status = client.get(&readyz).send().await.unwrap().status();
        assert_eq!(status, 503, "readyz during the delay");
        let (status, _, body) = post(&client, &validate, &corpus("exec-netstat.json")).await;
        assert_eq!(status, 200);
        assert_eq!(body["response"]["uid"], "uid-exec-netstat");
        assert_eq!(body["response"]["allowed"], true);
        answered += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        answered >= 5,
        "{answered} requests answered during the delay"
    );
    // After the delay the listener closes and the server stops by itself.
    task.await.unwrap().unwrap();
    assert!(stopped_at.elapsed() >= Duration::from_secs(3));
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_tls_handshakes_are_counted_by_reason() {
    let server = Server::start(|_, _| {}).await;
    // A client that trusts another CA of the same name: what a stale caBundle looks like.
    let other_ca = reconguard::certs::generate(&names(), 30).unwrap().ca_pem;
    let refused = h2_client(&other_ca)
        .get(server.url("/healthz"))
        .send()
        .await;
    assert!(refused.is_err(), "an untrusted certificate was accepted");
    // Plain HTTP on the TLS port.
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut buf)).await;
    server
        .wait_for_metric(
            "certificate_rejected handshake failure",
            "reconguard_tls_handshake_failures_total",
            &[("reason", "certificate_rejected")],
        )
        .await;
    server
        .wait_for_metric(
            "protocol handshake failure",
            "reconguard_tls_handshake_failures_total",
            &[("reason", "protocol")],
        )
        .await;
    // Still serving the clients that trust it.
    let resp = h2_client(&server.ca_pem)
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    server.stop().await.unwrap();
}

/// Port-forwards and proxies over real TLS, as the API server sends them (CONNECT, the options
/// object, the port in the name): judged, counted by subresource, and logged with their ports and
/// paths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forwards_and_proxies_are_judged_over_tls() {
    let server = Server::start(|_, _| {}).await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    for (file, allowed, rule) in [
        ("portforward-etcd.json", false, "portforward-node-port"),
        ("proxy-node-exec.json", false, "proxy-kubelet-command"),
        ("proxy-pod-kubelet-port.json", false, "proxy-node-port"),
    ] {
        let (status, _, body) = post(&client, &url, &corpus(file)).await;
        assert_eq!(status, 200, "{file}");
        let resp = &body["response"];
        assert_eq!(resp["allowed"], allowed, "{file}: {resp}");
        let message = resp["status"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(rule), "{file}: {message}");
    }
    for file in [
        "portforward-kubectl.json",
        "proxy-node-metrics.json",
        "proxy-service.json",
    ] {
        let (_, _, body) = post(&client, &url, &corpus(file)).await;
        assert_eq!(body["response"]["allowed"], true, "{file}");
        assert!(body["response"].get("warnings").is_none(), "{file}");
    }
    let text = server.metrics_text().await;
    for (sub, decision, count) in [
        ("portforward", "deny", 1.0),
        ("portforward", "allow", 1.0),
        ("proxy", "deny", 2.0),
        ("proxy", "allow", 2.0),
    ] {
        assert_eq!(
            metric(
                &text,
                "reconguard_admission_requests_total",
                &[("subresource", sub), ("decision", decision)]
            ),
            count,
            "{sub} {decision}"
        );
    }
    let dir = server.stop().await.unwrap();
    let (_, lines) = decision_log(dir.path());
    let forward = lines
        .iter()
        .find(|l| l["subresource"] == "portforward")
        .unwrap();
    assert_eq!(forward["ports"], json!([2379]));
    let exec = lines.iter().find(|l| l["resource"] == "nodes").unwrap();
    assert_eq!(
        exec["proxy_path"],
        "/exec/kube-system/kube-proxy-x2v9q/kube-proxy"
    );
}

/// Without certificate files the server makes its own; `--ca-out` writes that CA where the
/// flag says (and nowhere else), and the CA verifies what the server serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_mode_writes_its_ca_only_where_asked() {
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    let config = ServeConfig {
        ca_out: Some(ca_path.clone()),
        shutdown_delay: Duration::ZERO,
        ..ServeConfig::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run_with_listeners(config, listener, metrics, async move {
        let _ = rx.await;
    }));
    eventually("the CA file is written", || {
        let ca_path = ca_path.clone();
        async move { ca_path.exists() }
    })
    .await;
    let ca = std::fs::read_to_string(&ca_path).unwrap();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    let client = h2_client(&ca);
    let health = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing but the CA is written"
    );
    tx.send(()).unwrap();
    task.await.unwrap().unwrap();
}

/// An exemption that let a request through names itself in the audit annotations and the
/// decision log, and every exemption of the policy has a hit counter from the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exemption_hits_are_annotated_logged_and_counted() {
    let server = Server::start(|c, dir| {
        let path = dir.join("exemptions.yaml");
        std::fs::write(
            &path,
            format!(
                "{LAYER_HEADER}exemptions:\n  add:\n    - {{name: shop-scanner, namespaces: [shop], rules: [exec-network-scan]}}\n    - {{name: never-used, namespaces: [nowhere]}}\n"
            ),
        )
        .unwrap();
        c.policy = vec![path];
    })
    .await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    // Seeded: both exemptions are visible before any request.
    let text = server.metrics_text().await;
    for name in ["shop-scanner", "never-used"] {
        assert!(
            text.contains(&format!(
                "reconguard_exemption_hits_total{{effect=\"none\",exemption=\"{name}\"}} 0"
            )),
            "{text}"
        );
    }
    let (_, _, body) = post(&client, &url, &corpus("exec-nmap-wrapped.json")).await;
    assert_eq!(body["response"]["allowed"], true, "{body}");
    let annotations = &body["response"]["auditAnnotations"];
    assert_eq!(annotations["exemptions"], "shop-scanner", "{body}");
    assert_eq!(annotations["exempted-rules"], "exec-network-scan", "{body}");
    assert_eq!(annotations["decision"], "allow", "{body}");
    assert!(
        body["response"]["warnings"].is_null(),
        "an exempted request does not warn the user: {body}"
    );
    let text = server.metrics_text().await;
    assert_eq!(
        metric(
            &text,
            "reconguard_exemption_hits_total",
            &[("exemption", "shop-scanner"), ("effect", "dropped")]
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            "reconguard_exemption_hits_total",
            &[("exemption", "never-used")]
        ),
        0.0
    );
    assert_promtool_accepts(&text);
    let dir = server.stop().await.unwrap();
    let (log, lines) = decision_log(dir.path());
    assert_eq!(lines.len(), 1, "an exempted allow is logged: {log}");
    assert_eq!(lines[0]["exemptions"][0]["name"], "shop-scanner");
    assert_eq!(lines[0]["exemptions"][0]["effect"], "dropped");
}
