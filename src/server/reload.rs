//! Reloading files mounted from Secrets and ConfigMaps. The kubelet swaps a `..data` symlink, so
//! a watch on the file itself is lost after the first rotation: we watch the parent directories
//! (for promptness) and also poll a content hash (for certainty), and call back on any change.
//! A directory counts as the names and contents of its visible files, so a layer added to or
//! removed from a mounted ConfigMap is a change too.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

fn hash_file(path: &Path, hasher: &mut DefaultHasher) {
    match std::fs::read(path) {
        Ok(bytes) => bytes.hash(hasher),
        Err(e) => e.kind().to_string().hash(hasher),
    }
}

fn fingerprint(paths: &[PathBuf]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for p in paths {
        if !p.is_dir() {
            hash_file(p, &mut hasher);
            continue;
        }
        let mut names: Vec<PathBuf> = match std::fs::read_dir(p) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| e.path())
                .collect(),
            Err(e) => {
                e.kind().to_string().hash(&mut hasher);
                continue;
            }
        };
        names.sort();
        for name in names {
            name.hash(&mut hasher);
            hash_file(&name, &mut hasher);
        }
    }
    hasher.finish()
}

/// Calls `on_change` (off the async threads) whenever the content of `paths` changes, until the
/// returned task is aborted.
pub fn watch<F>(
    paths: Vec<PathBuf>,
    interval: Duration,
    on_change: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn() + Send + Sync + 'static,
{
    let (nudge_tx, mut nudge_rx) = mpsc::channel::<()>(1);
    let watcher = notify::recommended_watcher(move |_event: notify::Result<notify::Event>| {
        let _ = nudge_tx.try_send(());
    });
    let watcher = match watcher {
        Ok(mut w) => {
            // A directory argument is watched itself (its entries change) and through its
            // parent (it may be replaced); a file through its parent.
            let dirs = paths
                .iter()
                .filter(|p| p.is_dir())
                .map(|p| p.as_path())
                .chain(paths.iter().filter_map(|p| p.parent()));
            for dir in dirs {
                let dir = if dir.as_os_str().is_empty() {
                    std::path::Path::new(".")
                } else {
                    dir
                };
                if let Err(e) = w.watch(dir, RecursiveMode::NonRecursive) {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot watch directory; polling only");
                }
            }
            Some(w)
        }
        Err(e) => {
            tracing::warn!(error = %e, "file watcher unavailable; polling only");
            None
        }
    };
    let on_change = std::sync::Arc::new(on_change);
    tokio::spawn(async move {
        let _keep = watcher;
        let mut last = fingerprint(&paths);
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                Some(()) = nudge_rx.recv() => {
                    // Let a symlink swap finish before reading.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            let paths2 = paths.clone();
            let Ok(now) = tokio::task::spawn_blocking(move || fingerprint(&paths2)).await else {
                continue;
            };
            if now != last {
                last = now;
                let cb = on_change.clone();
                let _ = tokio::task::spawn_blocking(move || cb()).await;
            }
        }
    })
}
