//! Shell words: quotes removed, known variables substituted, `$IFS` splitting, substitutions
//! analysed as scripts (found by brush-parser and by the nesting pre-scan), constant
//! substitutions folded, and command names built to hide themselves noticed.
use super::ir::{Anchor, Command, Item, Operator, Parameter, Piece, Redirect};

use super::fold::{constant_output, Flow};
use super::payload::ansi_c_unescape;
use super::{braces, heredoc, nesting, syntax, Analyser, Ctx};

impl Analyser<'_> {
    /// A shell word's pieces, when it is safe to parse, the budget covers it, and it parses.
    pub(super) fn parse_word(&self, raw: &str) -> Option<Vec<Piece>> {
        if !self.parseable(raw, 0) || !self.budget.spend(raw.len()) {
            return None;
        }
        syntax::parse_word(raw)
    }

    /// The output of a substitution that only prints constants (`$(echo nmap)`,
    /// `$(printf '\x6e\x6d\x61\x70')`, `$(echo pamn | rev)`), when that is all it does.
    pub(super) fn constant_script_output(&self, script: &str) -> Option<String> {
        if script.len() > self.exec.limits.max_script_bytes
            || !self.parseable(script, 0)
            || !self.budget.spend(script.len())
        {
            return None;
        }
        let (parsed, docs) = syntax::parse_script(script, self.heredocs.len())?;
        let [pipeline] = parsed.0.as_slice() else {
            return None;
        };
        let mut flow = None;
        for cmd in &pipeline.0 {
            let Command::Simple(sc) = cmd else {
                return None;
            };
            // `$(base64 -d <<< ...)`, `$(rev <<EOF ...)`: a here-string or here-document is
            // the command's input.
            let here = sc
                .prefix
                .iter()
                .chain(sc.suffix.iter())
                .find_map(|item| match item {
                    Item::Redirect(Redirect::HereString(w)) => Some(
                        match heredoc::index_of(w)
                            .and_then(|i| docs.get(i.checked_sub(self.heredocs.len())?))
                        {
                            Some(doc) => doc.body.clone(),
                            None => self.expand_quiet(w) + "\n",
                        },
                    ),
                    _ => None,
                });
            if let Some(text) = here {
                flow = Some(Flow {
                    text,
                    decoded: false,
                });
            }
            flow = Some(constant_output(&self.quiet_words(sc), flow)?);
        }
        flow.map(|f| f.text)
    }

    /// Quoting inside a command name (`n''map`, `$'\x6e\x6d\x61\x70'`, `\nmap` aside) and names
    /// built from variables or substitutions have no innocent use.
    pub(super) fn inspect_command_name(&mut self, raw: &str) {
        let Some(pieces) = self.parse_word(raw) else {
            return;
        };
        let has_quote = pieces.iter().any(|p| {
            matches!(
                p,
                Piece::SingleQuoted(_) | Piece::DoubleQuoted(_) | Piece::AnsiC(_)
            )
        });
        if has_quote && pieces.len() > 1 {
            self.obfuscated("splits a command name with quotes");
        }
        if pieces
            .iter()
            .any(|p| matches!(p, Piece::AnsiC(t) if t.contains('\\')))
            || raw.starts_with("$'")
        {
            self.obfuscated("spells a command name with escape sequences");
        }
        if expansion_in_last_component(&pieces) && !self.whole_known_variable(&pieces) {
            self.obfuscated("builds a command name from variables or substitutions");
        }
    }

    /// A name that is one variable the script set to a plain word (`flag=false; ...; if $flag`,
    /// `run=exec; $run app`): what runs is that word, judged like any name. Pieces glued
    /// together (`$a$b`, `n${x}p`), substitutions and unknown values stay obfuscation.
    fn whole_known_variable(&self, pieces: &[Piece]) -> bool {
        let piece = match pieces {
            [Piece::DoubleQuoted(inner)] if inner.len() == 1 => &inner[0],
            [one] => one,
            _ => return false,
        };
        let Piece::Parameter(parameter @ Parameter::Named(_)) = piece else {
            return false;
        };
        self.lookup(parameter).is_some_and(|values| {
            !values.is_empty()
                && values.iter().all(|v| {
                    !v.is_empty()
                        && v.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
                })
        })
    }

    pub(super) fn expand_quiet(&self, raw: &str) -> String {
        match self.parse_word(raw) {
            Some(pieces) => {
                let mut out = String::new();
                for p in &pieces {
                    self.literal_piece(p, &mut out);
                }
                out
            }
            None => raw.replace(['\'', '"'], ""),
        }
    }

    pub(super) fn literal_piece(&self, piece: &Piece, out: &mut String) {
        match piece {
            Piece::Text(t) | Piece::SingleQuoted(t) => out.push_str(t),
            Piece::AnsiC(t) => out.push_str(&ansi_c_unescape(t)),
            Piece::Escape(t) => out.push_str(t.strip_prefix('\\').unwrap_or(t)),
            Piece::DoubleQuoted(inner) => {
                for p in inner {
                    self.literal_piece(p, out);
                }
            }
            Piece::Tilde => out.push('~'),
            Piece::Parameter(parameter) => out.push_str(&self.parameter(parameter)),
            Piece::Substitution { script, .. } => match self.constant_script_output(script) {
                Some(text) => out.push_str(text.trim_end_matches('\n')),
                None => out.push_str("$(...)"),
            },
            Piece::Arithmetic(_) => out.push_str("$((...))"),
        }
    }

    /// A parameter's value as one string, or a placeholder with a `$` when the script does not
    /// make it knowable (`${name}` for a plain name, so an unset variable can be read as
    /// empty where that is what the shell would see).
    pub(super) fn parameter(&self, parameter: &Parameter) -> String {
        match self.lookup(parameter) {
            Some(values) => values.join(" "),
            None => match parameter {
                Parameter::Named(name) => format!("${{{name}}}"),
                Parameter::Special(written) => written.clone(),
                Parameter::AllPositional => "$@".to_string(),
                _ => "${...}".to_string(),
            },
        }
    }

    /// What a parameter holds, as far as the script makes it knowable: `None` when it does not.
    /// Lists (`$@`, `${a[@]}`) are their elements; everything else is one value.
    pub(super) fn lookup(&self, parameter: &Parameter) -> Option<Vec<String>> {
        let one = |v: String| Some(vec![v]);
        match parameter {
            Parameter::Named(name) => match name.as_str() {
                "IFS" => one(self.vars.get("IFS").cloned().unwrap_or_else(|| " ".into())),
                "SHELL" | "BASH" => one("sh".into()),
                _ => match self.vars.get(name) {
                    Some(v) => one(v.clone()),
                    None => self
                        .arrays
                        .get(name)
                        .and_then(|a| a.first().cloned())
                        .map(|v| vec![v]),
                },
            },
            Parameter::Positional(0) => None,
            Parameter::Positional(n) => self
                .positional
                .as_ref()
                .map(|p| vec![p.get(*n as usize - 1).cloned().unwrap_or_default()]),
            Parameter::AllPositional => self.positional.clone(),
            Parameter::Element(name, index) => {
                let index = self.expand_quiet(index);
                let i: usize = index.trim().parse().ok()?;
                match self.arrays.get(name) {
                    Some(a) => one(a.get(i).cloned().unwrap_or_default()),
                    None if i == 0 => self.vars.get(name).cloned().map(|v| vec![v]),
                    None => None,
                }
            }
            Parameter::AllElements(name) => self
                .arrays
                .get(name)
                .cloned()
                .or_else(|| self.vars.get(name).map(|v| vec![v.clone()])),
            Parameter::Special(_) | Parameter::Indirect => None,
            Parameter::Operator(operation) => self.operate(&operation.0, &operation.1),
        }
    }

    /// A parameter-expansion operator applied to what the parameter holds: to each element of
    /// a list (`${@:2}` slices it, `${#a[@]}` counts it), or to the one value.
    fn operate(&self, inner: &Parameter, op: &Operator) -> Option<Vec<String>> {
        if is_list(inner) {
            let values = self.lookup(inner);
            return match op {
                Operator::Substring(offset, length) => {
                    let values = values?;
                    let offset: i64 = self.expand_quiet(offset).trim().parse().ok()?;
                    // `$@` counts from $1, with $0 at offset 0.
                    let skip = if matches!(inner, Parameter::AllPositional) {
                        (offset - 1).max(0) as usize
                    } else {
                        offset.max(0) as usize
                    };
                    let take = match length {
                        Some(l) => self.expand_quiet(l).trim().parse::<usize>().ok()?,
                        None => usize::MAX,
                    };
                    Some(values.into_iter().skip(skip).take(take).collect())
                }
                Operator::Length => Some(vec![values?.len().to_string()]),
                Operator::Default(_) | Operator::Assign(_) | Operator::Alternative(_) => {
                    let joined = values.clone().map(|v| v.join(" "));
                    let chosen = self.scalar_operation(joined, op)?;
                    match values {
                        Some(v) if chosen == v.join(" ") => Some(v),
                        _ => Some(vec![chosen]),
                    }
                }
                _ => values?
                    .into_iter()
                    .map(|v| self.scalar_operation(Some(v), op))
                    .collect(),
            };
        }
        let value = self.lookup(inner).map(|v| v.join(" "));
        Some(vec![self.scalar_operation(value, op)?])
    }

    /// An operator on one value (`None`: not knowable).
    fn scalar_operation(&self, value: Option<String>, op: &Operator) -> Option<String> {
        let set = value.as_deref().is_some_and(|v| !v.is_empty());
        let result = match op {
            // Unknown is read as unset: the default is what a script that hides a name in it
            // means to run.
            Operator::Default(word) | Operator::Assign(word) => {
                if set {
                    value?
                } else {
                    self.expand_quiet(word)
                }
            }
            Operator::Alternative(word) => {
                if value.is_some() && !set {
                    String::new()
                } else {
                    self.expand_quiet(word)
                }
            }
            Operator::Error | Operator::Transform => value?,
            Operator::Length => value?.chars().count().to_string(),
            Operator::StripPrefix { pattern, longest } => {
                let value = self.pattern_value(value?)?;
                let pattern = self.expand_quiet(pattern);
                strip(&value, &pattern, *longest, true)?
            }
            Operator::StripSuffix { pattern, longest } => {
                let value = self.pattern_value(value?)?;
                let pattern = self.expand_quiet(pattern);
                strip(&value, &pattern, *longest, false)?
            }
            Operator::Replace {
                pattern,
                replacement,
                all,
                anchor,
            } => {
                let value = self.pattern_value(value?)?;
                let pattern = self.expand_quiet(pattern);
                let replacement = self.expand_quiet(replacement);
                replace(&value, &pattern, &replacement, *all, *anchor)?
            }
            Operator::Upper => value?.to_uppercase(),
            Operator::Lower => value?.to_lowercase(),
            Operator::Substring(offset, length) => {
                let value: Vec<char> = value?.chars().collect();
                let offset: i64 = self.expand_quiet(offset).trim().parse().ok()?;
                let start = if offset < 0 {
                    value.len().saturating_sub(offset.unsigned_abs() as usize)
                } else {
                    (offset as usize).min(value.len())
                };
                let end = match length {
                    Some(l) => {
                        let l: i64 = self.expand_quiet(l).trim().parse().ok()?;
                        if l < 0 {
                            value
                                .len()
                                .saturating_sub(l.unsigned_abs() as usize)
                                .max(start)
                        } else {
                            (start + l as usize).min(value.len())
                        }
                    }
                    None => value.len(),
                };
                value[start..end].iter().collect()
            }
        };
        Some(result)
    }

    /// A value a pattern operator may be evaluated on: short enough, and paid for. Matching a
    /// pattern against every substring costs the square of the value's length, so that is what
    /// the work budget is charged; a longer value, or an exhausted budget, leaves the result
    /// unknown.
    fn pattern_value(&self, value: String) -> Option<String> {
        (value.len() <= MAX_PATTERN_VALUE && self.budget.spend(value.len() * value.len() + 64))
            .then_some(value)
    }

    /// Expands one shell word into the words it becomes: braces expanded, quotes removed, known
    /// variables, arrays and positional parameters substituted, operators applied, unquoted
    /// expansions split on `IFS`, and every substitution in it (in operands and arithmetic too)
    /// analysed as a script.
    pub(super) fn expand(&mut self, raw: &str, ctx: Ctx) -> Vec<String> {
        if let Some(why) = self.unparseable(raw, 0) {
            self.limit(format!("a word {why}"));
        }
        if !raw.contains('{') {
            return self.expand_one(raw, ctx);
        }
        let raws = match braces::expand(raw, self.exec.limits.max_commands.max(1) * 4) {
            Ok(words) => words,
            Err(count) => {
                self.limit(format!("a brace expansion of {count} words"));
                vec![raw.to_string()]
            }
        };
        if raws.len() > 1 && !self.budget.spend(raws.iter().map(String::len).sum()) {
            return vec![raw.to_string()];
        }
        let mut out = Vec::new();
        for raw in &raws {
            out.extend(self.expand_one(raw, ctx));
        }
        out
    }

    fn expand_one(&mut self, raw: &str, ctx: Ctx) -> Vec<String> {
        let Some(pieces) = self.parse_word(raw) else {
            return vec![raw.replace(['\'', '"'], "")];
        };
        // Most words are plain text: nothing to expand, split or run.
        if let [Piece::Text(text)] = pieces.as_slice() {
            return vec![text.clone()];
        }
        let mut subs = Vec::new();
        // brush-parser cuts `$(case x in x) ...;; esac)` at the pattern's `)`; `Analyser::script`
        // analyses the bodies the shell sees for the whole script, this word included.
        self.substitutions_in(&pieces, &mut subs, 0);
        for s in subs {
            self.script(&s, ctx.deeper());
        }
        self.assign_defaults(&pieces);
        let ifs: Vec<char> = match self.vars.get("IFS") {
            Some(v) => v.chars().collect(),
            None => vec![' ', '\t', '\n'],
        };
        let mut fields = Fields::default();
        for p in &pieces {
            match p {
                Piece::Parameter(parameter) => match self.lookup(parameter) {
                    Some(values) if values.len() != 1 || is_list(parameter) => {
                        for (i, v) in values.iter().enumerate() {
                            if i > 0 {
                                fields.end();
                            }
                            fields.push_split(v, &ifs);
                        }
                    }
                    Some(values) => fields.push_split(&values[0], &ifs),
                    None => fields.push(&self.parameter(parameter)),
                },
                Piece::Substitution { .. } => {
                    let mut text = String::new();
                    self.literal_piece(p, &mut text);
                    fields.push_split(&text, &ifs);
                }
                Piece::DoubleQuoted(inner) => match inner.as_slice() {
                    // "$@" and "${a[@]}": one word per element.
                    [Piece::Parameter(parameter)] if is_list(parameter) => {
                        match self.lookup(parameter) {
                            Some(values) => {
                                for (i, v) in values.iter().enumerate() {
                                    if i > 0 {
                                        fields.end();
                                    }
                                    fields.push(v);
                                }
                            }
                            None => fields.push(&self.parameter(parameter)),
                        }
                    }
                    _ => {
                        let mut text = String::new();
                        self.literal_piece(p, &mut text);
                        fields.push(&text);
                    }
                },
                _ => {
                    let mut text = String::new();
                    self.literal_piece(p, &mut text);
                    fields.push(&text);
                }
            }
        }
        fields.finish()
    }

    /// Every substitution a word runs: in it, in double quotes, in operator operands and in
    /// arithmetic.
    fn substitutions_in(&self, pieces: &[Piece], out: &mut Vec<String>, depth: usize) {
        for p in pieces {
            match p {
                Piece::Substitution {
                    script,
                    backquoted: false,
                } => out.push(script.clone()),
                Piece::Substitution {
                    script,
                    backquoted: true,
                } => out.push(nesting::unescape_backquoted(script)),
                Piece::DoubleQuoted(inner) => self.substitutions_in(inner, out, depth),
                Piece::Arithmetic(expr) => out.extend(nesting::substitutions(expr)),
                Piece::Parameter(parameter) if depth < 4 => {
                    for operand in operands(parameter) {
                        if operand.contains(['$', '`']) {
                            if let Some(inner) = self.parse_word(operand) {
                                self.substitutions_in(&inner, out, depth + 1);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// `${x:=value}` assigns when `x` is unset or empty: later words see it.
    fn assign_defaults(&mut self, pieces: &[Piece]) {
        for p in pieces {
            match p {
                Piece::Parameter(Parameter::Operator(operation)) => {
                    if let (Parameter::Named(name), Operator::Assign(word)) =
                        (&operation.0, &operation.1)
                    {
                        if self.vars.get(name).is_none_or(|v| v.is_empty()) {
                            let value = self.expand_quiet(word);
                            self.vars.insert(name.clone(), value);
                        }
                    }
                }
                Piece::DoubleQuoted(inner) => self.assign_defaults(inner),
                _ => {}
            }
        }
    }
}

/// Whether a parameter stands for a list of words (`$@`, `${a[@]}`, `${@:2}`).
fn is_list(parameter: &Parameter) -> bool {
    match parameter {
        Parameter::AllPositional | Parameter::AllElements(_) => true,
        Parameter::Operator(operation) => {
            !matches!(operation.1, Operator::Length) && is_list(&operation.0)
        }
        _ => false,
    }
}

/// The operand words of an operator, which are expanded (and may run substitutions).
fn operands(parameter: &Parameter) -> Vec<&str> {
    match parameter {
        Parameter::Operator(operation) => {
            let (inner, op) = operation.as_ref();
            let mut out = operands(inner);
            match op {
                Operator::Default(w) | Operator::Assign(w) | Operator::Alternative(w) => {
                    out.push(w)
                }
                Operator::StripPrefix { pattern, .. } | Operator::StripSuffix { pattern, .. } => {
                    out.push(pattern)
                }
                Operator::Replace {
                    pattern,
                    replacement,
                    ..
                } => {
                    out.push(pattern);
                    out.push(replacement);
                }
                Operator::Substring(offset, length) => {
                    out.push(offset);
                    out.extend(length.as_deref());
                }
                _ => {}
            }
            out
        }
        Parameter::Element(_, index) => vec![index.as_str()],
        _ => Vec::new(),
    }
}

/// Words being built: text joins the current word, a split ends it.
#[derive(Default)]
struct Fields {
    words: Vec<String>,
    current: String,
    started: bool,
}

impl Fields {
    fn push(&mut self, text: &str) {
        self.current.push_str(text);
        self.started = true;
    }

    /// Unquoted expansion: split on `ifs`, empty fields dropped as the shell drops them for
    /// whitespace.
    fn push_split(&mut self, text: &str, ifs: &[char]) {
        let mut parts = text.split(|c| ifs.contains(&c)).peekable();
        let mut first = true;
        while let Some(part) = parts.next() {
            if !first {
                self.end();
            }
            first = false;
            if !part.is_empty() {
                self.push(part);
            }
            if parts.peek().is_none() {
                break;
            }
        }
    }

    fn end(&mut self) {
        if self.started && !self.current.is_empty() {
            self.words.push(std::mem::take(&mut self.current));
        }
        self.current.clear();
        self.started = false;
    }

    fn finish(mut self) -> Vec<String> {
        if self.started && !self.current.is_empty() {
            self.words.push(std::mem::take(&mut self.current));
        }
        if self.words.is_empty() {
            self.words.push(String::new());
        }
        self.words
    }
}

/// A shell pattern (`*`, `?`, `[...]`) as a matcher for whole strings.
fn pattern_matcher(pattern: &str) -> Option<globset::GlobMatcher> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(false)
        .backslash_escape(true)
        .build()
        .ok()
        .map(|g| g.compile_matcher())
}

/// Longest values a pattern operator is evaluated on: beyond, the result is unknown.
const MAX_PATTERN_VALUE: usize = 128;

/// `${x#p}`, `${x##p}`, `${x%p}`, `${x%%p}`.
fn strip(value: &str, pattern: &str, longest: bool, prefix: bool) -> Option<String> {
    let matcher = pattern_matcher(pattern)?;
    let mut cuts: Vec<usize> = value.char_indices().map(|(i, _)| i).collect();
    cuts.push(value.len());
    let ordered: Vec<usize> = match (prefix, longest) {
        (true, false) => cuts.clone(),
        (true, true) => cuts.iter().rev().copied().collect(),
        (false, false) => cuts.iter().rev().copied().collect(),
        (false, true) => cuts.clone(),
    };
    for cut in ordered {
        let (part, rest) = if prefix {
            (&value[..cut], &value[cut..])
        } else {
            (&value[cut..], &value[..cut])
        };
        if matcher.is_match(part) {
            return Some(rest.to_string());
        }
    }
    Some(value.to_string())
}

/// `${x/p/r}` and its forms: the longest match at the first position that matches.
fn replace(
    value: &str,
    pattern: &str,
    replacement: &str,
    all: bool,
    anchor: Option<Anchor>,
) -> Option<String> {
    let matcher = pattern_matcher(pattern)?;
    let mut cuts: Vec<usize> = value.char_indices().map(|(i, _)| i).collect();
    cuts.push(value.len());
    match anchor {
        Some(Anchor::Prefix) => {
            for &end in cuts.iter().rev() {
                if matcher.is_match(&value[..end]) {
                    return Some(format!("{replacement}{}", &value[end..]));
                }
            }
            return Some(value.to_string());
        }
        Some(Anchor::Suffix) => {
            for &start in &cuts {
                if matcher.is_match(&value[start..]) {
                    return Some(format!("{}{replacement}", &value[..start]));
                }
            }
            return Some(value.to_string());
        }
        None => {}
    }
    let mut out = String::new();
    let mut i = 0;
    let mut replaced = false;
    while i < cuts.len() {
        let start = cuts[i];
        if start == value.len() {
            break;
        }
        let found = (!replaced || all)
            .then(|| {
                cuts[i + 1..]
                    .iter()
                    .rev()
                    .find(|&&end| matcher.is_match(&value[start..end]))
                    .copied()
            })
            .flatten();
        match found {
            Some(end) => {
                out.push_str(replacement);
                replaced = true;
                i = cuts.iter().position(|&c| c == end).unwrap_or(cuts.len());
            }
            None => {
                let next = cuts[i + 1];
                out.push_str(&value[start..next]);
                i += 1;
            }
        }
    }
    Some(out)
}

/// `n$x$@map` with `x` unknown: the word as a shell with those variables unset sees it.
pub(super) fn strip_unknown_variables(word: &str) -> String {
    let mut out = String::new();
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('{') => {
                for n in chars.by_ref() {
                    if n == '}' {
                        break;
                    }
                }
            }
            Some(n) if n.is_ascii_alphanumeric() || *n == '_' => {
                while chars
                    .peek()
                    .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '_')
                {
                    chars.next();
                }
            }
            Some('@' | '*' | '#' | '?' | '!' | '-') => {
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// Whether a variable or substitution builds the program's own name (`n${x}map`, `$(echo nmap)`),
/// not just the directory it is in (`$JAVA_HOME/bin/java`, `${APP}/run.sh`, which name no
/// program by themselves and are how scripts find installed tools).
fn expansion_in_last_component(pieces: &[Piece]) -> bool {
    fn visit(pieces: &[Piece], found: &mut bool) {
        for p in pieces {
            match p {
                Piece::Text(t) | Piece::SingleQuoted(t) if t.contains('/') => {
                    *found = false;
                }
                Piece::Parameter(_) | Piece::Substitution { .. } => *found = true,
                Piece::DoubleQuoted(inner) => visit(inner, found),
                _ => {}
            }
        }
    }
    let mut found = false;
    visit(pieces, &mut found);
    found
}
