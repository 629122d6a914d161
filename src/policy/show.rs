//! `reconguard policy show`: the merged policy with the layer each value came from, as YAML
//! with `# layer` comments or as JSON with an `origins` map. Pure: a `Merged` in, text out.

use serde_json::{json, Map, Value};

use super::layers::{Merged, Node};

/// The merged policy as YAML. A value set by another layer than the one that set the map or list
/// holding it carries a `# layer` comment; the output parses back to the merged policy.
pub fn yaml(merged: &Merged) -> String {
    let mut out = format!(
        "# reconguard policy merged from: {}\n# `# LAYER` marks what a layer above the enclosing one's set.\n",
        merged.layers.join(", ")
    );
    for w in &merged.warnings {
        out.push_str(&format!("# warning: {w}\n"));
    }
    let emitter = Emitter {
        layers: &merged.layers,
    };
    match &merged.tree {
        Node::Map {
            entries, origin, ..
        } => emitter.map(&mut out, entries, 0, *origin),
        other => out.push_str(&format!("{}\n", scalar(&other.to_value()))),
    }
    out
}

/// The merged policy, its layers and warnings, and the layer of every value whose layer differs
/// from its parent's (keyed by path, `exec.programs[3]`).
pub fn json(merged: &Merged) -> Value {
    let mut origins = Map::new();
    collect_origins(
        &merged.tree,
        "",
        merged.tree.origin(),
        &merged.layers,
        &mut origins,
    );
    json!({
        "layers": merged.layers,
        "warnings": merged.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
        "origins": origins,
        "policy": merged.tree.to_value(),
    })
}

fn collect_origins(
    node: &Node,
    path: &str,
    parent: usize,
    layers: &[String],
    out: &mut Map<String, Value>,
) {
    if node.origin() != parent {
        out.insert(path.to_string(), json!(layers[node.origin()]));
    }
    match node {
        Node::Map { entries, origin } => {
            for (k, v) in entries {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                collect_origins(v, &child, *origin, layers, out);
            }
        }
        Node::List { items, origin } => {
            for (i, v) in items.iter().enumerate() {
                collect_origins(v, &format!("{path}[{i}]"), *origin, layers, out);
            }
        }
        Node::Scalar { .. } => {}
    }
}

struct Emitter<'a> {
    layers: &'a [String],
}

impl Emitter<'_> {
    fn note(&self, node: &Node, parent: usize) -> String {
        if node.origin() == parent {
            String::new()
        } else {
            format!("  # {}", self.layers[node.origin()])
        }
    }

    fn map(&self, out: &mut String, entries: &[(String, Node)], indent: usize, parent: usize) {
        let pad = " ".repeat(indent);
        for (key, node) in entries {
            let note = self.note(node, parent);
            let key = scalar(&Value::String(key.clone()));
            match node {
                Node::Map { entries, origin } if !entries.is_empty() => {
                    out.push_str(&format!("{pad}{key}:{note}\n"));
                    self.map(out, entries, indent + 2, *origin);
                }
                Node::List { items, origin } if !self.flows(items, *origin) => {
                    out.push_str(&format!("{pad}{key}:{note}\n"));
                    self.list(out, items, indent + 2, *origin);
                }
                _ => out.push_str(&format!("{pad}{key}: {}{note}\n", inline(node))),
            }
        }
    }

    fn list(&self, out: &mut String, items: &[Node], indent: usize, parent: usize) {
        let pad = " ".repeat(indent);
        for item in items {
            let note = self.note(item, parent);
            match item {
                Node::Map { entries, origin } if !entries.is_empty() => {
                    if !note.is_empty() {
                        out.push_str(&format!("{pad}#{}\n", &note[3..]));
                    }
                    let mut body = String::new();
                    self.map(&mut body, entries, indent + 2, *origin);
                    out.push_str(&format!("{pad}- {}", &body[indent + 2..]));
                }
                _ => out.push_str(&format!("{pad}- {}{note}\n", inline(item))),
            }
        }
    }

    /// A list of scalars, all from the list's own layer, is written `[a, b]` as in the default.
    fn flows(&self, items: &[Node], origin: usize) -> bool {
        items
            .iter()
            .all(|i| matches!(i, Node::Scalar { .. }) && i.origin() == origin)
    }
}

/// A node on one line: a scalar, or a flow collection.
fn inline(node: &Node) -> String {
    match node {
        Node::Scalar { value, .. } => scalar(value),
        Node::List { items, .. } => format!(
            "[{}]",
            items.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        Node::Map { entries, .. } => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}: {}", scalar(&Value::String(k.clone())), inline(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A scalar, plain when that reads back as the same string, double-quoted otherwise.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) if plain(s) => s.clone(),
        Value::String(s) => quoted(s),
        other => other.to_string(),
    }
}

/// JSON's escapes are YAML's, but JSON leaves characters YAML does not allow in a stream
/// (C1 controls other than NEL, U+FFFE, U+FFFF) unescaped.
fn quoted(s: &str) -> String {
    let json = Value::String(s.to_string()).to_string();
    let printable =
        |c: char| !matches!(c, '\u{80}'..='\u{84}' | '\u{86}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}');
    if json.chars().all(printable) {
        return json;
    }
    json.chars()
        .map(|c| {
            if printable(c) {
                c.to_string()
            } else {
                format!("\\u{:04x}", c as u32)
            }
        })
        .collect()
}

fn plain(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let safe = |c: char| c.is_ascii_alphanumeric() || "_./+=~-".contains(c);
    // YAML 1.1 readers (PyYAML, older tools) take these for booleans.
    let yaml11_bool =
        ["y", "n", "yes", "no", "on", "off"].contains(&s.to_ascii_lowercase().as_str());
    (first.is_ascii_alphanumeric() || "_./".contains(first))
        && !yaml11_bool
        && s.chars().all(safe)
        && serde_saphyr::from_str::<Value>(s).ok() == Some(Value::String(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_only_where_it_reads_back_as_the_string() {
        for s in [
            "enforce",
            "exec-listener",
            "SYS_ADMIN",
            "/etc/passwd",
            "kernel.core_pattern",
        ] {
            assert_eq!(scalar(&json!(s)), s);
        }
        for s in [
            "",
            "true",
            "no",
            "null",
            "~",
            "1e3",
            "0x10",
            ".inf",
            "a b",
            "*",
            "-x",
            "a: b",
            "#c",
            "\u{80}",
            "\u{9f}x",
            "\u{fffe}",
            "\u{85}\u{2028}",
            "\n\t\\\"",
        ] {
            let text = scalar(&json!(s));
            assert!(text.starts_with('"'), "{s:?} -> {text}");
            let back: Value = serde_saphyr::from_str(&format!("k: {text}")).unwrap();
            assert_eq!(back["k"], json!(s));
        }
    }
}
