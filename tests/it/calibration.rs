//! Calibration on public material (tests/calibration/): rendered workloads of well-known
//! projects, and command lines of public attack walkthroughs, each with its origin. The split of
//! the workloads is the Pod Security Standards baseline's (scripts/harvest-workloads), not
//! reconguard's: ordinary applications must never be denied and almost always pass without a
//! finding; workloads that reach the node must at least be annotated. Attack lines must be
//! flagged. Held-out sets stay with whoever measures; these are ours to tune classes on.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use reconguard::cli::documents::parse_documents;
use reconguard::decision::{Action, Decision};
use reconguard::subject;

struct Judged {
    origin: String,
    name: String,
    decision: Decision,
}

/// Every object of every file in one folder, with the `# origin:` line before it.
fn judge_folder(folder: &str) -> Vec<Judged> {
    let policy = policy();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/calibration/workloads")
        .join(folder);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for chunk in text.split("\n---\n").skip(1) {
            let origin = chunk
                .lines()
                .find_map(|l| l.strip_prefix("# origin: "))
                .unwrap_or_else(|| panic!("{}: a document without its origin", file.display()));
            let docs = parse_documents(origin, chunk).unwrap();
            assert_eq!(docs.len(), 1, "{origin}");
            let subjects = subject::from_manifest(&docs[0].1).unwrap();
            assert_eq!(subjects.len(), 1, "{origin}: one workload");
            let name = subjects[0].name.clone().unwrap_or_default();
            out.push(Judged {
                origin: origin.to_string(),
                name,
                decision: reconguard::evaluate(policy, &subjects[0]),
            });
        }
    }
    out
}

fn project(origin: &str) -> &str {
    origin.split('@').next().unwrap_or(origin)
}

fn describe(j: &Judged) -> String {
    let findings: Vec<String> = j
        .decision
        .findings
        .iter()
        .map(|f| format!("{}={} ({})", f.rule, f.score, f.message))
        .collect();
    format!(
        "{} {} -> {:?}: {}",
        j.origin,
        j.name,
        j.decision.action,
        findings.join("; ")
    )
}

#[test]
fn ordinary_applications_are_never_denied_and_almost_always_pass_plainly() {
    let judged = judge_folder("applications");
    let projects: BTreeSet<&str> = judged.iter().map(|j| project(&j.origin)).collect();
    assert!(judged.len() >= 300, "{} workloads", judged.len());
    assert!(projects.len() >= 25, "{} projects", projects.len());
    let denied: Vec<String> = judged
        .iter()
        .filter(|j| j.decision.action == Action::Deny)
        .map(describe)
        .collect();
    assert!(denied.is_empty(), "denied:\n{}", denied.join("\n"));
    let flagged: Vec<String> = judged
        .iter()
        .filter(|j| j.decision.action != Action::Allow || !j.decision.findings.is_empty())
        .map(describe)
        .collect();
    assert!(
        flagged.len() * 100 <= judged.len(),
        "{} of {} are not plain allows (at most 1%):\n{}",
        flagged.len(),
        judged.len(),
        flagged.join("\n")
    );
}

#[test]
fn workloads_that_reach_the_node_are_at_least_annotated() {
    let judged = judge_folder("host-reaching");
    assert!(judged.len() >= 30, "{} workloads", judged.len());
    let silent: Vec<String> = judged
        .iter()
        .filter(|j| j.decision.action == Action::Allow)
        .map(describe)
        .collect();
    assert!(silent.is_empty(), "allowed:\n{}", silent.join("\n"));
}

#[test]
fn public_attack_walkthroughs_are_flagged() {
    let policy = policy();
    let text = include_str!("../calibration/attack-commands.txt");
    let lines: Vec<(&str, &str)> = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once('\t').expect("ORIGIN<TAB>COMMAND"))
        .collect();
    let guides: BTreeSet<&str> = lines.iter().map(|(o, _)| project(o)).collect();
    assert!(lines.len() >= 200, "{} lines", lines.len());
    assert!(guides.len() >= 8, "{} guides", guides.len());
    let passed: Vec<String> = lines
        .iter()
        .filter_map(|(origin, command)| {
            let d = exec(policy, &["sh", "-c", command], false);
            (d.action == Action::Allow).then(|| format!("{origin}\t{command}"))
        })
        .collect();
    let flagged = lines.len() - passed.len();
    assert!(
        flagged * 100 >= lines.len() * 90,
        "{flagged} of {} flagged (at least 90%); passed:\n{}",
        lines.len(),
        passed.join("\n")
    );
}
