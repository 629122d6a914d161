//! Reloading files mounted from Secrets and ConfigMaps. The kubelet swaps a `..data` symlink, so
//! a watch on the file itself is lost after the first rotation: we watch the parent directories
//! (for promptness) and also poll a content hash (for certainty), and call back on any change.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

fn fingerprint(paths: &[PathBuf]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for p in paths {
        match std::fs::read(p) {
            Ok(bytes) => bytes.hash(&mut hasher),
            Err(e) => e.kind().to_string().hash(&mut hasher),
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
            for dir in paths.iter().filter_map(|p| p.parent()) {
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
