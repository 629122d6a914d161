//! Policy layers as an admin writes them: add, remove and override in lists and maps, errors
//! that name the layer, per-kind modes, `policy show` and exemptions that say what they did.

use crate::common;

use common::*;
use reconguard::cli::evaluate::evaluate_text;
use reconguard::decision::{Action, Decision, ExemptionEffect};
use reconguard::policy::load::parse_layer;
use reconguard::policy::{show, Policy, PolicyFileError};
use serde_json::{json, Value};

const HEADER: &str = "apiVersion: reconguard.io/v1alpha1\nkind: Policy\n";

fn layers(texts: &[&str]) -> Vec<reconguard::policy::Layer> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            parse_layer(
                &format!("{}-layer.yaml", (i + 1) * 10),
                &format!("{HEADER}{t}"),
            )
            .expect("valid YAML")
        })
        .collect()
}

fn layered(texts: &[&str]) -> Policy {
    match Policy::from_layers(layers(texts)) {
        Ok(p) => p,
        Err(e) => panic!("layers rejected: {e}"),
    }
}

fn rejected(texts: &[&str]) -> String {
    match Policy::from_layers(layers(texts)) {
        Ok(_) => panic!("expected the layers to be rejected"),
        Err(e) => e.to_string(),
    }
}

fn corpus_decision(policy: &Policy, file: &str) -> Decision {
    let path = format!("{}/tests/corpus/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let mut results = evaluate_text(policy, file, &text).unwrap();
    assert_eq!(results.len(), 1);
    results.remove(0).2
}

fn has(d: &Decision, rule: &str) -> bool {
    rules(d).iter().any(|r| r == rule)
}

#[test]
fn an_empty_layer_is_the_default() {
    assert_eq!(policy().layers, vec!["built-in default".to_string()]);
    let p = layered(&[""]);
    let d = policy();
    assert_eq!(p.rules.len(), d.rules.len());
    assert_eq!(
        p.document.exec.programs.len(),
        d.document.exec.programs.len()
    );
    assert_eq!(
        p.layers,
        vec!["built-in default".to_string(), "10-layer.yaml".to_string()]
    );
    assert!(p.warnings.is_empty());
}

#[test]
fn list_entries_are_added_by_key_without_restating_the_catalogue() {
    let before = policy();
    assert_eq!(exec(before, &["inxi", "-F"], false).action, Action::Allow);
    assert_eq!(
        exec(before, &["elvish", "-c", "nmap 10.0.0.0/24"], false).action,
        Action::Allow,
        "elvish is not a shell the default knows"
    );
    let p = layered(&[
        "exec:\n  programs:\n    add:\n      - {id: site-inxi, rule: exec-system-info, names: [inxi]}\n  shells:\n    add: [elvish, sh]\n",
    ]);
    assert!(has(&exec(&p, &["inxi", "-F"], false), "exec-system-info"));
    assert_eq!(
        exec(&p, &["elvish", "-c", "nmap 10.0.0.0/24"], false).action,
        Action::Deny
    );
    // Everything else is still there, and adding a value already present is a no-op.
    assert_eq!(
        p.document.exec.programs.len(),
        before.document.exec.programs.len() + 1
    );
    assert_eq!(
        p.document.exec.shells.len(),
        before.document.exec.shells.len() + 1
    );
    assert!(has(
        &exec(&p, &["ps", "aux"], false),
        "exec-process-discovery"
    ));
}

#[test]
fn list_entries_are_removed_and_replaced_by_key() {
    let before = policy();
    assert!(has(&exec(before, &["mount"], false), "exec-system-info"));
    assert!(has(
        &exec(before, &["top"], false),
        "exec-process-discovery"
    ));
    let p = layered(&[
        "exec:\n  programs:\n    remove: [mount-list]\n    add:\n      - {id: ps, rule: exec-process-discovery, names: [ps]}\n",
    ]);
    assert!(!has(&exec(&p, &["mount"], false), "exec-system-info"));
    assert!(!has(&exec(&p, &["top"], false), "exec-process-discovery"));
    assert!(has(&exec(&p, &["ps"], false), "exec-process-discovery"));
    // Replaced in place: the entry keeps its position.
    assert_eq!(p.document.exec.programs[0].id.as_deref(), Some("ps"));
    assert_eq!(p.document.exec.programs[0].names, vec!["ps".to_string()]);

    // Host paths are keyed by path.
    let p = layered(&[
        "pod:\n  hostPaths:\n    remove: [/var/log]\n    add:\n      - {path: /opt/agent/agent.sock, rule: hostpath-runtime-socket}\n",
    ]);
    let mount = |path: &str| {
        json!({"containers": [{"name": "c", "image": "nginx", "volumeMounts": [{"name": "h", "mountPath": "/h"}]}],
               "volumes": [{"name": "h", "hostPath": {"path": path}}]})
    };
    assert!(has(
        &pod(&p, mount("/opt/agent/agent.sock")),
        "hostpath-runtime-socket"
    ));
    assert!(!has(
        &pod(before, mount("/opt/agent/agent.sock")),
        "hostpath-runtime-socket"
    ));
    assert!(p
        .document
        .pod
        .host_paths
        .iter()
        .all(|h| h.path != "/var/log"));
}

#[test]
fn maps_merge_field_by_field_and_null_removes_a_key() {
    let p = layered(&[
        "thresholds: {deny: 60}\nrules:\n  exec-kubectl: {action: deny}\n",
        "pod:\n  capabilities:\n    MAC_OVERRIDE: null\n",
    ]);
    assert_eq!(p.thresholds.deny, 60);
    assert_eq!(p.thresholds.annotate, policy().thresholds.annotate);
    let kubectl = p.rule("exec-kubectl").unwrap();
    assert_eq!(kubectl.score, policy().rule("exec-kubectl").unwrap().score);
    assert_eq!(
        exec(&p, &["kubectl", "version"], false).action,
        Action::Deny
    );

    let caps = |p: &Policy| {
        pod(
            p,
            json!({"containers": [{"name": "c", "image": "nginx", "securityContext": {"capabilities": {"add": ["MAC_OVERRIDE"]}}}]}),
        )
    };
    assert!(has(&caps(policy()), "cap-mac-admin"));
    let d = caps(&p);
    assert!(!has(&d, "cap-mac-admin"), "{:?}", rules(&d));
    assert!(has(&d, "cap-beyond-baseline"), "{:?}", rules(&d));
}

#[test]
fn a_plain_list_replaces_with_a_warning() {
    let p = layered(&["exec:\n  downloaders: [curl]\n"]);
    assert_eq!(p.document.exec.downloaders, vec!["curl".to_string()]);
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    let w = p.warnings[0].to_string();
    assert!(
        w.contains("exec.downloaders") && w.contains("10-layer.yaml") && w.contains("add:"),
        "{w}"
    );
    // A list the layer itself introduced, or one that was empty, is no warning.
    let p = layered(&["exemptions:\n  - {name: ci, namespaces: [ci], rules: [exec-kubectl]}\n"]);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn errors_name_the_layer_and_the_path() {
    let e = rejected(&["", "exec:\n  programs:\n    remove: [no-such-program]\n"]);
    assert!(
        e.contains("20-layer.yaml")
            && e.contains("exec.programs.remove[0]")
            && e.contains("no-such-program"),
        "{e}"
    );
    let e = rejected(&["exec:\n  shells:\n    add: [fish, fish]\n"]);
    assert!(
        e.contains("exec.shells.add[1]") && e.contains("duplicate"),
        "{e}"
    );
    let e = rejected(&["exec:\n  programs:\n    - {id: a, rule: exec-kubectl, names: [x]}\n    - {id: a, rule: exec-kubectl, names: [y]}\n"]);
    assert!(
        e.contains("exec.programs[1]") && e.contains("duplicate"),
        "{e}"
    );
    // A problem in the merged result names the layer that set the value.
    let e = rejected(&[
        "",
        "exec:\n  programs:\n    add:\n      - {id: x, rule: no-such-rule, names: [x]}\n",
    ]);
    assert!(
        e.contains("no-such-rule") && e.contains("set by 20-layer.yaml"),
        "{e}"
    );
    let e = rejected(&["thresholds: {deny: 5}\n"]);
    assert!(
        e.contains("thresholds.deny") && e.contains("set by 10-layer.yaml"),
        "{e}"
    );
    // Removing what raises a rule orphans it: the contract says so, and how to silence a rule.
    let e = rejected(&["exec:\n  programs:\n    remove: [tar]\n"]);
    assert!(
        e.contains("rules.exec-file-upload") && e.contains("enabled: false"),
        "{e}"
    );
    // Not a policy layer at all.
    let layer = parse_layer("cm.yaml", "apiVersion: v1\nkind: ConfigMap\n").unwrap();
    let e = Policy::from_layers(vec![layer]).unwrap_err();
    assert!(matches!(e, PolicyFileError::Invalid { ref path, .. } if path == "cm.yaml"));
    assert!(e.to_string().contains("kind: must be \"Policy\""), "{e}");
}

#[test]
fn base_none_makes_a_layer_the_whole_policy() {
    let full = reconguard::policy::DEFAULT_POLICY_YAML.replace("deny: 70", "deny: 65");
    let layer = parse_layer("full.yaml", &full).unwrap();
    let p = Policy::from_layers(vec![layer]).unwrap();
    assert_eq!(p.layers, vec!["full.yaml".to_string()]);
    assert_eq!(p.thresholds.deny, 65);
    // A partial layer without the default below it is incomplete.
    let e = rejected(&["base: none\nthresholds: {annotate: 1, deny: 2}\n"]);
    assert!(e.contains("missing field"), "{e}");
}

#[test]
fn modes_are_set_per_kind_of_request() {
    let first_day = layered(&["mode: {pods: audit}\n"]);
    let pod = corpus_decision(&first_day, "pod-create-docker-socket.json");
    assert_eq!(pod.action, Action::Annotate);
    assert!(pod.would_deny);
    assert_eq!(
        corpus_decision(&first_day, "exec-reverse-shell.json").action,
        Action::Deny,
        "exec keeps the mode below (enforce)"
    );
    assert_eq!(
        corpus_decision(&first_day, "ephemeralcontainers-hostpid.json").action,
        Action::Deny
    );
    assert_eq!(
        corpus_decision(&first_day, "portforward-etcd.json").action,
        Action::Deny
    );

    let per_kind = layered(&["mode: {default: audit, debug: enforce, tunnels: off}\n"]);
    assert!(corpus_decision(&per_kind, "exec-reverse-shell.json").would_deny);
    assert!(corpus_decision(&per_kind, "pod-create-docker-socket.json").would_deny);
    assert_eq!(
        corpus_decision(&per_kind, "ephemeralcontainers-hostpid.json").action,
        Action::Deny
    );
    let tunnel = corpus_decision(&per_kind, "portforward-etcd.json");
    assert_eq!(tunnel.action, Action::Allow);
    assert!(tunnel.skipped.is_some());

    // One value over a map sets every kind: the emergency switch is total.
    let off = layered(&["mode: {exec: enforce}\n", "mode: audit\n"]);
    for file in [
        "exec-reverse-shell.json",
        "pod-create-docker-socket.json",
        "ephemeralcontainers-hostpid.json",
        "portforward-etcd.json",
    ] {
        let d = corpus_decision(&off, file);
        assert_eq!(d.action, Action::Annotate, "{file}");
        assert!(d.would_deny, "{file}");
    }

    // Unquoted `off` is a boolean to YAML 1.1 readers (Helm); it still means off.
    let d = corpus_decision(&layered(&["mode: off\n"]), "exec-reverse-shell.json");
    assert_eq!(d.action, Action::Allow);
    assert_eq!(d.skipped.as_deref(), Some("policy mode is off"));
    let e = rejected(&["mode: true\n"]);
    assert!(e.contains("mode"), "{e}");

    let e = rejected(&["mode: {pod: audit}\n"]);
    assert!(e.contains("mode") && e.contains("pods"), "{e}");
    let e = rejected(&["mode: loud\n"]);
    assert!(e.contains("mode"), "{e}");
}

/// `policy show` prints YAML that parses back to exactly the merged policy, with each value a
/// layer set marked; the JSON form has the same origins by path.
#[test]
fn show_round_trips_and_names_origins() {
    let texts = [
        "mode: {pods: audit}\nrules:\n  exec-kubectl: {action: deny}\n",
        "exec:\n  programs:\n    add:\n      - {id: site-inxi, rule: exec-system-info, names: [inxi]}\n  shells:\n    add: [\"yes\", \"a b\", \"1e3\"]\nexemptions:\n  add:\n    - {name: scanner, namespaces: [\"sec-*\"], rules: [exec-network-scan]}\n",
    ];
    let merged = reconguard::policy::load::merge_layers(layers(&texts)).unwrap();
    for m in [
        &reconguard::policy::load::merge_layers(Vec::new()).unwrap(),
        &merged,
    ] {
        let text = show::yaml(m);
        let back: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, m.tree.to_value(), "{text}");
    }
    let text = show::yaml(&merged);
    for line in [
        "  pods: audit  # 10-layer.yaml",
        "    action: deny  # 10-layer.yaml",
        "    - \"yes\"  # 20-layer.yaml",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(
        text.contains("    # 20-layer.yaml\n    - id: site-inxi\n"),
        "{text}"
    );
    assert!(
        !text.contains("apiVersion: reconguard.io/v1alpha1  #"),
        "restating is not setting"
    );

    let json = show::json(&merged);
    let origins = json["origins"].as_object().unwrap();
    let programs = policy().document.exec.programs.len();
    assert_eq!(
        origins[&format!("exec.programs[{programs}]")],
        json!("20-layer.yaml")
    );
    assert_eq!(origins["rules.exec-kubectl.action"], json!("10-layer.yaml"));
    assert_eq!(origins["exemptions[0]"], json!("20-layer.yaml"));
    assert!(!origins.contains_key("rules.exec-kubectl.score"));
    assert_eq!(json["layers"][0], json!("built-in default"));
}

#[test]
fn exemptions_say_what_they_did() {
    let p = layered(&[
        "exemptions:\n  add:\n    - {name: scanner-ns, namespaces: [shop], rules: [exec-network-scan]}\n    - {name: idle, namespaces: [shop], rules: [exec-kubectl]}\n    - {name: everything-in-shop, namespaces: [shop]}\n",
    ]);
    // exec-nmap-wrapped.json: namespace shop, exec-network-scan.
    let d = corpus_decision(&p, "exec-nmap-wrapped.json");
    assert_eq!(d.action, Action::Allow);
    let effects: Vec<(&str, ExemptionEffect)> = d
        .exemptions
        .iter()
        .map(|h| (h.name.as_str(), h.effect))
        .collect();
    assert_eq!(
        effects,
        vec![
            ("scanner-ns", ExemptionEffect::Dropped),
            ("idle", ExemptionEffect::None),
            ("everything-in-shop", ExemptionEffect::None),
        ],
        "the whole-request exemption changed nothing once the rule exemption dropped the scan"
    );
    // The pod in the same namespace is allowed by the whole-request exemption.
    let d = corpus_decision(&p, "pod-create-docker-socket.json");
    assert_eq!(d.action, Action::Allow);
    assert_eq!(d.exemption.as_deref(), Some("everything-in-shop"));
    assert_eq!(
        d.exemptions.last().map(|h| h.effect),
        Some(ExemptionEffect::Allowed)
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use reconguard::policy::load::merge_layers;

    fn merged_value(texts: &[String]) -> Result<Value, String> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        merge_layers(layers(&refs))
            .map(|m| m.tree.to_value())
            .map_err(|e| e.to_string())
    }

    /// What `add` and `remove` on a list of strings should do, written plainly.
    fn model(mut list: Vec<String>, edits: &[(Vec<String>, Vec<String>)]) -> Option<Vec<String>> {
        for (remove, add) in edits {
            for key in remove {
                let at = list.iter().position(|v| v == key)?;
                list.remove(at);
            }
            for (i, value) in add.iter().enumerate() {
                if add[..i].contains(value) {
                    return None;
                }
                if !list.contains(value) {
                    list.push(value.clone());
                }
            }
        }
        Some(list)
    }

    fn word() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["curl", "wget", "fetch", "aria2c", "x1", "x2", "x3"])
            .prop_map(str::to_string)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Any sequence of layers editing a list agrees with the model, errors included.
        #[test]
        fn list_edits_agree_with_the_model(
            edits in prop::collection::vec(
                (prop::collection::vec(word(), 0..3), prop::collection::vec(word(), 0..4)),
                1..5,
            )
        ) {
            let texts: Vec<String> = edits
                .iter()
                .map(|(remove, add)| {
                    format!(
                        "exec:\n  downloaders:\n    remove: {}\n    add: {}\n",
                        serde_json::to_string(remove).unwrap(),
                        serde_json::to_string(add).unwrap()
                    )
                })
                .collect();
            let base = policy().document.exec.downloaders.clone();
            let want = model(base, &edits);
            match (merged_value(&texts), want) {
                (Ok(v), Some(list)) => prop_assert_eq!(&v["exec"]["downloaders"], &json!(list)),
                (Err(_), None) => {}
                (got, want) => prop_assert!(false, "merge {:?}, model {:?}", got.map(|v| v["exec"]["downloaders"].clone()), want),
            }
        }

        /// `policy show` writes any string, as a value or as a key, so that it reads back.
        #[test]
        fn show_round_trips_any_string(
            words in prop::collection::btree_set(any::<String>(), 1..6)
        ) {
            let words: Vec<String> = words.into_iter().collect();
            let mut layer = json!({
                "apiVersion": "reconguard.io/v1alpha1",
                "kind": "Policy",
                "exec": {"shells": {"add": words}},
                "pod": {"capabilities": {}},
            });
            for w in &words {
                layer["pod"]["capabilities"][w] = json!(w);
            }
            let merged = merge_layers(vec![reconguard::policy::Layer { name: "p.yaml".into(), value: layer }])
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let text = show::yaml(&merged);
            let back: Value = serde_saphyr::from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(back, merged.tree.to_value());
        }
    }
}
