//! The `reconguard` binary: evaluate's output and exit codes, policy default and check.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reconguard"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

#[test]
fn evaluate_json_lines_and_exit_codes() {
    let out = run(
        &[
            "evaluate",
            "--format",
            "json",
            "tests/corpus/exec-netstat.json",
            "tests/corpus/list.json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "a denial exits 1");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let first = &lines[0];
    for key in [
        "source",
        "kind",
        "namespace",
        "name",
        "operation",
        "subresource",
        "decision",
        "score",
        "findings",
    ] {
        assert!(first.get(key).is_some(), "missing {key} in {first}");
    }
    assert_eq!(first["decision"], "annotate");
    assert_eq!(first["subresource"], "exec");
    let finding = &first["findings"][0];
    for key in ["rule", "score", "technique", "message"] {
        assert!(finding.get(key).is_some(), "missing {key}");
    }
    assert_eq!(lines[2]["decision"], "deny");

    let out = run(&["evaluate", "tests/corpus/pod-create.json"], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("allow"));
}

#[test]
fn evaluate_reads_stdin_and_reports_parse_errors_with_document_index() {
    let out = run(&["evaluate", "-"], Some("kind: Pod\napiVersion: v1\nmetadata: {name: a}\nspec: {containers: [{name: c, image: nginx}]}\n---\nkind: [broken\n"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stdin") && err.contains("document 1"), "{err}");

    let out = run(&["evaluate", "no/such/file.yaml"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/file.yaml"));

    let out = run(
        &["evaluate", "-"],
        Some("{\"apiVersion\": \"admission.k8s.io/v1beta1\", \"kind\": \"AdmissionReview\"}"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("v1beta1"));
}

#[test]
fn unknown_kinds_are_skipped_not_errors() {
    let out = run(
        &["evaluate", "--format", "json", "-"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n"),
    );
    assert_eq!(out.status.code(), Some(0));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["decision"], "allow");
    assert!(line["skipped"].as_str().unwrap().contains("ConfigMap"));
}

#[test]
fn policy_default_round_trips_through_check() {
    let out = run(&["policy", "default"], None);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("thresholds:"));
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("policy.yaml");
    std::fs::write(&good, &text).unwrap();
    let out = run(&["policy", "check", good.to_str().unwrap()], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        text.replace("  annotate: 20\n", "  annotate: 20\n  anotate: 3\n"),
    )
    .unwrap();
    let out = run(&["policy", "check", bad.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("thresholds") && err.contains("anotate"),
        "{err}"
    );

    // A tuned policy changes evaluate's verdict.
    let audit = dir.path().join("audit.yaml");
    std::fs::write(&audit, text.replace("mode: enforce", "mode: audit")).unwrap();
    let out = run(
        &[
            "evaluate",
            "--policy",
            audit.to_str().unwrap(),
            "tests/corpus/exec-reverse-shell.json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
}

/// `--version` names Cargo.toml's version and, in a checkout, the commit built.
#[test]
fn version_names_the_commit_of_a_checkout() {
    let out = run(&["--version"], None);
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    let want = format!("reconguard {}", env!("CARGO_PKG_VERSION"));
    assert!(line.starts_with(&want), "{line}");
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    if let Some(head) = head.ok().filter(|h| h.status.success()) {
        let commit = String::from_utf8(head.stdout).unwrap();
        assert!(
            line.trim_end()
                .ends_with(&format!("(commit {})", commit.trim())),
            "{line}"
        );
    }
}

/// A policy written for another release is refused by `policy check` with each problem named
/// once: a missing rule the engine raises, and a rule nothing raises.
#[test]
fn policy_check_names_contract_problems_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.yaml");
    let text = reconguard::policy::DEFAULT_POLICY_YAML.replace(
        "  exec-listener:\n",
        "  exec-typo:\n    score: 1\n    technique: T1059\n    message: x\n  exec-old-listener:\n",
    );
    std::fs::write(&path, text).unwrap();
    let out = run(&["policy", "check", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    for id in [
        "rules.exec-listener: missing",
        "rules.exec-typo: nothing raises",
        "rules.exec-old-listener: nothing raises",
    ] {
        assert_eq!(err.matches(id).count(), 1, "{id}: {err}");
    }
}

const HEADER: &str = "apiVersion: reconguard.io/v1alpha1\nkind: Policy\n";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A directory of layers, as the chart mounts them: read in name order, hidden entries and
/// other files skipped.
fn layer_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        std::fs::write(dir.path().join(name), format!("{HEADER}{body}")).unwrap()
    };
    write(
        "10-site.yaml",
        "rules:\n  exec-network-connections: {action: deny}\n",
    );
    write(
        "20-first-day.yaml",
        "mode: {pods: audit}\nexec:\n  downloaders: [curl, wget]\n",
    );
    // Not layers: a hidden file and a README.
    std::fs::write(dir.path().join(".hidden.yaml"), "not: [a layer").unwrap();
    std::fs::write(dir.path().join("README.md"), "notes").unwrap();
    dir
}

#[test]
fn policy_check_show_and_evaluate_take_layer_directories() {
    let dir = layer_dir();
    let d = dir.path().to_str().unwrap();
    let out = run(&["policy", "check", d], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let first = stdout.lines().next().unwrap_or("");
    assert!(
        first.starts_with("valid: built-in default + ")
            && first.contains("10-site.yaml + ")
            && first.ends_with("20-first-day.yaml"),
        "{stdout}"
    );
    assert!(
        stdout.contains(" 0 not as documented"),
        "the layers keep every example: {stdout}"
    );
    assert!(
        text(&out.stderr).contains("warning: exec.downloaders"),
        "a replaced list is a warning: {}",
        text(&out.stderr)
    );

    let out = run(&["policy", "show", "--policy", d], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("  pods: audit  # "), "{shown}");
    assert!(shown.contains("# warning: exec.downloaders"), "{shown}");

    // netstat: annotate by default, denied by the layer.
    let out = run(
        &["evaluate", "--policy", d, "tests/corpus/exec-netstat.json"],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    // Two --policy arguments are two layers: the second puts exec in audit mode.
    let audit = dir.path().join("audit.yaml");
    std::fs::write(&audit, format!("{HEADER}mode: {{exec: audit}}\n")).unwrap();
    let out = run(
        &[
            "evaluate",
            "--policy",
            d,
            "--policy",
            audit.to_str().unwrap(),
            "tests/corpus/exec-netstat.json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("[audit mode: would deny]"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn policy_diff_lists_the_decisions_that_change() {
    let dir = layer_dir();
    let d = dir.path().to_str().unwrap();
    let inputs = [
        "tests/corpus/exec-netstat.json",
        "tests/corpus/pod-create-docker-socket.json",
        "tests/corpus/pod-create.json",
        "tests/corpus/workloads.yaml",
    ];
    let mut args = vec!["policy", "diff", "--to", d];
    args.extend(inputs);
    let out = run(&args, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.iter().any(
            |l| l.starts_with("tests/corpus/exec-netstat.json: PodExecOptions")
                && l.contains("annotate (score")
                && l.contains("-> deny (score")
        ),
        "{stdout}"
    );
    assert!(
        lines.iter().any(
            |l| l.starts_with("tests/corpus/pod-create-docker-socket.json")
                && l.contains("-> annotate")
                && l.contains("would deny")
        ),
        "{stdout}"
    );
    assert!(
        !stdout.contains("tests/corpus/pod-create.json:"),
        "unchanged: {stdout}"
    );
    let summary = text(&out.stderr);
    assert!(
        summary.contains(&format!("{} changed", lines.len())),
        "{summary}"
    );

    // JSON lines carry both verdicts.
    let mut args = vec!["policy", "diff", "--format", "json", "--to", d];
    args.extend(inputs);
    let out = run(&args, None);
    let first: serde_json::Value =
        serde_json::from_str(text(&out.stdout).lines().next().unwrap()).unwrap();
    assert!(first["before"]["decision"].is_string() && first["after"]["rules"].is_array());

    // The same policy on both sides changes nothing.
    let out = run(
        &[
            "policy",
            "diff",
            "--from",
            d,
            "--to",
            d,
            "tests/corpus/exec-netstat.json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).is_empty());
    assert!(text(&out.stderr).contains("1 judged, 0 changed"));

    // A broken side is an error naming it.
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, format!("{HEADER}thresholds: {{deny: 1}}\n")).unwrap();
    let out = run(
        &[
            "policy",
            "diff",
            "--to",
            broken.to_str().unwrap(),
            "tests/corpus/exec-netstat.json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--to"), "{}", text(&out.stderr));
}

#[test]
fn policy_check_fails_on_a_layer_that_breaks_an_example_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("10-narrow.yaml");
    // The entry raising exec-network-connections no longer knows `netstat`.
    std::fs::write(
        &path,
        format!(
            "{HEADER}exec:\n  programs:\n    add:\n      - id: netstat\n        rule: exec-network-connections\n        names: [ss]\n"
        ),
    )
    .unwrap();
    let out = run(&["policy", "check", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "rules.exec-network-connections.examples.fires[0]: does not raise exec-network-connections: kubectl exec POD -- netstat -tuln"
        ),
        "{err}"
    );
    assert!(
        text(&out.stdout).contains(" 1 not as documented"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn policy_docs_writes_the_catalogue_of_the_merged_policy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("10-site.yaml");
    std::fs::write(
        &path,
        format!("{HEADER}rules:\n  exec-process-discovery:\n    priority: critical\n"),
    )
    .unwrap();
    let out = run(
        &[
            "policy",
            "docs",
            "--policy",
            path.to_str().unwrap(),
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let docs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules = docs["rules"].as_array().unwrap();
    let default = reconguard::policy::Policy::embedded_default();
    assert_eq!(rules.len(), default.rules.len());
    let ps = rules
        .iter()
        .find(|r| r["id"] == "exec-process-discovery")
        .unwrap();
    assert_eq!(ps["priority"], "critical", "the layer's value: {ps}");
    assert_eq!(ps["tactic"], "Discovery");
    assert_eq!(ps["techniqueName"], "Process Discovery");
    assert!(ps["fires"][0].as_str().unwrap().ends_with("ps aux"), "{ps}");
    for rule in rules {
        // The correlation rule is raised by a sequence of requests, never by one example.
        let sequence_only = rule["id"] == "exec-discovery-burst";
        let fields = [
            "strategy",
            "blindSpots",
            "falsePositives",
            "response",
            "fires",
            "quiet",
        ];
        for field in fields
            .iter()
            .filter(|f| !sequence_only || !["fires", "quiet"].contains(f))
        {
            assert!(
                rule[field].as_str().is_some_and(|s| !s.is_empty())
                    || rule[field].as_array().is_some_and(|a| !a.is_empty()),
                "{}: {field}",
                rule["id"]
            );
        }
    }
    let markdown = run(&["policy", "docs"], None);
    assert_eq!(markdown.status.code(), Some(0));
    assert!(text(&markdown.stdout).starts_with("# Detection catalogue\n"));
}

/// A reader that stops early (`| head -1`, `| grep -q`) ends the output, not the program: no
/// panic on the closed pipe, and the exit code still says whether something was denied.
#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    use std::io::Read;
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/calibration/workloads/applications"
    );
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    files.sort();
    let mut args = vec!["evaluate".to_string(), "--format".into(), "json".into()];
    args.extend(files);
    args.push(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/corpus/exec-reverse-shell.json"
        )
        .into(),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_reconguard"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The pipe is closed here, long before hundreds of lines are written.
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the reverse shell is still denied: {stderr}"
    );
}
