//! Records the commit the binary is built from, for `reconguard --version`: from
//! RECONGUARD_REVISION (release builds and scripts/build-image set it), else from git when the
//! source is a checkout, else nothing.
use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=RECONGUARD_REVISION");
    let git = Path::new(".git");
    if git.join("HEAD").exists() {
        println!("cargo:rerun-if-changed=.git/HEAD");
        if let Ok(head) = std::fs::read_to_string(git.join("HEAD")) {
            if let Some(reference) = head.strip_prefix("ref: ") {
                let path = git.join(reference.trim());
                if path.exists() {
                    println!("cargo:rerun-if-changed={}", path.display());
                }
            }
        }
    }
    let revision = std::env::var("RECONGUARD_REVISION")
        .ok()
        .filter(|r| !r.is_empty() && r != "unknown")
        .or_else(|| {
            let out = Command::new("git")
                .args(["rev-parse", "HEAD"])
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        })
        .filter(|r| !r.is_empty());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let long = match revision {
        Some(r) => format!("{version} (commit {r})"),
        None => version,
    };
    println!("cargo:rustc-env=RECONGUARD_LONG_VERSION={long}");
}
