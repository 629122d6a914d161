//! The ground truth: scripts run by real `bash`, `dash` and `busybox sh` in a sandbox where every
//! program is a stub that records its argv. The sandbox is a mount and network namespace
//! (`unshare -m -n`, as root): `/usr/bin`, `/usr/sbin` (and so `/bin`, `/sbin`) are bind-mounted
//! over by directories of links to the stub (`stub.c`), `/usr/local/*` by empty ones, and there
//! is no network. The shells themselves and the runners that only start another program (`env`,
//! `timeout`, `nohup`, `nice`, `xargs`, `find`, `setsid`, `stdbuf`) stay real, so what they run
//! is recorded too; interpreters and every other runner are stubs, whose argv the harness reads.

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The shells a script is run by, and the argv an exec of it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Shell {
    Bash,
    Dash,
    Busybox,
}

impl Shell {
    pub const ALL: [Shell; 3] = [Shell::Bash, Shell::Dash, Shell::Busybox];

    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Dash => "dash",
            Shell::Busybox => "busybox",
        }
    }

    /// `kubectl exec POD -- <argv>` running `script` with this shell.
    pub fn argv(self, script: &str) -> Vec<String> {
        let head: &[&str] = match self {
            Shell::Bash => &["bash", "-c"],
            Shell::Dash => &["dash", "-c"],
            Shell::Busybox => &["busybox", "sh", "-c"],
        };
        head.iter()
            .map(|s| s.to_string())
            .chain(std::iter::once(script.to_string()))
            .collect()
    }
}

/// Programs that stay real inside the sandbox: the shells, and runners whose only job is to
/// start the program they are given.
const REAL: [&str; 12] = [
    "bash", "dash", "busybox", "env", "timeout", "nohup", "nice", "xargs", "find", "setsid",
    "stdbuf", "sh",
];

/// Tools the driver itself uses, copied before their directories are covered.
const DRIVER_TOOLS: [&str; 3] = ["mount", "cat", "timeout"];

/// One program run, as the stub recorded it: the path it was executed by, then its argv
/// (argv[0] as the shell passed it, then the arguments).
pub type Record = Vec<String>;

pub struct Sandbox {
    dir: PathBuf,
}

fn which(name: &str) -> Result<PathBuf, String> {
    for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin"] {
        let path = Path::new(dir).join(name);
        if path.is_file() {
            return Ok(path);
        }
    }
    Err(format!(
        "{name} is not installed (scripts/test installs bash, dash and busybox)"
    ))
}

fn names_in(dir: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}

impl Sandbox {
    /// Lays out the sandbox in `dir`: the real programs, the stub (compiled with `cc`), and the
    /// directories that will cover `/usr/bin` and `/usr/sbin`, holding a link to the stub for
    /// every program the machine has there and every name in `extra` (the catalogue's programs).
    pub fn prepare(dir: &Path, extra: &BTreeSet<String>) -> Result<Sandbox, String> {
        let _ = std::fs::remove_dir_all(dir);
        for sub in ["real", "usrbin", "usrsbin", "empty", "cwd", "jobs"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| e.to_string())?;
        }
        for name in REAL.iter().chain(DRIVER_TOOLS.iter()) {
            let from = if *name == "sh" {
                which("dash")?
            } else {
                which(name)?
            };
            let to = dir.join("real").join(name);
            if !to.exists() {
                std::fs::copy(&from, &to).map_err(|e| format!("copying {name}: {e}"))?;
            }
        }
        let stub = dir.join("stub");
        let orphans = dir.join("orphans.log");
        let built = Command::new("cc")
            .args(["-O2", "-o"])
            .arg(&stub)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/oracle/stub.c"))
            .arg(format!(
                "-DORACLE_ORPHANS_DEFAULT=\"{}\"",
                orphans.display()
            ))
            .status()
            .map_err(|e| format!("cc: {e}"))?;
        if !built.success() {
            return Err("cc could not build the stub".into());
        }
        let mut usrbin: BTreeSet<String> = names_in("/usr/bin").into_iter().collect();
        usrbin.extend(extra.iter().cloned());
        for (cover, names) in [
            ("usrbin", usrbin),
            ("usrsbin", names_in("/usr/sbin").into_iter().collect()),
        ] {
            for name in names {
                if name.contains('/') || name.is_empty() {
                    continue;
                }
                let target = if REAL.contains(&name.as_str()) && cover == "usrbin" {
                    dir.join("real").join(&name)
                } else {
                    stub.clone()
                };
                symlink(&target, dir.join(cover).join(&name)).map_err(|e| e.to_string())?;
            }
        }
        for name in REAL {
            let link = dir.join("usrbin").join(name);
            if !link.exists() {
                symlink(dir.join("real").join(name), link).map_err(|e| e.to_string())?;
            }
        }
        Ok(Sandbox {
            dir: dir.to_path_buf(),
        })
    }

    /// Runs every `(shell, script)` job, `parallel` drivers at a time, each script under a time
    /// limit; returns what each job ran, in job order.
    pub fn run(
        &self,
        jobs: &[(Shell, String)],
        parallel: usize,
    ) -> Result<Vec<Vec<Record>>, String> {
        let jobs_dir = self.dir.join("jobs");
        let _ = std::fs::remove_dir_all(&jobs_dir);
        let parallel = parallel.max(1);
        for lane in 0..parallel {
            std::fs::create_dir_all(jobs_dir.join(lane.to_string())).map_err(|e| e.to_string())?;
        }
        for (i, (shell, script)) in jobs.iter().enumerate() {
            let path = jobs_dir
                .join((i % parallel).to_string())
                .join(format!("{i:07}.{}", shell.name()));
            std::fs::write(&path, script).map_err(|e| e.to_string())?;
        }
        let driver = self.dir.join("driver.sh");
        let mut text = Vec::new();
        let d = self.dir.display();
        writeln!(
            text,
            r#"set -u
R={d}/real
$R/mount --make-rprivate / || exit 90
$R/mount --bind {d}/usrbin /usr/bin || exit 91
$R/mount --bind {d}/usrsbin /usr/sbin || exit 92
$R/mount --bind {d}/empty /usr/local/bin || exit 93
$R/mount --bind {d}/empty /usr/local/sbin || exit 94
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export ORACLE_ORPHANS={d}/orphans.log
export HOME={d}/cwd
cd {d}/cwd || exit 95
lane=$1
for f in "$lane"/*; do
  case "$f" in
    *.bash) run=bash ;;
    *.dash) run=dash ;;
    *.busybox) run="busybox sh" ;;
    *) continue ;;
  esac
  s=$($R/cat "$f")
  ORACLE_LOG="$f.log" $R/timeout -s KILL 3 $run -c "$s" </dev/null >/dev/null 2>&1
done
exit 0"#
        )
        .map_err(|e| e.to_string())?;
        std::fs::write(&driver, text).map_err(|e| e.to_string())?;
        let children: Vec<_> = (0..parallel)
            .map(|lane| {
                Command::new("unshare")
                    .args(["-m", "-n", "--fork", "--"])
                    .arg(self.dir.join("real/dash"))
                    .arg(&driver)
                    .arg(jobs_dir.join(lane.to_string()))
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("unshare: {e}"))
            })
            .collect::<Result<_, _>>()?;
        for child in children {
            let out = child.wait_with_output().map_err(|e| e.to_string())?;
            if !out.status.success() {
                return Err(format!(
                    "the sandbox driver failed ({}; unshare -m -n needs root): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        let mut results = Vec::with_capacity(jobs.len());
        for (i, (shell, _)) in jobs.iter().enumerate() {
            let log = jobs_dir
                .join((i % parallel).to_string())
                .join(format!("{i:07}.{}.log", shell.name()));
            let bytes = std::fs::read(&log).unwrap_or_default();
            results.push(parse_records(&bytes));
        }
        Ok(results)
    }
}

fn parse_records(bytes: &[u8]) -> Vec<Record> {
    bytes
        .split(|b| *b == 0x1e)
        .filter(|r| !r.is_empty())
        .map(|r| {
            r.split(|b| *b == 0x1f)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .collect()
}
