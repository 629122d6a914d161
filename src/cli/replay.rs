//! `reconguard replay`: the API server's audit log judged with the current policy, request by
//! request, through the same engine as `serve` ([`crate::audit`] rebuilds each request's
//! AdmissionReview). Correlation runs on the log's own clock. It streams: one event in memory at
//! a time, and summary tables with a bounded number of rows.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::evaluate::Report;
use super::output::{emit, exit_code, load_policy, Format};
use super::suggest::Suggestions;
use crate::audit::{self, Event, Skip};
use crate::decision::{Action, Decision};
use crate::engine::Engine;
use crate::policy::Policy;
use crate::subject::{self, Subject, SubjectBody};

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Policy layer (file or directory); repeat for more. None: the built-in default.
    #[arg(long)]
    policy: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Print every judged request, not only those annotated or denied.
    #[arg(long)]
    all: bool,
    /// Write a policy layer exempting exactly what was denied, one entry per identity and
    /// namespace, for review (see `policy diff`).
    #[arg(long, value_name = "FILE")]
    suggest_layer: Option<PathBuf>,
    /// Audit logs: `audit.k8s.io/v1` Events as JSON lines (the log backend) or EventLists (the
    /// webhook backend), plain or gzip; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<String>,
}

/// Requests whose review was judged, by `auditID`, so that their other stages are not judged
/// again; a request's stages are logged close together.
const RECENT_REQUESTS: usize = 1 << 16;

/// Rows kept per summary table; further keys are counted together as others.
const MAX_ROWS: usize = 10_000;

/// How often, and when, one key was seen.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Seen {
    pub count: u64,
    pub first: String,
    pub last: String,
}

impl Seen {
    /// One more sighting at `time` (RFC 3339, so text order is time order; empty: unknown).
    pub fn add(&mut self, time: &str) {
        self.count += 1;
        if self.first.is_empty() || (!time.is_empty() && time < self.first.as_str()) {
            self.first = time.to_string();
        }
        if time > self.last.as_str() {
            self.last = time.to_string();
        }
    }
}

/// Counts per key, at most [`MAX_ROWS`] keys.
#[derive(Debug, Default, Serialize)]
pub struct Table {
    pub rows: BTreeMap<String, Seen>,
    #[serde(skip_serializing_if = "is_zero")]
    pub others: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Table {
    fn add(&mut self, key: &str, time: &str) {
        if let Some(seen) = self.rows.get_mut(key) {
            seen.add(time);
        } else if self.rows.len() < MAX_ROWS {
            self.rows.entry(key.to_string()).or_default().add(time);
        } else {
            self.others += 1;
        }
    }
}

/// What one outcome (denied, annotated) was seen for.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    pub requests: u64,
    /// Of these, refused by the API server anyway (a 4xx or 5xx in the log).
    pub refused_by_api_server: u64,
    pub rules: Table,
    pub namespaces: Table,
    pub identities: Table,
}

impl Outcome {
    fn add(&mut self, event: &Event, subject: &Subject, decision: &Decision, time: &str) {
        self.requests += 1;
        if event.refused() {
            self.refused_by_api_server += 1;
        }
        for rule in decision.rules() {
            self.rules.add(rule, time);
        }
        self.namespaces
            .add(subject.namespace.as_deref().unwrap_or("(cluster)"), time);
        self.identities.add(event.username(), time);
    }
}

/// The run's totals; printed at the end, the last line in JSON.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub events: u64,
    pub judged: u64,
    pub allowed: u64,
    /// Denied, or in audit mode would have been.
    pub denied: Outcome,
    pub annotated: Outcome,
    /// Requests a webhook sees that the policy does not judge (a ConfigMap, an unchanged pod).
    pub not_judged: u64,
    /// Requests the log cannot replay, by reason (see the audit policy in the README).
    pub unjudgeable: BTreeMap<&'static str, u64>,
    /// Reads, deletes, non-resource URLs and the earlier stages of judged requests.
    pub not_admitted: u64,
    /// Lines or documents that are not audit events.
    pub unreadable: u64,
}

impl Summary {
    fn text(&self) -> String {
        let mut out = format!(
            "{} events: {} requests judged ({} denied, {} annotated, {} allowed), {} not judged by the policy, {} not admission requests",
            self.events,
            self.judged,
            self.denied.requests,
            self.annotated.requests,
            self.allowed,
            self.not_judged,
            self.not_admitted
        );
        if !self.unjudgeable.is_empty() {
            let reasons: Vec<String> = self
                .unjudgeable
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            out.push_str(&format!("\nunjudgeable: {}", reasons.join(", ")));
        }
        if self.unreadable > 0 {
            out.push_str(&format!("\nunreadable: {}", self.unreadable));
        }
        for (label, outcome) in [("denied", &self.denied), ("annotated", &self.annotated)] {
            if outcome.requests == 0 {
                continue;
            }
            out.push_str(&format!(
                "\n{label}: {} requests ({} refused by the API server anyway)",
                outcome.requests, outcome.refused_by_api_server
            ));
            for (what, table) in [
                ("rule", &outcome.rules),
                ("namespace", &outcome.namespaces),
                ("identity", &outcome.identities),
            ] {
                let mut rows: Vec<(&String, &Seen)> = table.rows.iter().collect();
                rows.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
                for (key, seen) in rows {
                    out.push_str(&format!(
                        "\n  {what:<9} {key:<40} {:>7}  {} .. {}",
                        seen.count, seen.first, seen.last
                    ));
                }
                if table.others > 0 {
                    out.push_str(&format!(
                        "\n  {what:<9} {:<40} {:>7}",
                        "(others)", table.others
                    ));
                }
            }
        }
        out
    }
}

/// One line of `--format json`: the evaluate report plus where in the log it came from.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "auditID")]
    audit_id: &'a str,
    time: &'a str,
    user: &'a str,
    #[serde(rename = "apiServerStatus", skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(flatten)]
    report: Report<'a>,
}

/// The log's clock as the engine's: the first event's time is now, later ones are as far
/// ahead as the log says (correlation windows then span what they span in the cluster). An
/// event without a readable time happens when the one before it did.
struct LogClock {
    start: Instant,
    first: Option<OffsetDateTime>,
    last: Instant,
}

impl LogClock {
    fn new() -> Self {
        let now = Instant::now();
        LogClock {
            start: now,
            first: None,
            last: now,
        }
    }

    fn at(&mut self, time: &str) -> Instant {
        let Ok(t) = OffsetDateTime::parse(time, &Rfc3339) else {
            return self.last;
        };
        let first = *self.first.get_or_insert(t);
        let ahead = (t - first).try_into().unwrap_or(Duration::ZERO);
        self.last = self.start + ahead;
        self.last
    }
}

/// One run: the policy, the engine's memory, the clock and the totals.
pub struct Replay<'a> {
    policy: &'a Policy,
    engine: Engine,
    clock: LogClock,
    judged: lru::LruCache<String, ()>,
    pub summary: Summary,
    pub suggestions: Suggestions,
    format: Format,
    all: bool,
    denied_any: bool,
}

impl<'a> Replay<'a> {
    pub fn new(policy: &'a Policy, format: Format, all: bool) -> Self {
        Replay {
            policy,
            engine: Engine::new(),
            clock: LogClock::new(),
            judged: lru::LruCache::new(
                std::num::NonZeroUsize::new(RECENT_REQUESTS).unwrap_or(std::num::NonZeroUsize::MIN),
            ),
            summary: Summary::default(),
            suggestions: Suggestions::default(),
            format,
            all,
            denied_any: false,
        }
    }

    /// Reads one input to its end; lines to print go to `out`.
    pub fn input(
        &mut self,
        source: &str,
        reader: impl BufRead,
        out: &mut dyn FnMut(&str) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut reader = reader;
        let mut progress = Progress::new();
        let mut line = String::new();
        loop {
            line.clear();
            let read = reader
                .read_line(&mut line)
                .with_context(|| format!("reading {source}"))?;
            if read == 0 {
                break;
            }
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(text) {
                Ok(doc) => self.document(source, doc, out)?,
                Err(e) if e.is_eof() => {
                    let mut next = String::new();
                    reader
                        .read_line(&mut next)
                        .with_context(|| format!("reading {source}"))?;
                    // A line cut short in a log of lines (a crash, a rotation): counted, and the
                    // lines go on.
                    if let Ok(doc) = serde_json::from_str::<Value>(next.trim()) {
                        self.summary.unreadable += 1;
                        self.document(source, doc, out)?;
                        continue;
                    }
                    // A document over several lines (a saved EventList, pretty-printed): the
                    // rest of the input is read as a stream of documents, each held whole while
                    // read.
                    line.push_str(&next);
                    let rest = std::io::Cursor::new(std::mem::take(&mut line)).chain(reader);
                    for doc in serde_json::Deserializer::from_reader(rest).into_iter::<Value>() {
                        match doc {
                            Ok(doc) => self.document(source, doc, out)?,
                            Err(e) => {
                                self.summary.unreadable += 1;
                                eprintln!("reconguard: {source}: stopped reading: {e}");
                                break;
                            }
                        }
                        progress.tick(self.summary.events);
                    }
                    break;
                }
                Err(_) => self.summary.unreadable += 1,
            }
            progress.tick(self.summary.events);
        }
        progress.done();
        Ok(())
    }

    fn document(
        &mut self,
        source: &str,
        doc: Value,
        out: &mut dyn FnMut(&str) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        match doc.get("kind").and_then(Value::as_str) {
            Some("EventList") => {
                let Value::Object(mut list) = doc else {
                    return Ok(());
                };
                match list.remove("items") {
                    Some(Value::Array(items)) => {
                        for item in items {
                            self.event(source, item, out)?;
                        }
                    }
                    _ => self.summary.unreadable += 1,
                }
            }
            Some("Event") => self.event(source, doc, out)?,
            _ => self.summary.unreadable += 1,
        }
        Ok(())
    }

    fn event(
        &mut self,
        source: &str,
        value: Value,
        out: &mut dyn FnMut(&str) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let Ok(event) = serde_json::from_value::<Event>(value) else {
            self.summary.unreadable += 1;
            return Ok(());
        };
        self.summary.events += 1;
        let review = match audit::review_of(&event) {
            Ok(_) if !event.audit_id.is_empty() && self.judged.contains(&event.audit_id) => {
                self.skipped(Skip::OtherStage);
                return Ok(());
            }
            Ok(review) => review,
            Err(skip) => {
                self.skipped(skip);
                return Ok(());
            }
        };
        if !event.audit_id.is_empty() {
            self.judged.put(event.audit_id.clone(), ());
        }
        let subject = serde_json::to_vec(&review)
            .ok()
            .and_then(|bytes| crate::admission::read_review(&bytes).ok())
            .and_then(|request| subject::from_request(&request).ok());
        let Some(subject) = subject else {
            // The object in the log is not one the API server would have admitted.
            *self
                .summary
                .unjudgeable
                .entry("invalid-object")
                .or_default() += 1;
            return Ok(());
        };
        let time = event.request_received_timestamp.as_deref().unwrap_or("");
        let now = self.clock.at(time);
        let decision = self.engine.judge(self.policy, &subject, now).decision;
        if matches!(subject.body, SubjectBody::Skipped(_)) {
            self.summary.not_judged += 1;
            return Ok(());
        }
        self.summary.judged += 1;
        let denied = decision.action == Action::Deny || decision.would_deny;
        self.denied_any |= decision.action == Action::Deny;
        if denied {
            self.summary.denied.add(&event, &subject, &decision, time);
            self.suggestions.add(&subject, &decision, time);
        } else if decision.action == Action::Annotate {
            self.summary
                .annotated
                .add(&event, &subject, &decision, time);
        } else {
            self.summary.allowed += 1;
        }
        if self.all || decision.action != Action::Allow || decision.would_deny {
            out(&(self.render(source, &event, &subject, &decision, time)? + "\n"))?;
        }
        Ok(())
    }

    fn skipped(&mut self, skip: Skip) {
        if skip.unjudgeable() {
            *self.summary.unjudgeable.entry(skip.as_str()).or_default() += 1;
        } else {
            self.summary.not_admitted += 1;
        }
    }

    fn render(
        &self,
        source: &str,
        event: &Event,
        subject: &Subject,
        decision: &Decision,
        time: &str,
    ) -> anyhow::Result<String> {
        Ok(match self.format {
            Format::Json => serde_json::to_string(&Line {
                audit_id: &event.audit_id,
                time,
                user: event.username(),
                status: event.status_code(),
                report: Report::new(source, subject, decision),
            })?,
            Format::Text => {
                let refused = match event.status_code() {
                    Some(code) if event.refused() => format!(" (the API server answered {code})"),
                    _ => String::new(),
                };
                let head = format!("{time} {} by {}{refused}", event.audit_id, event.username());
                Report::new(&head, subject, decision).text()
            }
        })
    }

    /// Whether anything was denied (the exit status).
    pub fn denied_any(&self) -> bool {
        self.denied_any
    }

    /// The summary as the format prints it.
    pub fn summary_text(&self) -> anyhow::Result<String> {
        Ok(match self.format {
            Format::Json => serde_json::to_string(&serde_json::json!({"summary": &self.summary}))?,
            Format::Text => self.summary.text(),
        })
    }
}

/// A progress line on standard error, when it is a terminal, at most once a second.
struct Progress {
    on: bool,
    started: Instant,
    last: Instant,
}

impl Progress {
    fn new() -> Self {
        let now = Instant::now();
        Progress {
            on: std::io::stderr().is_terminal(),
            started: now,
            last: now,
        }
    }

    fn tick(&mut self, events: u64) {
        if !self.on || self.last.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.last = Instant::now();
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        eprint!(
            "\r{events} events, {:.0} per second",
            events as f64 / seconds
        );
    }

    fn done(&self) {
        if self.on && self.last != self.started {
            eprint!("\r\x1b[K");
        }
    }
}

/// A file or standard input, gunzipped when it starts with gzip's magic bytes.
fn open(name: &str) -> anyhow::Result<Box<dyn BufRead>> {
    let raw: Box<dyn Read> = if name == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(name).with_context(|| format!("opening {name}"))?)
    };
    let mut reader = BufReader::with_capacity(1 << 16, raw);
    let gzip = reader
        .fill_buf()
        .with_context(|| format!("reading {name}"))?
        .starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(reader),
        ))
    } else {
        Box::new(reader)
    })
}

/// `reconguard replay`: exit 1 when anything is denied.
pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let policy = load_policy(args.policy)?;
    let mut replay = Replay::new(&policy, args.format, args.all);
    for file in &args.files {
        let source = if file == "-" { "stdin" } else { file.as_str() };
        let reader = open(file)?;
        replay.input(source, reader, &mut |line| emit(line))?;
    }
    emit(&(replay.summary_text()? + "\n"))?;
    if let Some(path) = &args.suggest_layer {
        let layer = replay
            .suggestions
            .layer(&format!("reconguard replay of {}", args.files.join(" ")));
        std::fs::write(path, layer).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(exit_code(replay.denied_any()))
}
