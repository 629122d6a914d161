//! What a loop changes from one iteration to the next. A scan walks many destinations; a retry
//! loop knocks on one until it answers (`until wget -q $SVC:$PORT; do sleep 2; done`). A
//! destination built from a variable the loop changes - its `for` variable, a counter its body
//! increments, a line `read` gives it - is many destinations; one built from a variable the loop
//! leaves alone (the environment, a setting made before the loop) is one.

use super::ir::{Command, Compound, Item, Script, SimpleCommand};

/// Builtins whose operands name the variables they set (`read LINE`, `let i++`, `printf -v v`).
const ASSIGNING_BUILTINS: &[&str] = &[
    "read",
    "mapfile",
    "readarray",
    "let",
    "export",
    "declare",
    "local",
    "typeset",
    "readonly",
    "printf",
    "getopts",
];

/// Names the scripts assign, read into or count with, at any depth (nested loops included).
pub(super) fn assigned_names(scripts: &[&Script], out: &mut Vec<String>) {
    for script in scripts {
        for pipeline in &script.0 {
            for command in &pipeline.0 {
                command_names(command, out);
            }
        }
    }
}

fn command_names(command: &Command, out: &mut Vec<String>) {
    match command {
        Command::Simple(sc) => simple_names(sc, out),
        Command::Compound(compound, _) => compound_names(compound, out),
        Command::Test(_) => {}
    }
}

fn simple_names(sc: &SimpleCommand, out: &mut Vec<String>) {
    let assigning = sc
        .name
        .as_deref()
        .is_some_and(|n| ASSIGNING_BUILTINS.contains(&n));
    for item in sc.prefix.iter().chain(&sc.suffix) {
        match item {
            Item::Assignment(a) => {
                let name = a.variable.as_ref().map(|(n, _)| n);
                out.extend(name.or(a.array.as_ref().map(|(n, _)| n)).cloned());
            }
            Item::Word(word) if assigning => out.extend(identifier(word)),
            Item::ProcessSubstitution { script, .. } => assigned_names(&[script], out),
            _ => {}
        }
    }
}

fn compound_names(compound: &Compound, out: &mut Vec<String>) {
    match compound {
        Compound::Group(body) => assigned_names(&[body], out),
        Compound::For { variable, body, .. } => {
            out.push(variable.clone());
            assigned_names(&[body], out);
        }
        Compound::ArithmeticFor { header, body } => {
            out.extend(identifiers(header));
            assigned_names(&[body], out);
        }
        Compound::Loop { condition, body } => assigned_names(&[condition, body], out),
        Compound::If(branches) | Compound::Case { branches, .. } => {
            assigned_names(&branches.iter().collect::<Vec<_>>(), out)
        }
        Compound::Coprocess(command) => command_names(command, out),
        Compound::Arithmetic(expr) => out.extend(identifiers(expr)),
    }
}

/// The variable a builtin's operand names: `LINE`, `i` of `i++`, `v` of `v=1`.
fn identifier(word: &str) -> Option<String> {
    let end = word
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit())))
        .map_or(word.len(), |(i, _)| i);
    (end > 0).then(|| word[..end].to_string())
}

/// Every name in an arithmetic expression (`i=1; i<255; i++`): reading one too counts, which
/// errs toward a varying destination.
pub(super) fn identifiers(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(start) = rest.find(|c: char| c.is_ascii_alphabetic() || c == '_') {
        rest = &rest[start..];
        let name = identifier(rest).unwrap_or_default();
        rest = &rest[name.len().max(1)..];
        out.push(name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_of_an_arithmetic_header() {
        assert_eq!(identifiers("i=1;i<=254;i++"), vec!["i", "i", "i"]);
        assert_eq!(identifiers("port = base + n2"), vec!["port", "base", "n2"]);
        assert_eq!(identifier("LINE"), Some("LINE".into()));
        assert_eq!(identifier("i++"), Some("i".into()));
        assert_eq!(identifier("-r"), None);
        assert_eq!(identifier("9x"), None);
    }
}
