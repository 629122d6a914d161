//! Commands operators really run (tests/benign/commands.txt): none is denied, a command in an
//! `# allow` section raises nothing, and one in an `# annotate RULES: why` section raises only
//! the rules its section names, each with the reason written next to it.

use crate::common;

use common::*;
use reconguard::decision::Action;

struct Section {
    header: String,
    /// None: allow, nothing may fire. Some: the rules that may fire, at most annotate.
    rules: Option<Vec<String>>,
    commands: Vec<String>,
}

fn sections() -> Vec<Section> {
    let text = include_str!("../benign/commands.txt");
    let mut out: Vec<Section> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix("# allow:") {
            out.push(Section {
                header: rest.trim().to_string(),
                rules: None,
                commands: Vec::new(),
            });
        } else if let Some(rest) = line.strip_prefix("# annotate ") {
            let (rules, why) = rest.split_once(':').expect("`# annotate RULES: why`");
            assert!(
                why.trim().len() > 20,
                "an annotation needs its reason: {line}"
            );
            out.push(Section {
                header: rest.to_string(),
                rules: Some(rules.split(',').map(|r| r.trim().to_string()).collect()),
                commands: Vec::new(),
            });
        } else if line.starts_with('#') || line.is_empty() {
            continue;
        } else {
            out.last_mut()
                .expect("a command before the first section")
                .commands
                .push(line.to_string());
        }
    }
    out
}

#[test]
fn operators_commands_are_never_denied_and_every_annotation_is_justified() {
    let policy = policy();
    let sections = sections();
    let total: usize = sections.iter().map(|s| s.commands.len()).sum();
    assert!(total >= 150, "the benign set has {total} commands");
    let mut failures = Vec::new();
    for section in &sections {
        for command in &section.commands {
            let d = exec(policy, &["sh", "-c", command], false);
            let fired = rules(&d);
            let ok = match &section.rules {
                None => d.action == Action::Allow && fired.is_empty(),
                Some(allowed) => {
                    d.action <= Action::Annotate && fired.iter().all(|r| allowed.contains(r))
                }
            };
            if !ok {
                failures.push(format!(
                    "[{}] {command:?}: {:?} {fired:?}",
                    section.header, d.action
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
