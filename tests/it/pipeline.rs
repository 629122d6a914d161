//! One corpus through every front end: `evaluate` (the `Evaluator` the command runs), `scan`
//! (`cluster::scan::judge`, on the objects) and a live `serve` over TLS. The same request gets
//! the same decision, an analysis limit included; a sequence of discovery from one identity
//! escalates in both front ends that see a sequence (`serve` and one `evaluate` run).

use std::path::Path;

use reconguard::cli::evaluate::Evaluator;
use reconguard::decision::{Action, Decision};
use serde_json::Value;

use crate::common;
use common::server::*;

/// What every front end reports: the action, and for anything but a plain allow the score and
/// the rules (a plain allow's response carries neither).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub action: String,
    pub score: u32,
    pub rules: Vec<String>,
}

pub fn of_decision(d: &Decision) -> Outcome {
    if d.action == Action::Allow && d.effective_exemptions().is_empty() {
        return Outcome {
            action: "allow".into(),
            score: 0,
            rules: Vec::new(),
        };
    }
    let mut rules: Vec<String> = d.rules().into_iter().map(String::from).collect();
    rules.sort();
    Outcome {
        action: d.action.as_str().into(),
        score: d.score,
        rules,
    }
}

pub fn of_response(response: &Value) -> Outcome {
    let annotations = &response["auditAnnotations"];
    let Some(action) = annotations["decision"].as_str() else {
        assert_eq!(response["allowed"], true, "{response}");
        return Outcome {
            action: "allow".into(),
            score: 0,
            rules: Vec::new(),
        };
    };
    assert_eq!(response["allowed"], action != "deny", "{response}");
    let mut rules: Vec<String> = annotations["rules"]
        .as_str()
        .unwrap_or("")
        .split(',')
        .filter(|r| !r.is_empty())
        .map(String::from)
        .collect();
    rules.sort();
    Outcome {
        action: action.into(),
        score: annotations["score"]
            .as_str()
            .unwrap_or("0")
            .parse()
            .unwrap(),
        rules,
    }
}

/// The corpus's AdmissionReviews in file-name order, then reviews built here: an exec past the
/// analysis limits (judged on the server's evaluation pool: its body is over the inline size)
/// and a discovery sequence from one identity.
fn reviews() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    let mut out: Vec<(String, Value)> = names
        .into_iter()
        .map(|n| (n.clone(), corpus(&n)))
        .filter(|(_, v)| v["kind"] == "AdmissionReview")
        .collect();
    let exec = |uid: &str, user: &str, argv: &[&str]| {
        common::exec_review(
            uid,
            "shop",
            "web-0",
            common::user_info(user, None),
            argv,
            false,
        )
    };
    let long = "nmap 10.0.0.1; ".repeat(10_000);
    out.push((
        "analysis-limit".into(),
        exec("limit", "dave", &["sh", "-c", &long]),
    ));
    for (i, argv) in common::DISCOVERY.iter().enumerate() {
        out.push((
            format!("sequence-{i}"),
            exec(&format!("seq{i}"), "mallory", argv),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluate_and_serve_decide_every_review_alike() {
    let policy = common::policy();
    let reviews = reviews();
    assert!(reviews.len() >= 20, "{}", reviews.len());

    let evaluator = Evaluator::new(policy);
    let evaluated: Vec<Outcome> = reviews
        .iter()
        .map(|(name, review)| {
            let judged = evaluator.text(name, &review.to_string()).unwrap();
            assert_eq!(judged.len(), 1, "{name}");
            of_decision(&judged[0].2)
        })
        .collect();

    let server = Server::start(|_, _| {}).await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    let mut served = Vec::new();
    for (name, review) in &reviews {
        let (status, _, body) = post(&client, &url, review).await;
        assert_eq!(status, 200, "{name}: {body}");
        served.push(of_response(&body["response"]));
    }
    server.stop().await.unwrap();

    for (((name, _), e), s) in reviews.iter().zip(&evaluated).zip(&served) {
        assert_eq!(e, s, "{name}: evaluate vs serve");
    }
    // The classes the comparison must cover, so it cannot pass on allows alone.
    let by_name = |name: &str| {
        let i = reviews.iter().position(|(n, _)| n == name).unwrap();
        &served[i]
    };
    assert_eq!(by_name("exec-nmap-wrapped.json").action, "deny");
    assert_eq!(by_name("exec-netstat.json").action, "annotate");
    let limit = by_name("analysis-limit");
    assert!(
        limit.action == "deny" && limit.rules.contains(&"exec-analysis-limit".to_string()),
        "{limit:?}"
    );
    let burst = by_name("sequence-3");
    assert!(
        burst.action == "deny" && burst.rules.contains(&"exec-discovery-burst".to_string()),
        "{burst:?}"
    );
    assert_eq!(by_name("sequence-2").action, "annotate");
}

/// `scan` reads running objects as `evaluate` reads them from a file: the pods and workloads of
/// the corpus (the objects of its pod reviews, its List and its workloads file) get one decision.
#[test]
fn scan_and_evaluate_decide_every_object_alike() {
    let policy = common::policy();
    let mut objects: Vec<Value> = reviews()
        .into_iter()
        .filter(|(_, r)| {
            r["request"]["kind"]["kind"] == "Pod" && r["request"]["subResource"].is_null()
        })
        .map(|(_, r)| r["request"]["object"].clone())
        .collect();
    objects.extend(
        corpus("list.json")["items"]
            .as_array()
            .unwrap()
            .iter()
            .cloned(),
    );
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/workloads.yaml"),
    )
    .unwrap();
    for (_, doc) in reconguard::cli::documents::parse_documents("workloads.yaml", &text).unwrap() {
        objects.push(doc);
    }
    assert!(objects.len() >= 6, "{}", objects.len());

    let (scanned, unread) = reconguard::cluster::scan::judge(policy, objects.clone());
    assert!(unread.is_empty(), "{unread:?}");
    let evaluator = Evaluator::new(policy);
    let evaluated: Vec<Outcome> = objects
        .iter()
        .flat_map(|o| evaluator.text("object", &o.to_string()).unwrap())
        .map(|(_, _, d)| of_decision(&d))
        .collect();
    let scanned: Vec<Outcome> = scanned.iter().map(|j| of_decision(&j.decision)).collect();
    assert_eq!(scanned, evaluated);
    assert!(scanned.iter().any(|o| o.action == "deny"), "{scanned:?}");
    assert!(scanned.iter().any(|o| o.action == "allow"), "{scanned:?}");
}
