//! The policy: validation with exact paths, modes, forced actions and exemptions.

use crate::common;

use common::*;
use reconguard::decision::Action;
use reconguard::policy::{Policy, PolicyError, DEFAULT_POLICY_YAML};
use serde_json::json;

fn with(edit: impl FnOnce(&mut serde_json::Value)) -> Result<Policy, PolicyError> {
    let mut v: serde_json::Value = serde_saphyr::from_str(DEFAULT_POLICY_YAML).unwrap();
    edit(&mut v);
    Policy::from_value(v)
}

fn error_text(r: Result<Policy, PolicyError>) -> String {
    match r {
        Ok(_) => panic!("expected the policy to be rejected"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn default_policy_is_valid_and_every_rule_has_a_technique() {
    let p = policy();
    assert!(p.rules.len() > 40);
    for rule in p.rules.values() {
        assert!(rule.technique.starts_with('T'), "{}", rule.id);
    }
}

#[test]
fn unknown_fields_and_bad_values_name_their_path() {
    let e = error_text(with(|v| v["thresholds"]["denny"] = json!(5)));
    assert!(e.contains("thresholds") && e.contains("denny"), "{e}");
    let e = error_text(with(|v| v["rules"]["host-pid"]["score"] = json!("high")));
    assert!(e.contains("rules.host-pid.score"), "{e}");
    let e = error_text(with(|v| {
        v["rules"]["host-pid"]["technique"] = json!("recon")
    }));
    assert!(e.contains("rules.host-pid.technique"), "{e}");
    let e = error_text(with(|v| v["mode"] = json!("loud")));
    assert!(e.contains("mode"), "{e}");
    let e = error_text(with(|v| v["thresholds"]["deny"] = json!(5)));
    assert!(e.contains("thresholds.deny"), "{e}");
    let e = error_text(with(|v| {
        v["exec"]["programs"][0]["rule"] = json!("no-such-rule")
    }));
    assert!(
        e.contains("exec.programs[0].rule") && e.contains("no-such-rule"),
        "{e}"
    );
    let e = error_text(with(|v| v["exemptions"] = json!([{"name": "all"}])));
    assert!(e.contains("exemptions[0]") && e.contains("selector"), "{e}");
    let e = error_text(with(|v| {
        v["exemptions"] = json!([{"name": "x", "namespaces": ["a["]}])
    }));
    assert!(e.contains("exemptions[0].namespaces[0]"), "{e}");
    let e = error_text(with(|v| {
        v["pod"]["hostPaths"][0]["path"] = json!("relative")
    }));
    assert!(e.contains("pod.hostPaths[0].path"), "{e}");
    let e = error_text(with(|v| {
        v["exec"]["network"]["metadataHosts"][0] = json!("not a host!")
    }));
    assert!(e.contains("exec.network.metadataHosts[0]"), "{e}");
    let e = error_text(Policy::from_yaml("a: [unclosed"));
    assert!(e.contains("not valid YAML"), "{e}");
}

#[test]
fn audit_mode_never_denies_but_says_it_would() {
    let p = with(|v| v["mode"] = json!("audit")).unwrap();
    let d = exec(&p, &["nmap", "10.0.0.1"], false);
    assert_eq!(d.action, Action::Annotate);
    assert!(d.would_deny);
    let d = exec(policy(), &["nmap", "10.0.0.1"], false);
    assert_eq!(d.action, Action::Deny);
    assert!(!d.would_deny);
}

#[test]
fn off_mode_allows_without_judging() {
    let p = with(|v| v["mode"] = json!("off")).unwrap();
    let d = exec(&p, &["nmap", "10.0.0.1"], false);
    assert_eq!(d.action, Action::Allow);
    assert!(d.findings.is_empty());
}

#[test]
fn rules_can_be_disabled_reweighted_or_forced() {
    let p = with(|v| v["rules"]["exec-network-scan"]["enabled"] = json!(false)).unwrap();
    assert_eq!(exec(&p, &["nmap", "10.0.0.1"], false).action, Action::Allow);
    let p = with(|v| v["rules"]["exec-process-discovery"]["action"] = json!("deny")).unwrap();
    assert_eq!(exec(&p, &["ps"], false).action, Action::Deny);
    let p = with(|v| v["rules"]["exec-port-probe"]["action"] = json!("annotate")).unwrap();
    assert_eq!(
        exec(&p, &["nc", "-z", "db", "5432"], false).action,
        Action::Annotate
    );
    let p = with(|v| v["rules"]["exec-process-discovery"]["score"] = json!(1)).unwrap();
    assert_eq!(exec(&p, &["ps"], false).action, Action::Allow);
}

fn exec_review(namespace: &str, user: &str, groups: &[&str], argv: &[&str]) -> serde_json::Value {
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "u1", "kind": {"group": "", "version": "v1", "kind": "PodExecOptions"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "subResource": "exec", "name": "p", "namespace": namespace, "operation": "CONNECT",
            "userInfo": {"username": user, "groups": groups},
            "object": {"apiVersion": "v1", "kind": "PodExecOptions", "command": argv, "container": "c"}
        }
    })
}

#[test]
fn exemptions_match_exactly_or_by_explicit_glob() {
    let p = with(|v| {
        v["exemptions"] = json!([
            {"name": "system", "namespaces": ["kube-system"]},
            {"name": "security", "namespaces": ["sec-*"], "groups": ["security-team"], "rules": ["exec-network-scan"]},
            {"name": "bot", "users": ["system:serviceaccount:ci:runner"]}
        ])
    })
    .unwrap();
    let scan = ["nmap", "10.0.0.1"];
    let d = judge_value(&p, &exec_review("kube-system", "alice", &[], &scan));
    assert_eq!(d.action, Action::Allow);
    assert_eq!(d.exemption.as_deref(), Some("system"));
    // Never by accidental prefix.
    let d = judge_value(&p, &exec_review("kube-system-x", "alice", &[], &scan));
    assert_eq!(d.action, Action::Deny);
    let d = judge_value(&p, &exec_review("kube", "alice", &[], &scan));
    assert_eq!(d.action, Action::Deny);
    // Both selectors must match; only the named rule is dropped.
    let d = judge_value(
        &p,
        &exec_review("sec-tools", "bob", &["security-team"], &scan),
    );
    assert_eq!(d.action, Action::Allow);
    assert_eq!(d.exempted_rules, vec!["exec-network-scan"]);
    let d = judge_value(&p, &exec_review("sec-tools", "bob", &["developers"], &scan));
    assert_eq!(d.action, Action::Deny);
    let d = judge_value(
        &p,
        &exec_review("sec-tools", "bob", &["security-team"], &["docker", "ps"]),
    );
    assert_eq!(d.action, Action::Deny);
    assert!(
        d.exempted_rules.is_empty(),
        "nothing of the named rule was there to drop"
    );
    let d = judge_value(
        &p,
        &exec_review("ci", "system:serviceaccount:ci:runner", &[], &scan),
    );
    assert_eq!(d.action, Action::Allow);
    let d = judge_value(
        &p,
        &exec_review("ci", "system:serviceaccount:ci:runner2", &[], &scan),
    );
    assert_eq!(d.action, Action::Deny);
}

/// A review of `object` (a Pod or a workload) created in `ns` by `user`.
fn create_review(ns: &str, user: &str, object: serde_json::Value) -> serde_json::Value {
    let (group, kind, resource) = match object["kind"].as_str() {
        Some("Deployment") => ("apps", "Deployment", "deployments"),
        _ => ("", "Pod", "pods"),
    };
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "u-create", "kind": {"group": group, "version": "v1", "kind": kind},
            "resource": {"group": group, "version": "v1", "resource": resource},
            "name": "p", "namespace": ns, "operation": "CREATE",
            "userInfo": {"username": user, "groups": ["system:authenticated"]},
            "object": object,
        }
    })
}

/// A privileged hostPID pod spec running as service account `sa`.
fn escape_spec(sa: &str) -> serde_json::Value {
    json!({"serviceAccountName": sa, "hostPID": true,
           "containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": true}}]})
}

/// Who asks is vouched for by the API server; the service account a pod names is written by
/// whoever creates the pod. The two selectors are separate, and the one of earlier releases,
/// which read the second for pods, no longer loads.
#[test]
fn service_account_exemptions_tell_who_asks_from_what_a_pod_names() {
    let pod = |ns: &str, sa: &str| {
        json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": ns}, "spec": escape_spec(sa)})
    };
    let deployment = |ns: &str, sa: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "namespace": ns},
        "spec": {"selector": {"matchLabels": {"a": "b"}},
                 "template": {"metadata": {"labels": {"a": "b"}}, "spec": escape_spec(sa)}}})
    };
    let scan = ["nmap", "-sS", "10.0.0.0/24"];
    let deployer = "system:serviceaccount:ci:deployer";

    let requester = with(|v| {
        v["exemptions"] =
            json!([{"name": "ci-deployer", "requesterServiceAccounts": ["ci/deployer"]}])
    })
    .unwrap();
    // Naming the exempted account in a pod or a template is no way in.
    for object in [pod("ci", "deployer"), deployment("ci", "deployer")] {
        let d = judge_value(&requester, &create_review("ci", "mallory", object));
        assert_eq!(d.action, Action::Deny, "{d:?}");
        assert!(d.exemptions.is_empty(), "{:?}", d.exemptions);
    }
    // The account itself, asking: exempted, for a pod and for an exec.
    let d = judge_value(
        &requester,
        &create_review("ci", deployer, pod("ci", "builder")),
    );
    assert_eq!(
        (d.action, d.exemption.as_deref()),
        (Action::Allow, Some("ci-deployer"))
    );
    let d = judge_value(&requester, &exec_review("ci", deployer, &[], &scan));
    assert_eq!(
        (d.action, d.exemption.as_deref()),
        (Action::Allow, Some("ci-deployer"))
    );
    let d = judge_value(
        &requester,
        &exec_review("ci", "system:serviceaccount:ci:deployer2", &[], &scan),
    );
    assert_eq!(d.action, Action::Deny);

    // The pod's own account, where the admin asks for exactly that: Pods and templates of that
    // namespace, never an exec by the account, never another namespace.
    let pod_sa = with(|v| {
        v["exemptions"] = json!([{"name": "agent", "podServiceAccounts": ["ci/deployer"]}])
    })
    .unwrap();
    for object in [pod("ci", "deployer"), deployment("ci", "deployer")] {
        let d = judge_value(&pod_sa, &create_review("ci", "mallory", object));
        assert_eq!(d.exemption.as_deref(), Some("agent"), "{d:?}");
    }
    let d = judge_value(
        &pod_sa,
        &create_review("ci2", "mallory", pod("ci2", "deployer")),
    );
    assert_eq!(d.action, Action::Deny);
    let d = judge_value(&pod_sa, &exec_review("ci", deployer, &[], &scan));
    assert_eq!(d.action, Action::Deny);
    // kubectl debug adds the requester's container to the pod: the pod's account exempts nothing.
    let mut debug: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("tests/corpus/ephemeralcontainers-hostpid.json").unwrap(),
    )
    .unwrap();
    debug["request"]["namespace"] = json!("ci");
    debug["request"]["object"]["metadata"]["namespace"] = json!("ci");
    debug["request"]["object"]["spec"]["serviceAccountName"] = json!("deployer");
    let d = judge_value(&pod_sa, &debug);
    assert_eq!(d.action, Action::Deny, "{d:?}");
    assert!(d.exemptions.is_empty());

    // Written for the old meaning: refused, with what changed and how to write it now.
    let e = error_text(with(|v| {
        v["exemptions"] = json!([{"name": "old", "serviceAccounts": ["ci/deployer"]}])
    }));
    assert!(
        e.contains("exemptions[0].serviceAccounts")
            && e.contains("requesterServiceAccounts")
            && e.contains("podServiceAccounts"),
        "{e}"
    );
    assert!(
        !e.contains("needs at least one selector"),
        "one problem, not two: {e}"
    );
    for bad in ["deployer", "ci/", "/deployer", "ci/a/b"] {
        let e = error_text(with(|v| {
            v["exemptions"] = json!([{"name": "x", "podServiceAccounts": [bad]}])
        }));
        assert!(
            e.contains("exemptions[0].podServiceAccounts[0]"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn requester_controlled_fields_do_not_exempt_unless_configured() {
    let hostile = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "kube-system", "namespace": "team-a", "labels": {"reconguard.io/exempt": "true", "namespace": "kube-system"},
                     "annotations": {"reconguard.io/exempt": "true"}},
        "spec": {"hostPID": true, "containers": [{"name": "kube-system", "image": "nginx", "securityContext": {"privileged": true}}]}});
    let p = with(|v| v["exemptions"] = json!([{"name": "system", "namespaces": ["kube-system"]}]))
        .unwrap();
    assert_eq!(judge_value(&p, &hostile).action, Action::Deny);
    // An admin who configured a label exemption gets exactly that.
    let p = with(|v| {
        v["exemptions"] =
            json!([{"name": "labelled", "podLabels": {"reconguard.io/exempt": "true"}}])
    })
    .unwrap();
    assert_eq!(judge_value(&p, &hostile).action, Action::Allow);
}

#[test]
fn image_exemptions_need_every_container_to_match() {
    let p = with(|v| {
        v["exemptions"] =
            json!([{"name": "scanner", "images": ["docker.io/aquasec/kube-hunter:*"]}])
    })
    .unwrap();
    let one = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "namespace": "s"},
        "spec": {"containers": [{"name": "a", "image": "aquasec/kube-hunter:0.6.8"}]}});
    // Matched in normalised form: `aquasec/kube-hunter:0.6.8` is docker.io/aquasec/kube-hunter:0.6.8.
    assert_eq!(judge_value(&p, &one).action, Action::Allow);
    let mut other_registry = one.clone();
    other_registry["spec"]["containers"][0]["image"] =
        json!("evil.example/aquasec/kube-hunter:0.6.8");
    assert_eq!(judge_value(&p, &other_registry).action, Action::Deny);
    let mut two = one.clone();
    two["spec"]["containers"].as_array_mut().unwrap().push(json!({"name": "b", "image": "instrumentisto/nmap", "securityContext": {"privileged": true}}));
    assert_eq!(judge_value(&p, &two).action, Action::Deny);
}

/// The rule contract: a policy that lacks a rule the engine raises by name, or defines one that
/// nothing raises, is refused with the rule's path, so a policy written for another release
/// cannot silently switch detectors off.
#[test]
fn the_rule_contract_is_checked_both_ways() {
    for id in reconguard::detect::RULES_RAISED_BY_NAME {
        let text = error_text(with(|v| {
            v["rules"].as_object_mut().unwrap().remove(*id);
            // Combinations may name it among their parts; drop those so only the contract speaks.
            v["combinations"] = json!([]);
        }));
        assert!(
            text.contains(&format!("rules.{id}")) && text.contains("missing"),
            "{id}: {text}"
        );
    }
    let text = error_text(with(|v| {
        v["rules"]["exec-typo"] =
            json!({"score": 10, "technique": "T1059", "message": "never raised"});
    }));
    assert!(
        text.contains("rules.exec-typo") && text.contains("nothing raises"),
        "{text}"
    );
    // A catalogue entry that names a new rule is what makes it raised.
    let ok = with(|v| {
        v["rules"]["exec-custom"] =
            json!({"score": 30, "technique": "T1059", "message": "a site-specific tool"});
        v["exec"]["programs"]
            .as_array_mut()
            .unwrap()
            .push(json!({"rule": "exec-custom", "names": ["site-tool"]}));
    });
    assert!(ok.is_ok(), "{:?}", ok.err().map(|e| e.to_string()));
}

/// `RULES_RAISED_BY_NAME` is exactly the set of rule ids written as literals in the engine's
/// sources: a detector that starts raising a new rule by name must list it.
#[test]
fn rules_raised_by_name_match_the_sources() {
    let policy = policy();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = std::collections::BTreeSet::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("policy") {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_some_and(|e| e == "rs") {
                let mut text = std::fs::read_to_string(&path).unwrap();
                // The list itself is not a use.
                if let Some(start) = text.find("pub const RULES_RAISED_BY_NAME") {
                    let end = start + text[start..].find("];").unwrap();
                    text.replace_range(start..end, "");
                }
                for literal in text.split('"').skip(1).step_by(2) {
                    if policy.rules.contains_key(literal) {
                        found.insert(literal.to_string());
                    }
                }
            }
        }
    }
    let listed: std::collections::BTreeSet<String> = reconguard::detect::RULES_RAISED_BY_NAME
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(found, listed);
}

/// `origins` scores a rule by where its command comes from: checked on load, applied only to
/// the origins it names, and an admin's entry can raise a score as well as lower it.
#[test]
fn origin_scores_are_checked_and_apply_only_where_named() {
    let e =
        error_text(with(
            |v| {
                v["origins"] =
                    json!([{"id": "x", "origins": ["probe"], "scores": {"exec-nope": 0}}])
            },
        ));
    assert!(e.contains("origins[0].scores.exec-nope"), "{e}");
    let e = error_text(with(
        |v| {
            v["origins"] =
                json!([{"id": "x", "origins": [], "scores": {"exec-process-discovery": 0}}])
        },
    ));
    assert!(e.contains("origins[0].origins"), "{e}");
    let e = error_text(with(|v| {
        v["origins"] = json!([{"id": "x", "origins": ["sidecar"], "scores": {}}])
    }));
    assert!(e.contains("sidecar"), "{e}");

    let probe = |argv: serde_json::Value| {
        json!({"containers": [{"name": "c", "image": "registry.example/app:1.0",
            "readinessProbe": {"exec": {"command": argv}}}]})
    };
    let default = policy();
    assert_eq!(
        pod(default, probe(json!(["pgrep", "nginx"]))).action,
        Action::Allow
    );
    assert_eq!(
        exec(default, &["pgrep", "nginx"], false).action,
        Action::Annotate
    );

    // Without the default's entries, a probe's discovery annotates like an exec.
    let p = with(|v| v["origins"] = json!([])).unwrap();
    assert_eq!(
        pod(&p, probe(json!(["pgrep", "nginx"]))).action,
        Action::Annotate
    );
    // An admin may score a rule up in one origin only.
    let p = with(|v| {
        v["origins"] = json!([{"id": "strict-probes", "origins": ["probe"], "scores": {"exec-process-discovery": 80}}])
    })
    .unwrap();
    let d = pod(&p, probe(json!(["pgrep", "nginx"])));
    assert_eq!(d.action, Action::Deny, "{:?}", d.findings);
    assert_eq!(d.score, 80);
    assert_eq!(
        exec(&p, &["pgrep", "nginx"], false).action,
        Action::Annotate
    );
}

/// A matcher that cannot be built is a problem at load, with its path; never a set that matches
/// nothing while the policy looks valid. 150 000 `?` make an automaton past globset's NFA limit.
#[test]
fn matchers_that_cannot_be_built_are_policy_problems() {
    let huge = format!("/etc/{}", "?".repeat(150_000));
    let text = error_text(with(|v| {
        v["exec"]["paths"][0]["patterns"]
            .as_array_mut()
            .unwrap()
            .push(json!(huge));
    }));
    assert!(
        text.contains("exec.paths") && text.contains("cannot be compiled together"),
        "{}",
        &text[..text.len().min(400)]
    );
    let text = error_text(with(|v| {
        v["connect"]["proxyPaths"][0]["patterns"]
            .as_array_mut()
            .unwrap()
            .push(json!(huge.replacen("/etc", "/api", 1)));
    }));
    assert!(
        text.contains("connect.proxyPaths") && text.contains("cannot be compiled together"),
        "{}",
        &text[..text.len().min(400)]
    );
}

/// The built-in default is part of the binary: it parses, merges and compiles without a warning.
#[test]
fn the_embedded_default_loads_without_problems_or_warnings() {
    let layer = reconguard::policy::load::default_layer().expect("the default parses");
    assert!(layer.value.is_object());
    let policy = Policy::from_layers(Vec::new()).expect("the default compiles");
    assert!(policy.warnings.is_empty(), "{:?}", policy.warnings);
    assert_eq!(policy.layers, ["built-in default"]);
}

/// `action: annotate` keeps a rule from ever denying: its score is reported but never counts
/// toward the deny threshold, alone or summed; other findings still deny as they would.
#[test]
fn a_rule_forced_to_annotate_never_denies_but_others_still_do() {
    let scan = ["nmap", "-sS", "10.0.0.0/24"];
    let before = exec(&Policy::embedded_default(), &scan, false);
    assert_eq!(before.action, Action::Deny, "{:?}", rules(&before));
    let p = with(|v| v["rules"]["exec-network-scan"]["action"] = json!("annotate")).unwrap();
    let d = exec(&p, &scan, false);
    assert_eq!(d.action, Action::Annotate, "{:?}", rules(&d));
    assert_eq!(d.score, before.score, "the score is still reported");
    // Summed with an annotating finding it still does not deny ...
    let d = exec(&p, &["sh", "-c", "ps aux; nmap -sS 10.0.0.0/24"], false);
    assert_eq!(d.action, Action::Annotate, "{:?}", rules(&d));
    // ... and a finding that denies on its own still denies.
    let d = exec(
        &p,
        &[
            "sh",
            "-c",
            "nmap 10.0.0.0/24; docker -H unix:///host/run/docker.sock ps",
        ],
        false,
    );
    assert_eq!(d.action, Action::Deny, "{:?}", rules(&d));
    assert!(rules(&d).contains(&"exec-network-scan".to_string()));
}

/// Every matching exemption is recorded, the first whole-request one decides, and the ones after
/// it are neither skipped nor credited with the allow.
#[test]
fn every_matching_exemption_is_recorded_and_the_first_whole_request_one_decides() {
    let p = with(|v| {
        v["exemptions"] = json!([
            {"name": "rule-only", "namespaces": ["ops"], "rules": ["exec-process-discovery"]},
            {"name": "first-whole", "namespaces": ["ops"]},
            {"name": "second-whole", "users": ["alice"]},
            {"name": "rule-after", "users": ["alice"], "rules": ["exec-network-scan"]}
        ])
    })
    .unwrap();
    // `id` is exempted by no rule-specific entry: the whole-request one has something to allow.
    let d = judge_value(
        &p,
        &exec_review("ops", "alice", &[], &["sh", "-c", "ps; nmap 10.0.0.1; id"]),
    );
    assert_eq!(d.action, Action::Allow);
    assert_eq!(d.exemption.as_deref(), Some("first-whole"));
    let hits: Vec<(&str, &str)> = d
        .exemptions
        .iter()
        .map(|h| (h.name.as_str(), h.effect.as_str()))
        .collect();
    assert_eq!(
        hits,
        [
            ("rule-only", "dropped"),
            ("first-whole", "allowed"),
            ("second-whole", "none"),
            ("rule-after", "dropped"),
        ]
    );
}
