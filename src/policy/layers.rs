//! Policy layers: the built-in default at the bottom, then each admin layer merged over it, with
//! the layer each value came from kept for `policy show` and for error messages.
//!
//! Merge rules: maps merge key by key (a null value removes the key), scalars replace, and a
//! list is either replaced (a plain list, with a warning when that drops entries of a lower layer)
//! or edited with `{add: [...], remove: [...]}`. List entries are matched by key: an object's
//! `id`, else its `name`, else its `path`; a string or number is its own key. An added entry
//! whose key exists replaces that entry in place; removing a key that is not there is an error,
//! so a typo or a renamed entry is reported rather than silently ignored.
//!
//! Pure: layers come in as parsed values, the merged tree goes out.

use serde_json::{Map, Value};

use super::load::{PolicyError, Problem, API_VERSION, KIND};

/// The name `policy show` and error messages give the built-in default.
pub const DEFAULT_LAYER: &str = "built-in default";

/// One parsed layer: a file's name and its content.
#[derive(Debug, Clone)]
pub struct Layer {
    pub name: String,
    pub value: Value,
}

/// A policy value together with the index of the layer that set it.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Scalar {
        value: Value,
        origin: usize,
    },
    List {
        items: Vec<Node>,
        origin: usize,
    },
    Map {
        entries: Vec<(String, Node)>,
        origin: usize,
    },
}

/// The merged policy: the tree, the layers bottom first, and what deserves a warning.
#[derive(Debug, Clone)]
pub struct Merged {
    pub tree: Node,
    pub layers: Vec<String>,
    pub warnings: Vec<Problem>,
}

const EDIT_KEYS: [&str; 2] = ["add", "remove"];

impl Node {
    fn new(value: Value, origin: usize) -> Node {
        match value {
            Value::Array(items) => Node::List {
                items: items.into_iter().map(|v| Node::new(v, origin)).collect(),
                origin,
            },
            Value::Object(map) => Node::Map {
                entries: map
                    .into_iter()
                    .map(|(k, v)| (k, Node::new(v, origin)))
                    .collect(),
                origin,
            },
            value => Node::Scalar { value, origin },
        }
    }

    pub fn origin(&self) -> usize {
        match self {
            Node::Scalar { origin, .. } | Node::List { origin, .. } | Node::Map { origin, .. } => {
                *origin
            }
        }
    }

    pub fn to_value(&self) -> Value {
        match self {
            Node::Scalar { value, .. } => value.clone(),
            Node::List { items, .. } => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Map { entries, .. } => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }

    /// The node at a path of map keys and list indexes (`exec.programs[3].rule`).
    pub fn at(&self, path: &str) -> Option<&Node> {
        match self.deepest(path) {
            (node, true) => Some(node),
            (_, false) => None,
        }
    }

    /// The layer that set the deepest existing node on `path`.
    pub fn origin_of(&self, path: &str) -> usize {
        self.deepest(path).0.origin()
    }

    /// The deepest node on `path`, and whether it is the whole path.
    fn deepest(&self, path: &str) -> (&Node, bool) {
        let mut node = self;
        for step in path_steps(path) {
            let next = match (node, step) {
                (Node::Map { entries, .. }, Step::Key(k)) => {
                    entries.iter().find(|(key, _)| key == k).map(|e| &e.1)
                }
                (Node::List { items, .. }, Step::Index(i)) => items.get(i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => return (node, false),
            }
        }
        (node, true)
    }
}

enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Splits `a.b[2].c` into keys and indexes. Keys containing `.` or `[` are not addressable this
/// way; policy keys that can (capability names, rule ids) do not contain them.
fn path_steps(path: &str) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            steps.push(Step::Key(key));
        }
        while let Some(close) = rest.find(']') {
            if let Ok(i) = rest[1..close].parse() {
                steps.push(Step::Index(i));
            }
            rest = &rest[close + 1..];
        }
    }
    steps
}

/// The fields that key an object entry, in order of preference.
const KEY_FIELDS: [&str; 3] = ["id", "name", "path"];

/// The key an entry is matched by in `add` and `remove`.
fn entry_key(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Object(map) => KEY_FIELDS
            .iter()
            .find_map(|k| map.get(*k).and_then(Value::as_str))
            .map(str::to_string),
        _ => None,
    }
}

fn node_key(node: &Node) -> Option<String> {
    match node {
        Node::Scalar { value, .. } => entry_key(value),
        Node::Map { entries, .. } => KEY_FIELDS.iter().find_map(|k| {
            entries.iter().find_map(|(key, n)| match n {
                Node::Scalar {
                    value: Value::String(s),
                    ..
                } if key == k => Some(s.clone()),
                _ => None,
            })
        }),
        Node::List { .. } => None,
    }
}

fn is_edit(map: &Map<String, Value>) -> bool {
    !map.is_empty() && map.keys().all(|k| EDIT_KEYS.contains(&k.as_str()))
}

struct Merger<'a> {
    origin: usize,
    layers: &'a [String],
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Merger<'_> {
    fn problem(&mut self, path: &str, message: String) {
        self.problems.push(Problem {
            path: path.to_string(),
            message,
        });
    }

    /// Entries with the same key in one list make `add` and `remove` ambiguous.
    fn check_unique(&mut self, path: &str, items: &[Value]) {
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Some(key) = entry_key(item) else { continue };
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                self.problem(
                    &format!("{path}[{i}]"),
                    format!("duplicate key {key:?} (also entry {first})"),
                );
            } else {
                seen.push((key, i));
            }
        }
    }

    /// Checks every list in a value that is about to be taken whole.
    fn check_lists(&mut self, path: &str, value: &Value) {
        match value {
            Value::Array(items) => {
                self.check_unique(path, items);
                for (i, item) in items.iter().enumerate() {
                    self.check_lists(&format!("{path}[{i}]"), item);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    self.check_lists(&join(path, k), v);
                }
            }
            _ => {}
        }
    }

    fn fresh(&mut self, path: &str, value: Value) -> Node {
        self.check_lists(path, &value);
        Node::new(value, self.origin)
    }

    fn merge(&mut self, lower: &mut Node, upper: Value, path: &str) {
        match (lower, upper) {
            (Node::Map { entries, .. }, Value::Object(map)) => {
                for (key, value) in map {
                    let child = join(path, &key);
                    let found = entries.iter().position(|(k, _)| *k == key);
                    match (found, value) {
                        (Some(i), Value::Null) => {
                            entries.remove(i);
                        }
                        (None, Value::Null) => {}
                        (Some(i), value) => self.merge(&mut entries[i].1, value, &child),
                        (None, Value::Object(edit)) if is_edit(&edit) => {
                            let mut list = Node::List {
                                items: Vec::new(),
                                origin: self.origin,
                            };
                            self.edit(&mut list, edit, &child);
                            entries.push((key, list));
                        }
                        (None, value) => {
                            let node = self.fresh(&child, value);
                            entries.push((key, node));
                        }
                    }
                }
            }
            (list @ Node::List { .. }, Value::Object(edit)) if is_edit(&edit) => {
                self.edit(list, edit, path)
            }
            // `mode: enforce` below `mode: {pods: audit}`: the single value becomes the default
            // of the map, so kinds the upper layer does not name keep it.
            (lower @ Node::Scalar { .. }, Value::Object(map)) if path == "mode" => {
                let origin = lower.origin();
                let mut as_map = Node::Map {
                    entries: vec![("default".to_string(), lower.clone())],
                    origin,
                };
                self.merge(&mut as_map, Value::Object(map), path);
                *lower = as_map;
            }
            (lower, Value::Array(items)) => {
                if let Node::List {
                    items: old,
                    origin: old_origin,
                } = &*lower
                {
                    let dropped = old.len();
                    if dropped > 0 && *old_origin != self.origin {
                        self.warnings.push(Problem {
                            path: path.to_string(),
                            message: format!(
                                "layer {} replaces the whole list ({} entries of lower layers, \
                                 {} now); `add:` and `remove:` keep what later releases add",
                                self.layers[self.origin],
                                dropped,
                                items.len()
                            ),
                        });
                    }
                }
                *lower = self.fresh(path, Value::Array(items));
            }
            // Restating a value does not take it over: `policy show` names the layer that chose it.
            (Node::Scalar { value, .. }, upper) if *value == upper => {}
            (lower, upper) => *lower = self.fresh(path, upper),
        }
    }

    fn edit(&mut self, list: &mut Node, mut edit: Map<String, Value>, path: &str) {
        let Node::List { items, .. } = list else {
            return;
        };
        let mut operands = |name: &str, me: &mut Self| match edit.remove(name) {
            None => Vec::new(),
            Some(Value::Array(values)) => values,
            Some(_) => {
                me.problem(&format!("{path}.{name}"), "must be a list".to_string());
                Vec::new()
            }
        };
        let removes = operands("remove", self);
        let adds = operands("add", self);
        for (i, key) in removes.iter().enumerate() {
            let at = format!("{path}.remove[{i}]");
            let Some(key) = entry_key(key).filter(|_| !key.is_object()) else {
                self.problem(&at, "must be a key (a string or a number)".to_string());
                continue;
            };
            match items
                .iter()
                .position(|n| node_key(n).as_deref() == Some(&key))
            {
                Some(found) => {
                    items.remove(found);
                }
                None => self.problem(&at, format!("no entry with key {key:?} to remove")),
            }
        }
        self.check_unique(&format!("{path}.add"), &adds);
        for (i, value) in adds.into_iter().enumerate() {
            let at = format!("{path}.add[{i}]");
            let key = entry_key(&value);
            let node = self.fresh(&at, value);
            let existing = key
                .as_deref()
                .and_then(|k| items.iter().position(|n| node_key(n).as_deref() == Some(k)));
            match existing {
                Some(found) if matches!(node, Node::Scalar { .. }) => {
                    // Adding a value already present changes nothing.
                    let _ = found;
                }
                Some(found) => items[found] = node,
                None => items.push(node),
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// What a layer says about the layers below it.
fn base_of(layer: &Layer) -> Result<bool, Problem> {
    match layer.value.get("base") {
        None => Ok(true),
        Some(Value::String(s)) if s == "default" => Ok(true),
        Some(Value::String(s)) if s == "none" => Ok(false),
        Some(other) => Err(Problem {
            path: "base".into(),
            message: format!("must be `default` or `none`, not {other}"),
        }),
    }
}

fn check_header(layer: &Layer) -> Vec<Problem> {
    let mut problems = Vec::new();
    if !layer.value.is_object() {
        problems.push(Problem {
            path: String::new(),
            message: "a policy layer is a map".into(),
        });
        return problems;
    }
    for (field, want) in [("apiVersion", API_VERSION), ("kind", KIND)] {
        match layer.value.get(field).and_then(Value::as_str) {
            Some(v) if v == want => {}
            Some(v) => problems.push(Problem {
                path: field.into(),
                message: format!("must be {want:?}, not {v:?}"),
            }),
            None => problems.push(Problem {
                path: field.into(),
                message: format!("missing (must be {want:?})"),
            }),
        }
    }
    problems
}

/// Merges `layers` (bottom first) over `default`, unless the first layer says `base: none`.
/// Errors are returned per layer: (layer name, its problems).
pub fn merge(
    default: impl FnOnce() -> Result<Layer, PolicyError>,
    layers: Vec<Layer>,
) -> Result<Merged, (String, PolicyError)> {
    let on_default = match layers.first() {
        Some(first) => base_of(first).map_err(|p| (first.name.clone(), PolicyError::Shape(p)))?,
        None => true,
    };
    for layer in layers.iter().skip(1) {
        match base_of(layer) {
            Ok(true) => {}
            Ok(false) => {
                return Err((
                    layer.name.clone(),
                    PolicyError::Shape(Problem {
                        path: "base".into(),
                        message: "only the first layer may say `base: none`".into(),
                    }),
                ))
            }
            Err(p) => return Err((layer.name.clone(), PolicyError::Shape(p))),
        }
    }
    let stack: Vec<Layer> = if on_default {
        let default = default().map_err(|e| (DEFAULT_LAYER.to_string(), e))?;
        std::iter::once(default).chain(layers).collect()
    } else {
        layers
    };
    let names: Vec<String> = stack.iter().map(|l| l.name.clone()).collect();
    let mut tree = Node::Map {
        entries: Vec::new(),
        origin: 0,
    };
    let mut warnings = Vec::new();
    for (origin, layer) in stack.into_iter().enumerate() {
        let header = check_header(&layer);
        if !header.is_empty() {
            return Err((layer.name, PolicyError::Invalid(header)));
        }
        let Value::Object(mut map) = layer.value else {
            continue;
        };
        map.shift_remove("base");
        let mut merger = Merger {
            origin,
            layers: &names,
            problems: Vec::new(),
            warnings: Vec::new(),
        };
        merger.merge(&mut tree, Value::Object(map), "");
        if !merger.problems.is_empty() {
            return Err((layer.name, PolicyError::Invalid(merger.problems)));
        }
        warnings.extend(merger.warnings);
    }
    Ok(Merged {
        tree,
        layers: names,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layer(name: &str, mut value: Value) -> Layer {
        let map = value.as_object_mut().expect("a map");
        map.insert("apiVersion".into(), json!(API_VERSION));
        map.insert("kind".into(), json!(KIND));
        Layer {
            name: name.into(),
            value,
        }
    }

    fn merged(base: Value, layers: Vec<Value>) -> Result<Merged, (String, PolicyError)> {
        let layers = layers
            .into_iter()
            .enumerate()
            .map(|(i, v)| layer(&format!("L{}", i + 1), v))
            .collect();
        merge(|| Ok(layer("base", base)), layers)
    }

    fn value_of(m: &Merged, path: &str) -> Value {
        m.tree.at(path).map(Node::to_value).unwrap_or(Value::Null)
    }

    #[test]
    fn paths_address_keys_and_indexes() {
        let m = merged(json!({"a": {"b": [{"c": 1}, {"c": 2}]}}), vec![]).unwrap();
        assert_eq!(value_of(&m, "a.b[1].c"), json!(2));
        assert_eq!(value_of(&m, "a.b[2].c"), Value::Null);
        assert_eq!(m.tree.origin_of("a.b[1].missing"), 0);
    }

    #[test]
    fn header_is_required_on_every_layer() {
        let err = merge(
            || Ok(layer("base", json!({}))),
            vec![Layer {
                name: "x.yaml".into(),
                value: json!({"kind": "ConfigMap"}),
            }],
        )
        .unwrap_err();
        assert_eq!(err.0, "x.yaml");
        let text = err.1.to_string();
        assert!(text.contains("apiVersion: missing"), "{text}");
        assert!(text.contains("kind: must be \"Policy\""), "{text}");
    }

    #[test]
    fn base_none_only_on_the_first_layer() {
        let m = merged(json!({"a": 1}), vec![json!({"base": "none", "b": 2})]).unwrap();
        assert_eq!(m.layers, vec!["L1".to_string()]);
        assert_eq!(value_of(&m, "a"), Value::Null);
        assert_eq!(
            value_of(&m, "base"),
            Value::Null,
            "base is not part of the policy"
        );
        let err = merged(json!({}), vec![json!({}), json!({"base": "none"})]).unwrap_err();
        assert_eq!(err.0, "L2");
        let err = merged(json!({}), vec![json!({"base": "below"})]).unwrap_err();
        assert!(err.1.to_string().contains("`default` or `none`"));
    }
}
