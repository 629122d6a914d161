//! Hostile input sent to a running server over TLS, as an attacker with `pods/exec` rights (or any
//! client that reaches the webhook port) would: every recursive construct of the shell grammar and
//! of JSON, nested as deep as each size limit allows. The server must stay up, deny the request
//! (an analysis limit fails closed), and answer the next request correctly.

use crate::common;

use std::time::Duration;

use common::server::*;
use serde_json::{json, Value};

/// The default policy's `exec.limits.maxScriptBytes`: the largest argument analysed at all.
const MAX_SCRIPT_BYTES: usize = 16384;

/// Every construct the parser or the walk recurses on: (opening, closing) around a command.
const CONSTRUCTS: &[(&str, &str, &str)] = &[
    ("if", "if true; then ", "; fi"),
    ("while", "while true; do ", "; done"),
    ("until", "until false; do ", "; done"),
    ("for", "for i in 1; do ", "; done"),
    ("select", "select i in 1; do ", "; done"),
    ("arithmetic for", "for ((i=0;i<1;i++)); do ", "; done"),
    ("case", "case x in x) ", ";; esac"),
    ("brace group", "{ ", "; }"),
    ("subshell", "( ", " )"),
    ("function", "f() { ", "; }"),
    ("function keyword", "function f { ", "; }"),
    ("command substitution", "echo $(", ")"),
    ("quoted substitution", "echo \"$(", ")\""),
    ("backquotes", "echo `", "`"),
    ("parameter expansion", "echo ${x:-", "}"),
    ("arithmetic", "echo $((", "))"),
    ("process substitution", "cat <(", ")"),
    ("negation", "! ", ""),
    ("coproc", "coproc ", ""),
    ("time", "time ", ""),
    ("and list", "true && ", ""),
    ("or list", "false || ", ""),
    ("pipeline", "true | ", ""),
    ("sequence", "true; ", ""),
    ("eval", "eval ", ""),
];

const INNER: &str = "nmap 10.0.0.1";

/// The construct nested as often as fits in `bytes`.
fn nested(open: &str, close: &str, bytes: usize) -> String {
    let levels = (bytes - INNER.len()) / (open.len() + close.len());
    format!("{}{INNER}{}", open.repeat(levels), close.repeat(levels))
}

fn exec_review(uid: &str, argv: Vec<String>) -> Value {
    let mut review = corpus("exec-netstat.json");
    review["request"]["uid"] = json!(uid);
    review["request"]["object"]["command"] = json!(argv);
    review
}

async fn assert_denied(client: &reqwest::Client, url: &str, what: &str, review: &Value) {
    let uid = review["request"]["uid"].as_str().unwrap().to_string();
    let (status, _, body) = post(client, url, review).await;
    assert_eq!(status, 200, "{what}: {body}");
    let response = &body["response"];
    assert_eq!(response["uid"], uid.as_str(), "{what}");
    assert_eq!(response["allowed"], false, "{what}: {response}");
    assert_eq!(response["status"]["code"], 403, "{what}");
}

async fn assert_still_serving(client: &reqwest::Client, url: &str) {
    let (status, _, body) = post(client, url, &corpus("exec-connect.json")).await;
    assert_eq!(status, 200);
    assert_eq!(body["response"]["allowed"], true, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reproducer_from_the_report_is_denied_and_the_server_stays_up() {
    let server = Server::start(|_, _| {}).await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    for levels in [300, 500] {
        let script = format!(
            "{}nmap 10.0.0.1{}",
            "if true; then ".repeat(levels),
            "; fi".repeat(levels)
        );
        let review = exec_review(
            &format!("if-{levels}"),
            vec!["sh".into(), "-c".into(), script],
        );
        assert_denied(&client, &url, &format!("{levels} nested ifs"), &review).await;
        assert_still_serving(&client, &url).await;
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recursive_construct_at_every_size_limit_is_denied() {
    let server = Server::start(|_, _| {}).await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    for (name, open, close) in CONSTRUCTS {
        // The largest argument that is analysed whole, as `sh -c` and as `bash -c`.
        let script = nested(open, close, MAX_SCRIPT_BYTES);
        assert!(script.len() <= MAX_SCRIPT_BYTES);
        for shell in ["sh", "bash"] {
            let review = exec_review(
                &format!("{name}-{shell}"),
                vec![shell.into(), "-c".into(), script.clone()],
            );
            assert_denied(&client, &url, &format!("{name} under {shell} -c"), &review).await;
        }
        // Past the argument limit, up to the body limit (4 MiB, JSON escaping included).
        let huge = nested(open, close, 3_400_000);
        let review = exec_review(
            &format!("{name}-huge"),
            vec!["sh".into(), "-c".into(), huge],
        );
        assert_denied(&client, &url, &format!("{name} at 3.4 MB"), &review).await;
        // The same depth in a pod's container command.
        let mut pod = corpus("pod-create.json");
        pod["request"]["uid"] = json!(format!("{name}-pod"));
        pod["request"]["object"]["spec"]["containers"][0]["command"] =
            json!(["sh", "-c", script.clone()]);
        assert_denied(&client, &url, &format!("{name} in a pod"), &pod).await;
        assert_still_serving(&client, &url).await;
    }
    server.stop().await.unwrap();
}

/// `wrap` applied until the next application would pass `limit` bytes.
fn deepest_under(limit: usize, wrap: impl Fn(&str) -> String) -> (String, usize) {
    let (mut text, mut levels) = (INNER.to_string(), 0);
    loop {
        let next = wrap(&text);
        if next.len() > limit {
            return (text, levels);
        }
        (text, levels) = (next, levels + 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_and_payloads_nested_in_each_other_are_denied() {
    let server = Server::start(|_, _| {}).await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    type Wrap = (&'static str, Box<dyn Fn(&str) -> String>);
    let wrappers: [Wrap; 5] = [
        (
            "sh -c, double-quoted",
            Box::new(|s: &str| {
                format!("sh -c \"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
            }),
        ),
        (
            "bash -c, single-quoted",
            Box::new(|s: &str| format!("bash -c '{}'", s.replace('\'', "'\\''"))),
        ),
        (
            "base64 piped into sh",
            Box::new(move |s: &str| format!("echo {} | base64 -d | sh", b64(s))),
        ),
        (
            "python -c os.system",
            Box::new(|s: &str| {
                format!(
                    "python3 -c \"import os; os.system('{}')\"",
                    s.replace('\'', "\\'").replace('"', "\\\"")
                )
            }),
        ),
        ("substitution", Box::new(|s: &str| format!("echo $({s})"))),
    ];
    for (name, wrap) in wrappers {
        let (script, levels) = deepest_under(MAX_SCRIPT_BYTES, wrap);
        assert!(levels >= 8, "{name}: only {levels} levels fit");
        let review = exec_review(name, vec!["sh".into(), "-c".into(), script]);
        assert_denied(&client, &url, &format!("{name} x{levels}"), &review).await;
    }
    assert_still_serving(&client, &url).await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_spread_over_many_arguments_or_containers_spends_one_budget() {
    let server = Server::start(|_, _| {}).await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    let word = "a".repeat(MAX_SCRIPT_BYTES);
    // One long argument is fine; 240 of them (3.9 MB) are more work than one request may cost.
    let review = exec_review("one-long-arg", vec!["echo".into(), word.clone()]);
    let (_, _, body) = post(&client, &url, &review).await;
    assert_eq!(body["response"]["allowed"], true, "{body}");
    let mut argv = vec!["echo".to_string()];
    argv.extend(std::iter::repeat_n(word, 240));
    assert_denied(
        &client,
        &url,
        "240 arguments of 16 KiB",
        &exec_review("many-args", argv),
    )
    .await;

    // A 16 KiB script of 79 harmless commands is fine in one container, not in 200.
    let command = format!("echo {}; ", "w".repeat(200));
    let script = command.repeat(MAX_SCRIPT_BYTES / command.len());
    let pod_with = |uid: &str, n: usize| {
        let mut pod = corpus("pod-create.json");
        pod["request"]["uid"] = json!(uid);
        let containers: Vec<Value> = (0..n)
            .map(|i| json!({"name": format!("c{i}"), "image": "busybox", "command": ["sh", "-c", script]}))
            .collect();
        pod["request"]["object"]["spec"]["containers"] = json!(containers);
        pod
    };
    let (_, _, body) = post(&client, &url, &pod_with("one-container", 1)).await;
    assert_eq!(body["response"]["allowed"], true, "{body}");
    let many = pod_with("many-containers", 200);
    assert_denied(&client, &url, "200 containers with 16 KiB scripts", &many).await;
    assert_still_serving(&client, &url).await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_json_is_refused_or_judged_and_never_crashes() {
    let server = Server::start(|_, _| {}).await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    // Nested a million deep (2 MB), as arrays and as objects, placed where nobody reads (an
    // unknown field of the object), where the decoder builds a tree (`request.options`) and where
    // a typed field is read (`command`).
    let arrays = format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
    let objects = format!("{}0{}", "{\"a\":".repeat(500_000), "}".repeat(500_000));
    // `"key":DEEP` is written just before the review's first `anchor`.
    let with_deep = |deep: &str, anchor: &str, key: &str| {
        let mut review = exec_review("deep-json", vec!["ls".into()]);
        review["request"].as_object_mut().unwrap().remove(key);
        review["request"]["object"]
            .as_object_mut()
            .unwrap()
            .remove(key);
        serde_json::to_string(&review).unwrap().replacen(
            anchor,
            &format!("\"{key}\":{deep},{anchor}"),
            1,
        )
    };
    for deep in [&arrays, &objects] {
        // Skipped without recursion: judged as if the field were not there.
        let unread = with_deep(deep, "\"container\":", "extra");
        let resp = post_text(&client, &url, unread).await;
        assert_eq!(resp.0, 200, "{}", resp.1);
        let body: serde_json::Value = serde_json::from_str(&resp.1).unwrap();
        assert_eq!(body["response"]["allowed"], true, "{body}");

        // Past serde_json's recursion limit: a clean 400.
        let options = with_deep(deep, "\"uid\":", "options");
        let resp = post_text(&client, &url, options).await;
        assert_eq!(resp.0, 400, "{}", resp.1);
        assert!(resp.1.contains("malformed"), "{}", resp.1);

        // Not a command line: refused with the reason, never allowed.
        let command = with_deep(deep, "\"container\":", "command");
        let resp = post_text(&client, &url, command).await;
        assert_eq!(resp.0, 200, "{}", resp.1);
        let body: serde_json::Value = serde_json::from_str(&resp.1).unwrap();
        assert_eq!(body["response"]["allowed"], false, "{body}");
        assert_eq!(body["response"]["status"]["code"], 400, "{body}");
    }
    // Nested as deep as the decoder allows, in a field nobody reads: judged normally.
    let mut review = exec_review("deep-but-allowed", vec!["ls".into()]);
    let mut value = json!("leaf");
    for _ in 0..100 {
        value = json!([value]);
    }
    review["request"]["object"]["extra"] = value;
    let (status, _, body) = post(&client, &url, &review).await;
    assert_eq!(status, 200);
    assert_eq!(body["response"]["allowed"], true, "{body}");
    assert_still_serving(&client, &url).await;
    server.stop().await.unwrap();
}

/// Posts a body as it is; the status and the text of the answer.
async fn post_text(client: &reqwest::Client, url: &str, body: String) -> (u16, String) {
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evaluation_past_its_deadline_is_denied_not_dropped() {
    let server = Server::start(|c, _| c.evaluation_timeout = Duration::from_millis(1)).await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    // Harmless, but 200 commands in 20 containers take well over a millisecond to analyse: only
    // the deadline can deny it.
    let script = "echo ready; ".repeat(200);
    let containers: Vec<Value> = (0..20)
        .map(|i| json!({"name": format!("c{i}"), "image": "busybox", "command": ["sh", "-c", script]}))
        .collect();
    let mut review = corpus("pod-create.json");
    review["request"]["uid"] = json!("deadline");
    review["request"]["object"]["spec"]["containers"] = json!(containers);
    let (status, _, body) = post(&client, &url, &review).await;
    assert_eq!(status, 200);
    assert_eq!(body["response"]["allowed"], false, "{body}");
    let message = body["response"]["status"]["message"].as_str().unwrap();
    assert!(message.contains("exec-analysis-limit"), "{message}");
    assert!(message.contains("did not finish"), "{message}");
    server
        .wait_for_metric(
            "the deadline counted",
            "reconguard_errors_total",
            &[("reason", "evaluation_timeout")],
        )
        .await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parser_panic_is_counted_and_the_request_still_judged() {
    let server = Server::start(|_, _| {}).await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    // brush-parser 0.4 unwraps an over-long redirection number; the engine catches it.
    let review = exec_review(
        "parser-panic",
        vec![
            "sh".into(),
            "-c".into(),
            "99999999999> x; nmap 10.0.0.1".into(),
        ],
    );
    assert_denied(&client, &url, "a script the parser panics on", &review).await;
    server
        .wait_for_metric("the panic counted", "reconguard_panics_total", &[])
        .await;
    assert_still_serving(&client, &url).await;
    server.stop().await.unwrap();
}

/// Expansions that multiply: a brace product of 2^64 words, a sequence of 10^18, brace groups
/// up to the argument limit, a 64-level pathname pattern, parameter operators nested as deep
/// as the limit allows, pattern operators whose cost is the square of their value's length. None is generated: each is counted, refused as an analysis limit, or
/// matched as a pattern; the request is answered and the next one too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expansion_bombs_are_refused_without_being_built() {
    let server = Server::start(|_, _| {}).await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    let product = "{a,b}".repeat(64);
    let widest = "{a,b}".repeat(MAX_SCRIPT_BYTES / 5 - 10);
    let glob = format!("{}/nm?p", "/*".repeat(64));
    let (operators, levels) = deepest_under(MAX_SCRIPT_BYTES - 5, |s| format!("${{x:-{s}}}"));
    assert!(levels > 100, "{levels}");
    let replace = ": ${v//*a*b/x}; ";
    let patterns = format!(
        "v={}; {}",
        "a".repeat(120),
        replace.repeat((MAX_SCRIPT_BYTES - 130) / replace.len())
    );
    let bombs = [
        (
            "brace product of 2^64 words",
            format!("echo {product}; nmap x"),
        ),
        (
            "brace product as the command",
            format!("nm{product}ap 10.0.0.1"),
        ),
        (
            "sequence of 10^18",
            "echo {1..1000000000000000000}".to_string(),
        ),
        (
            "brace groups up to the argument limit",
            format!("echo {widest}"),
        ),
        (
            "64-level pathname pattern",
            format!("{glob} -sS 10.0.0.0/24"),
        ),
        ("nested parameter operators", format!("echo {operators}")),
        ("pattern operators, each quadratic in its value", patterns),
    ];
    for (name, script) in bombs {
        assert!(script.len() <= MAX_SCRIPT_BYTES, "{name}: {}", script.len());
        for shell in ["sh", "bash"] {
            let review = exec_review(name, vec![shell.into(), "-c".into(), script.clone()]);
            assert_denied(&client, &url, &format!("{name} under {shell} -c"), &review).await;
        }
        assert_still_serving(&client, &url).await;
    }
    server.stop().await.unwrap();
}
