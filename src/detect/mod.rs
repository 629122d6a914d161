//! Pure detectors: a subject in, signals out. No I/O, no clock, no globals; the policy supplies
//! every list, path and weight. Scoring and the decision happen in `crate::decision`.

pub mod budget;
pub mod catalogue;
pub mod connect;
pub mod context;
pub mod exec;
pub mod kube_api;
pub mod net;
pub mod options;
pub mod paths;
pub mod pod;
pub mod search;
pub mod shell;
pub mod toolkit;

use crate::subject::{Subject, SubjectBody};
use catalogue::Catalogue;

/// Where a command comes from. An exec, an attach and a kubectl debug container are typed by a
/// person now; a container's command, an init container, an exec probe and a lifecycle hook are
/// written by the workload's owner, reviewed with it, and look at the workload itself.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum CommandOrigin {
    Exec,
    Debug,
    Container,
    Init,
    Probe,
    Hook,
}

impl CommandOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandOrigin::Exec => "exec",
            CommandOrigin::Debug => "debug",
            CommandOrigin::Container => "container",
            CommandOrigin::Init => "init",
            CommandOrigin::Probe => "probe",
            CommandOrigin::Hook => "hook",
        }
    }
}

/// The rule raised when an analysis stops at a limit, and by the engine for one that did not
/// complete (a panic, a deadline).
pub const ANALYSIS_LIMIT_RULE: &str = "exec-analysis-limit";

/// Rule ids the detectors (and the server, for evaluations that fail) raise by name; every other
/// rule is named by a catalogue entry of the policy. Loading a policy checks both directions
/// (`policy::compile`), and `tests/it/policy.rs` checks this list against the sources.
pub const RULES_RAISED_BY_NAME: &[&str] = &[
    "allow-privilege-escalation",
    "apparmor-unconfined",
    "exec-analysis-limit",
    "exec-apiserver-access",
    "exec-attach",
    "exec-cloud-metadata",
    "exec-control-plane-access",
    "exec-encoded-payload",
    "exec-interactive-shell",
    "exec-kubelet-access",
    "exec-listener",
    "exec-network-scan",
    "exec-obfuscation",
    "exec-port-probe",
    "exec-remote-script",
    "exec-reverse-shell",
    "exec-tool-transfer",
    "host-ipc",
    "host-network",
    "host-pid",
    "host-port",
    "privileged",
    "proc-mount-unmasked",
    "seccomp-unconfined",
    "selinux-custom",
    "unsafe-sysctl",
    "windows-host-process",
];

/// One observation: which rule it raises and the concrete detail (`runs nmap -sS 10.0.0.0/24`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    pub rule: String,
    pub detail: String,
    pub container: Option<String>,
    /// Where the command that raised it comes from; `None` for what is not a command (a pod's
    /// settings, a tunnel, the request's context).
    pub origin: Option<CommandOrigin>,
}

impl Signal {
    /// A signal about the request as a whole.
    pub fn of_request(rule: &str, detail: String) -> Signal {
        Signal {
            rule: rule.to_string(),
            detail,
            container: None,
            origin: None,
        }
    }
}

/// Collects signals without duplicates.
#[derive(Debug, Default)]
pub struct Signals {
    items: Vec<Signal>,
    container: Option<String>,
    origin: Option<CommandOrigin>,
}

impl Signals {
    pub fn in_container(&mut self, name: Option<&str>) {
        self.container = name.map(str::to_string);
    }

    /// Signals raised from now on come from commands of this origin (`None`: not a command).
    pub fn from_origin(&mut self, origin: Option<CommandOrigin>) {
        self.origin = origin;
    }

    pub fn raise(&mut self, rule: &str, detail: impl Into<String>) {
        let signal = Signal {
            rule: rule.to_string(),
            detail: detail.into(),
            container: self.container.clone(),
            origin: self.origin,
        };
        if !self.items.contains(&signal) {
            self.items.push(signal);
        }
    }

    /// Whether a signal raised so far satisfies `f`.
    pub fn any(&self, f: impl Fn(&Signal) -> bool) -> bool {
        self.items.iter().any(f)
    }

    pub fn into_vec(self) -> Vec<Signal> {
        self.items
    }
}

/// Everything the policy's detectors find in a subject.
pub fn detect(catalogue: &Catalogue, subject: &Subject) -> Vec<Signal> {
    let mut signals = Signals::default();
    let budget = budget::Budget::new(catalogue.exec.limits.max_work);
    match &subject.body {
        SubjectBody::Pod(pod) => pod::detect(catalogue, pod, &budget, &mut signals),
        SubjectBody::Exec(cmd) => {
            signals.from_origin(Some(CommandOrigin::Exec));
            signals.in_container(
                Some(&cmd.container)
                    .filter(|c| !c.is_empty())
                    .map(|s| s.as_str()),
            );
            exec::detect(
                &catalogue.exec,
                &cmd.command,
                cmd.stdin,
                &budget,
                &mut signals,
            );
        }
        SubjectBody::Attach(attach) => {
            signals.in_container(
                Some(&attach.container)
                    .filter(|c| !c.is_empty())
                    .map(|s| s.as_str()),
            );
            if attach.stdin {
                signals.raise("exec-attach", "stdin attached");
            }
        }
        SubjectBody::PortForward(forward) => {
            if let Some(connect) = &catalogue.connect {
                connect::port_forward(connect, forward, &mut signals);
            }
        }
        SubjectBody::Proxy(request) => {
            if let Some(connect) = &catalogue.connect {
                connect::proxy(connect, request, &mut signals);
            }
        }
        SubjectBody::Skipped(_) => {}
    }
    signals.from_origin(None);
    if !subject.context.is_empty() {
        context::detect(catalogue, subject, &mut signals);
    }
    signals.into_vec()
}

/// Shortens a command for a message, keeping it on one line.
/// Reads at most `max + 1` characters, whatever the length of `text`: it is called for every
/// finding, and fuzzing found inputs where a whole 16 KiB argument was copied for each.
/// Bytes of the command lines the shell analyser will read for `subject`: an exec's argv, or a
/// pod's commands, arguments, exec hooks and exec probes. Under the policy's limits the analysis
/// is bounded by them, so the server judges small ones where they arrive.
pub fn script_bytes(subject: &Subject) -> usize {
    match &subject.body {
        SubjectBody::Exec(e) => e.command.iter().map(String::len).sum(),
        SubjectBody::Pod(p) => pod::script_bytes(p),
        _ => 0,
    }
}

pub fn shorten(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n == max {
            out.pop();
            out.push('…');
            return out;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}
