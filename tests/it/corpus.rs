//! The corpus: manifests and AdmissionReviews shaped as the API server sends them, with the
//! decisions and rules we expect (tests/corpus/EXPECTED).

use crate::common;
use std::path::Path;

use reconguard::cli::evaluate::evaluate_text;

#[test]
fn corpus_decisions_match_expectations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let expected_text = std::fs::read_to_string(dir.join("EXPECTED")).unwrap();
    let expected: Vec<&str> = expected_text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("json" | "yaml")
            )
        })
        .collect();
    files.sort();
    assert!(files.len() >= 15, "corpus too small: {}", files.len());
    let policy = common::policy();
    let mut got = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(file).unwrap();
        for (label, _subject, decision) in evaluate_text(policy, name, &text).unwrap() {
            let mut rules: Vec<&str> = decision.rules();
            rules.sort();
            rules.dedup();
            got.push(
                format!("{label} {} {}", decision.action.as_str(), rules.join(" "))
                    .trim_end()
                    .to_string(),
            );
        }
    }
    let expected: Vec<String> = expected.iter().map(|l| l.trim_end().to_string()).collect();
    assert_eq!(got, expected);
}

#[test]
fn review_fields_are_carried_into_the_subject() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let text = std::fs::read_to_string(dir.join("exec-netstat.json")).unwrap();
    let policy = common::policy();
    let results = evaluate_text(policy, "exec-netstat.json", &text).unwrap();
    let (_, subject, _) = &results[0];
    assert_eq!(
        subject.operation,
        Some(kube::core::admission::Operation::Connect)
    );
    assert_eq!(subject.subresource.as_deref(), Some("exec"));
    assert_eq!(subject.namespace.as_deref(), Some("shop"));
    assert_eq!(subject.uid.as_deref(), Some("uid-exec-netstat"));
    assert_eq!(
        subject.requester.as_ref().unwrap().username,
        "dev@example.org"
    );
}
