//! The exec analysis against a ground truth: generated scripts (`oracle::generate`) are run by
//! real bash, dash and busybox sh in a sandbox where every program records its argv
//! (`oracle::sandbox`), and the same scripts are judged by reconguard as `kubectl exec POD --
//! SHELL -c SCRIPT`.
//!
//! * Soundness: every catalogued program a real shell ran (directly, or through a real runner
//!   such as `env` or `xargs`, or named in the argv of a catalogued runner that is a stub, such
//!   as `vim -c ':!...'`) must be reported with its rule.
//! * Precision: a script built to carry the name as data only (echo, comments, quoted strings,
//!   here-documents fed to cat...) and that indeed ran no such program must not be reported
//!   with that rule.
//!
//! Every construct class must be found every time a real shell runs it (soundness 100%), and
//! precision must be at least 99% per shell.
//!
//! `RECONGUARD_ORACLE_SCRIPTS` (default 5000) and `RECONGUARD_ORACLE_SEED` set the run;
//! `scripts/shell-oracle` runs the long one. Misses are written beside the sandbox
//! (`target/tmp/shell-oracle/misses.txt`) with the script and what the shell ran.

use crate::common;
use crate::oracle;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use oracle::generate::{Case, Generator, Intent, PROGRAMS};
use oracle::sandbox::{Record, Sandbox, Shell};
use reconguard::policy::Policy;
use serde_json::json;

/// Catalogued runners that are stubs in the sandbox: what they would run is in their argv.
const STUB_RUNNERS: [&str; 8] = [
    "parallel", "watch", "vim", "script", "tmux", "gdb", "su", "python3",
];

#[derive(Default, Clone, Copy)]
struct Tally {
    ran: usize,
    found: usize,
    data: usize,
    flagged: usize,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.ran += other.ran;
        self.found += other.found;
        self.data += other.data;
        self.flagged += other.flagged;
    }
    fn soundness(&self) -> f64 {
        if self.ran == 0 {
            1.0
        } else {
            self.found as f64 / self.ran as f64
        }
    }
    fn precision(&self) -> f64 {
        if self.data == 0 {
            1.0
        } else {
            1.0 - self.flagged as f64 / self.data as f64
        }
    }
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether the shell ran `program`, directly or by a runner the sandbox only records. A record
/// is the path the program was executed by, then its argv.
fn ran(records: &[Record], program: &str) -> bool {
    records.iter().any(|r| {
        let executed = r.first().map(|a| basename(a)).unwrap_or("");
        executed == program
            || (STUB_RUNNERS.contains(&executed)
                && r.iter().skip(2).any(|a| {
                    a.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                        .any(|w| w == program)
                }))
    })
}

fn reported(policy: &Policy, shell: Shell, case: &Case) -> bool {
    let exec = json!({"apiVersion": "v1", "kind": "PodExecOptions",
                      "command": shell.argv(&case.script), "container": "app"});
    let subjects = reconguard::subject::from_manifest(&exec).expect("an exec classifies");
    let decision = reconguard::evaluate(policy, &subjects[0]);
    decision
        .findings
        .iter()
        .any(|f| f.rule == case.program.rule)
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn generated_scripts_are_judged_by_what_real_shells_run() {
    let count = env_number("RECONGUARD_ORACLE_SCRIPTS", 5000) as usize;
    let seed = env_number("RECONGUARD_ORACLE_SEED", 20_261_206);
    let mut generator = Generator::new(seed);
    let cases: Vec<Case> = (0..count).map(|_| generator.case()).collect();

    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("shell-oracle");
    let mut extra: BTreeSet<String> = PROGRAMS.iter().map(|p| p.name.to_string()).collect();
    extra.extend(STUB_RUNNERS.iter().map(|s| s.to_string()));
    extra.insert("logger".into());
    let sandbox = Sandbox::prepare(&dir, &extra).expect("the sandbox is laid out");
    let jobs: Vec<(Shell, String)> = cases
        .iter()
        .flat_map(|c| Shell::ALL.iter().map(move |s| (*s, c.script.clone())))
        .collect();
    let records = sandbox.run(&jobs, 2).expect("the sandbox runs");

    let policy = common::policy();
    let mut per_shell: BTreeMap<Shell, Tally> = BTreeMap::new();
    let mut per_class: BTreeMap<(String, Shell), Tally> = BTreeMap::new();
    let mut misses = String::new();
    let mut strays = 0usize;
    for (i, case) in cases.iter().enumerate() {
        for (j, shell) in Shell::ALL.iter().enumerate() {
            let recs = &records[i * Shell::ALL.len() + j];
            let did_run = ran(recs, case.program.name);
            let mut t = Tally::default();
            match (case.intent, did_run) {
                (_, true) => {
                    t.ran = 1;
                    t.found = reported(policy, *shell, case) as usize;
                    if t.found == 0 {
                        let _ = writeln!(
                            misses,
                            "MISS {} seed {seed} case {i} {:?}\n{}\n-- ran: {:?}\n",
                            shell.name(),
                            case.classes,
                            case.script,
                            recs
                        );
                    }
                    if case.intent == Intent::Data {
                        strays += 1;
                    }
                }
                (Intent::Data, false) => {
                    t.data = 1;
                    t.flagged = reported(policy, *shell, case) as usize;
                    if t.flagged == 1 {
                        let _ = writeln!(
                            misses,
                            "FALSE {} seed {seed} case {i} {:?}\n{}\n",
                            shell.name(),
                            case.classes,
                            case.script
                        );
                    }
                }
                (Intent::Runs, false) => {}
            }
            per_shell.entry(*shell).or_default().add(t);
            for class in &case.classes {
                per_class.entry((class.clone(), *shell)).or_default().add(t);
            }
        }
    }
    let _ = std::fs::write(dir.join("misses.txt"), &misses);

    let mut report = format!("shell oracle: {count} scripts, seed {seed}\n");
    for (shell, t) in &per_shell {
        let _ = writeln!(
            report,
            "{:<8} ran {:>5}, found {:>5} (soundness {:.2}%); data {:>4}, reported {:>3} (precision {:.2}%)",
            shell.name(),
            t.ran,
            t.found,
            100.0 * t.soundness(),
            t.data,
            t.flagged,
            100.0 * t.precision()
        );
    }
    let mut failing = Vec::new();
    let classes: BTreeSet<&String> = per_class.keys().map(|(c, _)| c).collect();
    for class in classes {
        let row: Vec<String> = Shell::ALL
            .iter()
            .map(|s| {
                let t = per_class
                    .get(&(class.clone(), *s))
                    .copied()
                    .unwrap_or_default();
                if t.ran > 0 && t.found < t.ran {
                    failing.push(format!("{class} ({})", s.name()));
                }
                if t.ran + t.data == 0 {
                    "      -      ".to_string()
                } else if t.data > 0 {
                    format!("{:>5.1}% p{:>3}", 100.0 * t.precision(), t.data)
                } else {
                    format!("{:>5.1}% of{:>3}", 100.0 * t.soundness(), t.ran)
                }
            })
            .collect();
        let _ = writeln!(report, "  {class:<40} {}", row.join("  "));
    }
    println!("{report}");
    let _ = std::fs::write(dir.join("report.txt"), &report);
    assert_eq!(
        strays, 0,
        "decoys that a real shell ran: a generator bug\n{misses}"
    );
    for (shell, t) in &per_shell {
        assert!(
            t.ran > count / 4,
            "{}: too few scripts ran the program",
            shell.name()
        );
        assert!(
            t.precision() >= 0.99,
            "{}: precision {:.2}%",
            shell.name(),
            100.0 * t.precision()
        );
    }
    assert!(
        failing.is_empty(),
        "classes with misses: {failing:?}\n{report}\nsee {}",
        dir.join("misses.txt").display()
    );
}
