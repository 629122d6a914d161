//! The decision log: one JSON line per annotate or deny decision (or per decision, when asked),
//! with what an investigator needs: who, where, what ran, what was decided and why.

use std::io::Write;
use std::sync::Mutex;

use kube::core::admission::AdmissionRequest;
use kube::core::DynamicObject;
use serde::Serialize;

use crate::decision::{Decision, Finding};
use crate::subject::{Subject, SubjectBody};

#[derive(Serialize)]
struct Entry<'a> {
    time: String,
    uid: &'a str,
    user: Option<&'a str>,
    groups: &'a [String],
    namespace: Option<&'a str>,
    pod: Option<&'a str>,
    kind: &'a str,
    operation: Option<&'a str>,
    resource: &'a str,
    subresource: Option<&'a str>,
    container: Option<&'a str>,
    argv: Option<&'a [String]>,
    stdin: Option<bool>,
    tty: Option<bool>,
    dry_run: bool,
    decision: &'a str,
    score: u32,
    would_deny: bool,
    exemption: Option<&'a str>,
    findings: &'a [Finding],
}

pub struct DecisionLog {
    out: Mutex<Box<dyn Write + Send>>,
    all: bool,
}

impl DecisionLog {
    pub fn new(out: Box<dyn Write + Send>, all: bool) -> Self {
        DecisionLog {
            out: Mutex::new(out),
            all,
        }
    }

    pub fn record(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        subject: &Subject,
        decision: &Decision,
    ) {
        if !self.all && decision.action == crate::decision::Action::Allow && !decision.would_deny {
            return;
        }
        let (container, argv, stdin, tty) = match &subject.body {
            SubjectBody::Exec(e) => (
                Some(e.container.as_str()),
                Some(e.command.as_slice()),
                Some(e.stdin),
                Some(e.tty),
            ),
            SubjectBody::Attach(a) => {
                (Some(a.container.as_str()), None, Some(a.stdin), Some(a.tty))
            }
            _ => (None, None, None, None),
        };
        let time = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let entry = Entry {
            time,
            uid: &req.uid,
            user: req.user_info.username.as_deref(),
            groups: req.user_info.groups.as_deref().unwrap_or(&[]),
            namespace: req.namespace.as_deref(),
            pod: subject.name.as_deref(),
            kind: &subject.kind,
            operation: subject.operation.as_deref(),
            resource: &req.resource.resource,
            subresource: subject.subresource.as_deref(),
            container,
            argv,
            stdin,
            tty,
            dry_run: req.dry_run,
            decision: decision.action.as_str(),
            score: decision.score,
            would_deny: decision.would_deny,
            exemption: decision.exemption.as_deref(),
            findings: &decision.findings,
        };
        let Ok(mut line) = serde_json::to_vec(&entry) else {
            return;
        };
        line.push(b'\n');
        if let Ok(mut out) = self.out.lock() {
            if let Err(e) = out.write_all(&line).and_then(|_| out.flush()) {
                tracing::error!(error = %e, "cannot write the decision log");
            }
        }
    }
}
