//! `replay` against `serve`: every judgeable event of real (Falco's recorded minikube events) and
//! synthetic audit logs is judged as a live webhook judges the review the API server sent for
//! it, in the same order (correlation included); the rest is counted by reason.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use reconguard::audit;
use reconguard::cli::output::Format;
use reconguard::cli::replay::Replay;
use serde_json::{json, Value};

use crate::common;
use crate::pipeline::{of_response, Outcome};
use common::server::*;

fn audit_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/audit")
}

/// Falco's recorded events, one per file, in file-name order.
fn falco_events() -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(audit_dir().join("falco"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
        .collect()
}

fn at(second: u32) -> String {
    format!(
        "2026-11-30T10:{:02}:{:02}.000000Z",
        second / 60,
        second % 60
    )
}

/// An exec as the API server logs it: kubectl's query, `verb` create for SPDY (POST) and get for
/// websockets (kubectl 1.30+ tries these first), stage ResponseStarted then ResponseComplete.
fn exec_event(
    id: &str,
    second: u32,
    user: &str,
    verb: &str,
    argv: &[&str],
    code: u16,
) -> Vec<Value> {
    let mut query: Vec<(String, String)> = argv
        .iter()
        .map(|a| ("command".into(), a.to_string()))
        .collect();
    query.extend(
        [("container", "app"), ("stderr", "true"), ("stdout", "true")]
            .map(|(k, v)| (k.into(), v.into())),
    );
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    let event = |stage: &str| {
        json!({
            "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
            "auditID": id, "stage": stage, "verb": verb,
            "requestURI": format!("/api/v1/namespaces/shop/pods/web-0/exec?{query}"),
            "user": {"username": user, "groups": ["system:authenticated"]},
            "sourceIPs": ["10.0.0.5"], "userAgent": "kubectl/v1.31.0 (linux/amd64)",
            "objectRef": {"resource": "pods", "namespace": "shop", "name": "web-0",
                          "apiVersion": "v1", "subresource": "exec"},
            "responseStatus": {"metadata": {}, "code": code},
            "requestReceivedTimestamp": at(second), "stageTimestamp": at(second),
        })
    };
    // A refused request has no stream to start.
    if code < 400 {
        vec![
            event("RequestReceived"),
            event("ResponseStarted"),
            event("ResponseComplete"),
        ]
    } else {
        vec![event("RequestReceived"), event("ResponseComplete")]
    }
}

/// A port-forward or proxy at level Metadata: `tail` is the URI after the pod's name.
fn tunnel_event(
    id: &str,
    second: u32,
    verb: &str,
    pod: (&str, &str),
    tail: &str,
    code: u16,
) -> Value {
    let (ns, name) = pod;
    let subresource = tail.split(['?', '/']).next().unwrap();
    json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": id, "stage": "ResponseComplete", "verb": verb,
        "requestURI": format!("/api/v1/namespaces/{ns}/pods/{name}/{tail}"),
        "user": {"username": "dev@example.org", "groups": ["system:authenticated"]},
        "objectRef": {"resource": "pods", "namespace": ns, "name": name,
                      "apiVersion": "v1", "subresource": subresource},
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": at(second),
    })
}

/// Four discovery techniques from `user`, `every` seconds apart from `start`.
fn discovery(prefix: &str, user: &str, start: u32, every: u32) -> Vec<Value> {
    common::DISCOVERY
        .iter()
        .enumerate()
        .flat_map(|(i, argv)| {
            exec_event(
                &format!("{prefix}-{i}"),
                start + every * i as u32,
                user,
                "create",
                argv,
                101,
            )
        })
        .collect()
}

fn write_event(id: &str, second: u32, verb: &str, resource: (&str, &str), extra: Value) -> Value {
    let (group, name) = resource;
    let mut e = json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": id, "stage": "ResponseComplete", "verb": verb,
        "requestURI": format!("/api/v1/namespaces/shop/{name}"),
        "user": {"username": "carol@example.org", "groups": ["system:authenticated"]},
        "objectRef": {"resource": name, "namespace": "shop", "apiGroup": group, "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": at(second),
    });
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    e
}

fn privileged_pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop"},
           "spec": {"hostPID": true, "containers": [{"name": "c", "image": "busybox",
                    "securityContext": {"privileged": true}}]}})
}

/// A week of interactive access in one shop namespace, in time order.
fn synthetic_events() -> Vec<Value> {
    let mut events = Vec::new();
    // kubectl 1.30+: the websocket attempt, then the SPDY fallback, of one `kubectl exec`.
    events.extend(exec_event(
        "ws-1",
        1,
        "dev@example.org",
        "get",
        &["ls", "-l", "/srv"],
        101,
    ));
    events.extend(exec_event(
        "spdy-1",
        1,
        "dev@example.org",
        "create",
        &["ls", "-l", "/srv"],
        101,
    ));
    // A scan through a wrapper: denied.
    events.extend(exec_event(
        "scan-1",
        20,
        "trudy@example.org",
        "create",
        &["sh", "-c", "timeout 60 nmap -sT -p 1-1024 10.96.0.0/24"],
        101,
    ));
    // Refused by RBAC anyway: still judged, and told apart.
    events.extend(exec_event(
        "rbac-1",
        25,
        "eve@example.org",
        "create",
        &["cat", "/etc/shadow"],
        403,
    ));
    // Discovery from one identity, four techniques in 30 s: a burst on the log's clock.
    events.extend(discovery("seq", "mallory@example.org", 60, 10));
    // Impersonation: admission saw the impersonated identity.
    let mut impersonated = exec_event("imp-1", 400, "admin@example.org", "create", &["env"], 101);
    for e in &mut impersonated {
        e["impersonatedUser"] = json!({"username": "system:serviceaccount:ci:deployer",
                                       "groups": ["system:serviceaccounts"]});
    }
    events.extend(impersonated);
    // A port-forward to the kubelet's port and a proxy to it.
    events.push(tunnel_event(
        "pf-1",
        500,
        "create",
        ("shop", "web-0"),
        "portforward?ports=10250",
        101,
    ));
    events.push(tunnel_event(
        "proxy-1",
        510,
        "get",
        ("monitoring", "node-exporter-7xk2p:10250"),
        "proxy/runningpods/",
        200,
    ));
    // Writes: a pod at level Request, one at Metadata (not replayable), a patch with and
    // without its result, a kubectl debug (a patch of ephemeralcontainers).
    events.push(write_event(
        "pod-1",
        600,
        "create",
        ("", "pods"),
        json!({"requestObject": privileged_pod("node-shell")}),
    ));
    events.push(write_event(
        "pod-2",
        610,
        "create",
        ("", "pods"),
        json!({"level": "Metadata"}),
    ));
    events.push(write_event(
        "patch-1",
        620,
        "patch",
        ("", "pods"),
        json!({"requestObject": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}),
    ));
    events.push(write_event(
        "patch-2",
        630,
        "patch",
        ("", "pods"),
        json!({"requestObject": {"metadata": {"labels": {"a": "b"}}},
               "responseObject": privileged_pod("node-shell")}),
    ));
    let mut debug_pod = privileged_pod("web-0");
    debug_pod["spec"]["ephemeralContainers"] = json!([{"name": "debugger", "image": "nicolaka/netshoot",
        "command": ["sh", "-c", "nmap -sn 10.0.0.0/24"]}]);
    let mut debug = write_event(
        "debug-1",
        640,
        "patch",
        ("", "pods"),
        json!({"responseObject": debug_pod, "requestObject": {"spec": {}}}),
    );
    debug["objectRef"]["subresource"] = json!("ephemeralcontainers");
    events.push(debug);
    // A ConfigMap and a read: a webhook sees the first (the policy does not judge it), never
    // the second.
    events.push(write_event("cm-1", 700, "create", ("", "configmaps"),
        json!({"requestObject": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}})));
    events.push(write_event("get-1", 710, "get", ("", "pods"), json!({})));
    events
}

/// What one replay line reports, in the terms of [`of_response`].
fn of_line(line: &Value) -> Outcome {
    let effective = line["exemptions"]
        .as_array()
        .is_some_and(|hits| hits.iter().any(|h| h["effect"] != "none"));
    if line["decision"] == "allow" && !effective {
        return Outcome {
            action: "allow".into(),
            score: 0,
            rules: Vec::new(),
        };
    }
    let mut rules: Vec<String> = line["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    rules.sort();
    rules.dedup();
    Outcome {
        action: line["decision"].as_str().unwrap().into(),
        score: line["score"].as_u64().unwrap() as u32,
        rules,
    }
}

/// Replays `text` in-process: the JSON lines printed and the run (for its summary).
fn replay(text: &str) -> (Vec<Value>, Replay<'static>) {
    let mut replay = Replay::new(common::policy(), Format::Json, true);
    let mut lines = Vec::new();
    replay
        .input("log", std::io::Cursor::new(text.to_string()), &mut |l| {
            lines.push(serde_json::from_str(l.trim()).unwrap());
            Ok(())
        })
        .unwrap();
    (lines, replay)
}

fn json_lines(events: &[Value]) -> String {
    events.iter().map(|e| e.to_string() + "\n").collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_judges_every_event_as_serve_judges_its_review() {
    let mut events = falco_events();
    events.extend(synthetic_events());
    let (lines, run) = replay(&json_lines(&events));

    // The review of each judged event, in log order, to a live webhook.
    let mut reviews: Vec<(String, Value)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in &events {
        let event: audit::Event = serde_json::from_value(e.clone()).unwrap();
        if let Ok(review) = audit::review_of(&event) {
            if seen.insert(event.audit_id.clone()) {
                reviews.push((event.audit_id.clone(), review));
            }
        }
    }
    let server = Server::start(|_, _| {}).await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    let mut served = std::collections::HashMap::new();
    for (id, review) in &reviews {
        let (status, _, body) = post(&client, &url, review).await;
        assert_eq!(status, 200, "{id}: {body}");
        served.insert(id.clone(), of_response(&body["response"]));
    }
    server.stop().await.unwrap();

    // Judged lines (not the ConfigMap's, which the policy does not judge) match serve's.
    assert_eq!(lines.len() as u64, run.summary.judged);
    for line in &lines {
        let id = line["auditID"].as_str().unwrap();
        assert_eq!(&of_line(line), &served[id], "{id}: replay vs serve\n{line}");
    }
    let by_id = |id: &str| {
        let line = lines
            .iter()
            .find(|l| l["auditID"] == id)
            .unwrap_or_else(|| panic!("{id} not judged"));
        of_line(line)
    };
    // The classes the comparison must cover.
    assert_eq!(by_id("scan-1").action, "deny");
    assert!(
        by_id("seq-3")
            .rules
            .contains(&"exec-discovery-burst".to_string()),
        "{:?}",
        by_id("seq-3")
    );
    assert_eq!(by_id("pf-1").action, "deny");
    assert_eq!(by_id("pod-1").action, "deny");
    assert_eq!(
        by_id("patch-2").action,
        "deny",
        "a patch is judged on its result"
    );
    assert!(
        by_id("debug-1")
            .rules
            .contains(&"exec-network-scan".to_string()),
        "{:?}",
        by_id("debug-1")
    );
    let falco_privileged = by_id("a362d22b-db3c-4590-9505-23782f12925f");
    assert!(
        falco_privileged.rules.contains(&"privileged".to_string()),
        "{falco_privileged:?}"
    );
    let falco_exec = lines
        .iter()
        .find(|l| l["auditID"] == "ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6");
    assert!(
        falco_exec.is_some(),
        "an exec logged only at ResponseStarted is judged"
    );

    // Who and when, from the log.
    let line = |id: &str| lines.iter().find(|l| l["auditID"] == id).unwrap();
    assert_eq!(line("imp-1")["user"], "system:serviceaccount:ci:deployer");
    assert_eq!(line("rbac-1")["apiServerStatus"], 403);
    assert_eq!(line("scan-1")["time"], at(20));

    // The rest, by reason; every stage of a request judged once.
    let s = &run.summary;
    assert_eq!(
        s.unjudgeable.get("no-object"),
        Some(&1),
        "{:?}",
        s.unjudgeable
    );
    assert_eq!(
        s.unjudgeable.get("patch-without-result"),
        Some(&1),
        "{:?}",
        s.unjudgeable
    );
    assert_eq!(
        s.not_judged, 3,
        "the ConfigMap, Falco's ConfigMap and its extensions/v1beta1 Deployment"
    );
    assert_eq!(s.judged as usize, reviews.len() - 3);
    assert_eq!(s.events as usize, events.len());
    let refused = match of_line(line("rbac-1")).action.as_str() {
        "deny" => &s.denied,
        "annotate" => &s.annotated,
        other => panic!("rbac-1 {other}"),
    };
    assert!(refused.refused_by_api_server >= 1);
    assert_eq!(s.denied.identities.rows["trudy@example.org"].first, at(20));
    assert!(s.denied.rules.rows.contains_key("exec-network-scan"));
}

/// The webhook backend's EventList, pretty-printed and gzipped, reads as the log backend's lines;
/// lines cut short (in the middle and at the end) and lines that are no event are counted, and
/// the lines after them still read; the exit status says
/// whether anything was denied.
#[test]
fn eventlists_gzip_and_damaged_lines_read_through_the_command() {
    let events = synthetic_events();
    let dir = tempfile::tempdir().unwrap();

    let lines_file = dir.path().join("audit.log");
    let (head, tail) = events.split_at(events.len() / 2);
    // A line cut short in the middle (a crash, a rotation) and one at the end.
    let mut text = json_lines(head) + &events[0].to_string()[..60] + "\n" + &json_lines(tail);
    text.push_str("{\"kind\":\"Status\"}\nnot json at all\n");
    text.push_str(&events[0].to_string()[..40]);
    std::fs::write(&lines_file, &text).unwrap();

    let list = json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": events});
    let gz_file = dir.path().join("webhook-batch.json.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz_file).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(serde_json::to_string_pretty(&list).unwrap().as_bytes())
        .unwrap();
    gz.finish().unwrap();

    let run = |file: &Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_reconguard"))
            .args(["replay", "--format", "json"])
            .arg(file)
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let summary: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        (out.status.code(), stdout, summary["summary"].clone())
    };
    let (code, stdout, from_lines) = run(&lines_file);
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(from_lines["unreadable"], 4, "{from_lines}");
    let (code, stdout, from_list) = run(&gz_file);
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(from_list["unreadable"], 0, "{from_list}");
    for key in [
        "events",
        "judged",
        "allowed",
        "not_judged",
        "not_admitted",
        "unjudgeable",
    ] {
        assert_eq!(from_lines[key], from_list[key], "{key}");
    }
    assert_eq!(
        from_list["denied"]["requests"],
        from_lines["denied"]["requests"]
    );
    // Only what is annotated or denied is printed without --all.
    let printed = stdout.lines().count() as u64 - 1;
    let expected = from_list["denied"]["requests"].as_u64().unwrap()
        + from_list["annotated"]["requests"].as_u64().unwrap();
    assert_eq!(printed, expected, "{stdout}");
}

/// Correlation runs on the log's clock: the same four techniques a minute apart (more than the
/// window between first and last) are no burst, though sent at once to a webhook they are.
#[test]
fn a_sequence_slower_than_the_window_is_no_burst_on_the_logs_clock() {
    let burst = |every: u32| {
        let (lines, _) = replay(&json_lines(&discovery(
            "d",
            "mallory@example.org",
            0,
            every,
        )));
        assert_eq!(lines.len(), 4);
        lines.iter().any(|l| {
            of_line(l)
                .rules
                .contains(&"exec-discovery-burst".to_string())
        })
    };
    assert!(burst(5), "four techniques in 15 s");
    assert!(!burst(60), "four techniques in 3 min");
}

/// Every entry of a suggested layer scopes one identity, written literally, in at most one
/// namespace; returns the entries.
fn assert_narrow(layer: &str) -> Vec<Value> {
    let doc: Value = serde_saphyr::from_str(layer).unwrap();
    let entries = doc["exemptions"]["add"].as_array().unwrap().clone();
    for e in &entries {
        let identities: Vec<&Value> = ["users", "requesterServiceAccounts", "podServiceAccounts"]
            .iter()
            .filter_map(|k| e.get(*k))
            .collect();
        assert_eq!(identities.len(), 1, "one identity field: {e}");
        let names = identities[0].as_array().unwrap();
        assert_eq!(names.len(), 1, "one identity: {e}");
        let name = names[0].as_str().unwrap();
        assert!(
            !name.is_empty() && !name.contains('*') && !name.contains('?'),
            "{e}"
        );
        assert!(
            e.get("namespaces")
                .is_none_or(|n| n.as_array().unwrap().len() == 1),
            "{e}"
        );
        assert!(
            !e["rules"].as_array().unwrap().is_empty(),
            "rules named: {e}"
        );
    }
    entries
}

/// A layer suggested from a replay, applied to the same log, leaves nothing denied; requests it
/// was not written for are judged as before.
#[test]
fn a_suggested_layer_makes_the_next_replay_deny_nothing() {
    let mut events = falco_events();
    events.extend(synthetic_events());
    let text = json_lines(&events);
    let (before, first) = replay(&text);
    assert!(
        first.summary.denied.requests >= 5,
        "{:?}",
        first.summary.denied.requests
    );
    let layer = first.suggestions.layer("the test log");
    let entries = assert_narrow(&layer);
    assert!(entries.len() >= 4, "{layer}");
    assert!(
        layer.contains("# 1 denied, "),
        "commented with what it saw:\n{layer}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("suggested.yaml");
    std::fs::write(&path, &layer).unwrap();
    let policy = reconguard::policy::files::PolicySources::new(vec![path])
        .load()
        .unwrap();
    let mut again = Replay::new(&policy, Format::Json, true);
    let mut after = Vec::new();
    again
        .input("log", std::io::Cursor::new(text), &mut |l| {
            after.push(serde_json::from_str::<Value>(l.trim()).unwrap());
            Ok(())
        })
        .unwrap();
    assert_eq!(
        again.summary.denied.requests, 0,
        "{:?}",
        again.summary.denied.rules
    );
    assert_eq!(after.len(), before.len());
    for (b, a) in before.iter().zip(&after) {
        if b["decision"] != "deny" {
            assert_eq!(of_line(b), of_line(a), "{} changed", b["auditID"]);
        }
    }
}
