//! Policy layers on disk: the files and directories given to `--policy`, bottom layer first. A
//! directory contributes its `*.yaml`, `*.yml` and `*.json` files in name order, skipping hidden
//! entries, so a mounted ConfigMap (whose keys are symlinks into `..data`) reads as its keys.

use std::path::{Path, PathBuf};

use super::layers::{Layer, Merged};
use super::load::{merge_layers, parse_layer, Policy, PolicyFileError};

/// The `--policy` arguments. Empty means the built-in default alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySources {
    paths: Vec<PathBuf>,
}

const LAYER_EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

fn read_error(path: &Path, error: std::io::Error) -> PolicyFileError {
    PolicyFileError::Read {
        path: path.display().to_string(),
        error,
    }
}

impl PolicySources {
    pub fn new(paths: Vec<PathBuf>) -> PolicySources {
        PolicySources { paths }
    }

    /// What to watch for changes: the arguments themselves (directories included).
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The layer files, directories expanded.
    pub fn files(&self) -> Result<Vec<PathBuf>, PolicyFileError> {
        let mut files = Vec::new();
        for path in &self.paths {
            let meta = std::fs::metadata(path).map_err(|e| read_error(path, e))?;
            if !meta.is_dir() {
                files.push(path.clone());
                continue;
            }
            let mut found = Vec::new();
            for entry in std::fs::read_dir(path).map_err(|e| read_error(path, e))? {
                let entry = entry.map_err(|e| read_error(path, e))?;
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let layer_file = !name.starts_with('.')
                    && Path::new(&*name)
                        .extension()
                        .is_some_and(|x| LAYER_EXTENSIONS.contains(&&*x.to_string_lossy()));
                // `metadata` follows symlinks: a ConfigMap key is a link to a file.
                if layer_file && std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file()) {
                    found.push(entry.path());
                }
            }
            found.sort();
            files.extend(found);
        }
        Ok(files)
    }

    pub fn read(&self) -> Result<Vec<Layer>, PolicyFileError> {
        self.files()?
            .into_iter()
            .map(|file| {
                let name = file.display().to_string();
                let text = std::fs::read_to_string(&file).map_err(|e| read_error(&file, e))?;
                parse_layer(&name, &text)
                    .map_err(|error| PolicyFileError::Invalid { path: name, error })
            })
            .collect()
    }

    pub fn merged(&self) -> Result<Merged, PolicyFileError> {
        merge_layers(self.read()?)
    }

    pub fn load(&self) -> Result<Policy, PolicyFileError> {
        if self.is_empty() {
            return Ok(Policy::embedded_default());
        }
        Policy::from_layers(self.read()?)
    }
}
