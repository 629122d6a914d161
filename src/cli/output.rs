//! What every command shares: reading inputs and policies, writing results, exit codes.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::ValueEnum;

use crate::policy::files::PolicySources;
use crate::policy::Policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// A file's text, or standard input's for `-`.
pub fn read_input(name: &str) -> anyhow::Result<String> {
    if name == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading stdin")?;
        Ok(text)
    } else {
        std::fs::read_to_string(name).with_context(|| format!("reading {name}"))
    }
}

/// Loads layers over the built-in default, printing their warnings to standard error.
pub fn load_policy(layers: Vec<PathBuf>) -> anyhow::Result<Policy> {
    let policy = PolicySources::new(layers).load()?;
    print_warnings(&policy);
    Ok(policy)
}

pub fn print_warnings(policy: &Policy) {
    for w in &policy.warnings {
        eprintln!("reconguard: warning: {w}");
    }
}

/// Writes to standard output. A reader that stops early (`| head`, `| grep -q`) is not an error:
/// the rest is not wanted. (`print!` would panic on the closed pipe.)
pub fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written.context("writing to standard output"),
    }
}

/// 1 when the command found what it reports (a denial, a change, a failed rule), else 0.
pub fn exit_code(found: bool) -> ExitCode {
    if found {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
