//! The engine never panics, whatever argv or JSON it is given, and a command wrapped in any
//! composition of shell constructs, however deep, is never allowed.

use crate::common;
use proptest::prelude::*;
use reconguard::subject;
use serde_json::{json, Value};

fn shellish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z/ ._-]{0,12}",
        "[$'\"`\\\\(){};|&<>*?!#~=a-z0-9 \\n-]{0,40}",
        Just("sh".to_string()),
        Just("-c".to_string()),
        Just("nmap".to_string()),
        Just("/dev/tcp/10.0.0.1/80".to_string()),
        Just("$'\\x6e'".to_string()),
        Just("${IFS}".to_string()),
        Just("bm1hcCAxMC4wLjAuMQ==".to_string()),
        any::<String>(),
    ]
}

/// One layer of shell syntax around a script: every construct the grammar recurses on.
fn layer() -> impl Strategy<Value = (&'static str, &'static str)> {
    prop::sample::select(vec![
        ("if true; then ", "; fi"),
        ("while true; do ", "; done"),
        ("until false; do ", "; done"),
        ("for i in 1 2; do ", "; done"),
        ("select i in 1; do ", "; done"),
        ("case x in x) ", ";; esac"),
        ("{ ", "; }"),
        ("( ", " )"),
        ("f() { ", "; }; f"),
        // `$((` with no space is arithmetic in bash, not a substitution of a subshell.
        ("echo $( ", " )"),
        ("echo \"$( ", " )\""),
        // Backquotes nest only with their inner backquotes escaped: see `backquoted`.
        ("echo `", "`"),
        ("cat <( ", " )"),
        ("! ", ""),
        ("true && ", ""),
        ("false || ", ""),
        ("true | ", ""),
        // eval reads one quoted word: see below.
        ("eval '", "'"),
        ("[ -f x ] && { ", "; }"),
    ])
}

/// Wrappers go right before a program: `timeout 5 { ...; }` would run a program named `{`.
fn wrapper() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "timeout 5 ",
        "env A=1 ",
        "nice -n 5 ",
        "nohup ",
        "command ",
        "exec ",
    ])
}

/// A scan behind up to three wrappers, inside up to `max` random layers, cut to the policy's
/// argument limit.
fn wrapped_scan(max: usize) -> impl Strategy<Value = String> {
    (
        prop::collection::vec(wrapper(), 0..3),
        prop::collection::vec(layer(), 0..max),
    )
        .prop_map(|(wrappers, layers)| {
            let mut script = format!("{}nmap -sS 10.0.0.0/24", wrappers.concat());
            for (open, close) in layers {
                let next = if open.ends_with('`') {
                    // Inside backquotes, `\` and `` ` `` are escaped once more per level.
                    format!(
                        "{open}{}{close}",
                        script.replace('\\', "\\\\").replace('`', "\\`")
                    )
                } else if open.ends_with('\'') {
                    // Inside single quotes, a quote is written '\''.
                    format!("{open}{}{close}", script.replace('\'', "'\\''"))
                } else {
                    format!("{open}{script}{close}")
                };
                if next.len() > 16384 {
                    break;
                }
                script = next;
            }
            script
        })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z/:.-]{0,10}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("kind".to_string()),
                    Just("apiVersion".to_string()),
                    Just("spec".to_string()),
                    Just("containers".to_string()),
                    Just("template".to_string()),
                    Just("request".to_string()),
                    Just("command".to_string()),
                    Just("items".to_string()),
                    "[a-z]{1,6}".prop_map(|s| s)
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_argv_never_panics(argv in prop::collection::vec(shellish(), 0..8), stdin in any::<bool>()) {
        let policy = common::policy();
        let value = json!({"apiVersion": "v1", "kind": "PodExecOptions", "command": argv, "stdin": stdin});
        let subjects = subject::from_manifest(&value).unwrap();
        let d = reconguard::evaluate(policy, &subjects[0]);
        prop_assert!(d.findings.iter().all(|f| f.score == policy.rule(&f.rule).unwrap().score));
    }

    #[test]
    fn arbitrary_json_never_panics(mut value in json_value(), kind in prop_oneof![
        Just("Pod"), Just("Deployment"), Just("CronJob"), Just("List"), Just("AdmissionReview"), Just("PodExecOptions")
    ]) {
        if let Value::Object(map) = &mut value {
            map.insert("kind".into(), json!(kind));
            map.entry("apiVersion").or_insert(json!(if kind == "AdmissionReview" { "admission.k8s.io/v1" } else if kind == "Deployment" { "apps/v1" } else if kind == "CronJob" { "batch/v1" } else { "v1" }));
        }
        let policy = common::policy();
        if let Ok(subjects) = subject::from_manifest(&value) {
            for s in subjects {
                let _ = reconguard::evaluate(policy, &s);
            }
        }
    }

    /// Shallow or deep, balanced or not, the scan inside is found or the analysis limit denies:
    /// never an allow. (A green suite once hid a stack overflow at 500 nested `if`s.)
    #[test]
    fn a_scan_in_any_composition_of_constructs_is_denied(script in prop_oneof![wrapped_scan(8), wrapped_scan(400)]) {
        let policy = common::policy();
        let value = json!({"apiVersion": "v1", "kind": "PodExecOptions", "command": ["sh", "-c", script]});
        let subjects = subject::from_manifest(&value).unwrap();
        let d = reconguard::evaluate(policy, &subjects[0]);
        prop_assert_eq!(d.action, reconguard::decision::Action::Deny, "{:?}", d.findings);
    }
}
