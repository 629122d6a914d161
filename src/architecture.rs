//! The crate's layering, checked: a module may use only modules listed before it. The engine's
//! core (detection, policy, decision) then never reaches up into a front end, and no two modules
//! depend on each other.

/// Bottom first. Leaves (no crate imports) first, then the model of a request, the knowledge,
/// the judgement, and the front ends.
const LAYERS: &[&str] = &[
    "admission",
    "audit",
    "mask",
    "norm",
    "certs",
    "flags",
    "context",
    "subject",
    "detect",
    "policy",
    "decision",
    "engine",
    "review",
    "ads",
    "cluster",
    "server",
    "cli",
];

/// `crate::X` paths in a source file, outside comments and its test module.
fn imports(source: &str) -> Vec<String> {
    let code = source.split("#[cfg(test)]").next().unwrap_or("");
    let mut found = Vec::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
        }
    }
    found
}

fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_uses_one_above_it() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut upward = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap_or(file);
        let first = relative.components().next();
        let module = first
            .and_then(|c| c.as_os_str().to_str())
            .map(|m| m.trim_end_matches(".rs"))
            .unwrap_or("");
        let Some(own) = rank(module) else {
            continue;
        };
        checked += 1;
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for used in imports(&text) {
            if rank(&used).is_some_and(|r| r > own) {
                upward.push(format!("{} uses crate::{used}", relative.display()));
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} files read under {}",
        src.display()
    );
    // Every top-level module has a place.
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap_or(file);
        if relative.components().count() == 1 {
            let name = relative
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if !["lib", "main", "architecture"].contains(&name.as_str()) {
                assert!(rank(&name).is_some(), "{name} has no layer in LAYERS");
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that run upward:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_scan_sees_paths_and_skips_comments() {
    let found = imports("use crate::policy::Policy;\n// crate::server\nlet x = crate::mask::text(y); // crate::cli\n#[cfg(test)]\nuse crate::cli;");
    assert_eq!(found, ["policy", "mask"]);
}
