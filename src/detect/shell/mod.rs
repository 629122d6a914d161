//! Command normalisation: turns an argv (exec request, container command, probe) into the list of
//! programs it would run, however they are wrapped. Wrappers (`env`, `timeout`, `sudo`, busybox
//! applets...) are peeled, `sh -c` scripts are parsed with brush-parser into their pipelines,
//! lists, loops and substitutions, interpreter one-liners are kept for marker search, and base64
//! or hex payloads are decoded and analysed again. Quoting tricks are resolved and remembered as
//! obfuscation. All work is bounded by the policy's limits.

use std::collections::HashMap;

use base64::Engine as _;
use brush_parser::ast;
use brush_parser::word::{self, Parameter, ParameterExpr, WordPiece};

use crate::detect::budget::{Budget, COMMAND_COST};
use crate::detect::catalogue::{ExecCatalogue, Wrapper};

mod nesting;

/// One program the command would run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// Basename, with interpreter version suffixes removed where that names a known program.
    pub program: String,
    pub args: Vec<String>,
    /// Redirection targets (`> /dev/tcp/10.0.0.1/80`).
    pub redirects: Vec<String>,
    /// Runs inside a shell loop.
    pub in_loop: bool,
    /// The next program of the same pipeline, which reads this one's output.
    pub pipes_into: Option<String>,
    /// A shell or interpreter with no script or code: it reads commands from stdin.
    pub interactive: bool,
    /// Index into `args` of a `-c` script that was analysed on its own (its text is not matched
    /// again as a plain argument).
    pub script_arg: Option<usize>,
}

/// Everything the analyser learned from one argv.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub invocations: Vec<Invocation>,
    /// Interpreter code and here-documents: searched for markers, paths and destinations.
    pub code: Vec<String>,
    /// Shell scripts (`sh -c`): searched for markers only, their commands are invocations.
    pub scripts: Vec<String>,
    /// How the command hid itself (quoting tricks, variables, IFS).
    pub obfuscation: Vec<String>,
    /// Encoded payloads that were decoded, described.
    pub payloads: Vec<String>,
    /// Why part of the input was not analysed.
    pub limit: Option<String>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Ctx {
    /// Re-analyses: a script inside a script (`sh -c`, a payload, a substitution).
    depth: usize,
    /// Syntax nesting (compound commands, groups, substitutions) across all re-analyses: what
    /// the parser and the walk recurse on, bounded in total by `limits.max_nesting`.
    nesting: usize,
    in_loop: bool,
}

impl Ctx {
    fn deeper(self) -> Ctx {
        Ctx {
            depth: self.depth + 1,
            ..self
        }
    }
    fn nested(self) -> Ctx {
        Ctx {
            nesting: self.nesting + 1,
            ..self
        }
    }
    fn looping(self) -> Ctx {
        Ctx {
            in_loop: true,
            ..self
        }
    }
}

/// brush-parser's PEG grammars backtrack exponentially on nested `((` and `$((` (the arithmetic
/// and subshell readings of a parenthesis): 12 levels took over a second, 14 took 20 s when
/// fuzzed. Real scripts stay under 4; beyond this a script or word is not given to the parser.
const MAX_PAREN_DEPTH: usize = 8;
/// brush-parser also backtracks exponentially on nested `case` clauses that are not closed
/// (found by cargo fuzz: 16 levels took 0.13 s, 20 took 2 s, 30 over a minute). Real scripts
/// nest `case` two or three deep.
const MAX_CASE_DEPTH: usize = 6;
const MIN_PAYLOAD_LEN: usize = 12;

/// Analyses one argv, spending from `budget` (shared by every argv of the request).
pub fn analyse(exec: &ExecCatalogue, argv: &[String], budget: &Budget) -> Analysis {
    let mut analyser = Analyser {
        exec,
        budget,
        out: Analysis::default(),
        commands: 0,
        vars: HashMap::new(),
    };
    let max_args = exec.limits.max_commands.max(1) * 4;
    let max_bytes = exec.limits.max_script_bytes;
    if argv.len() > max_args {
        analyser.limit(format!("more than {max_args} arguments"));
    }
    if argv.iter().any(|a| a.len() > max_bytes) {
        analyser.limit(format!("an argument longer than {max_bytes} bytes"));
    }
    let argv: Vec<String> = argv
        .iter()
        .take(max_args)
        .map(|a| truncate(a, max_bytes))
        .collect();
    analyser.argv(argv, Vec::new(), None, Ctx::default());
    if budget.exhausted() {
        analyser.limit(format!(
            "the request's work budget of {} units is spent",
            budget.total()
        ));
    }
    analyser.out
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

struct Analyser<'p> {
    exec: &'p ExecCatalogue,
    budget: &'p Budget,
    out: Analysis,
    commands: usize,
    /// Literal assignments seen in scripts (`a=nm; b=ap; $a$b ...`).
    vars: HashMap<String, String>,
}

fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

impl Analyser<'_> {
    /// Whether a script or word may be handed to the parser at this syntax nesting.
    fn parseable(&self, text: &str, ctx_nesting: usize) -> bool {
        self.unparseable(text, ctx_nesting).is_none()
    }

    /// Why a script or word must not be handed to the parser at this syntax nesting, if it
    /// must not: past the nesting limit the parser's recursion, past the parenthesis and case
    /// depths its backtracking, would be unbounded.
    fn unparseable(&self, text: &str, ctx_nesting: usize) -> Option<String> {
        let n = nesting::scan(text);
        let max = self.exec.limits.max_nesting;
        if ctx_nesting + n.depth > max {
            Some(format!(
                "nested {} levels deep (more than {max})",
                ctx_nesting + n.depth
            ))
        } else if n.parens > MAX_PAREN_DEPTH {
            Some(format!(
                "{} parentheses deep (more than {MAX_PAREN_DEPTH})",
                n.parens
            ))
        } else if n.cases > MAX_CASE_DEPTH {
            Some(format!(
                "case clauses nested {} deep (more than {MAX_CASE_DEPTH})",
                n.cases
            ))
        } else {
            None
        }
    }

    /// A shell word's pieces, when it is safe to parse, the budget covers it, and it parses.
    fn parse_word(&self, raw: &str) -> Option<Vec<word::WordPieceWithSource>> {
        if !self.parseable(raw, 0) || !self.budget.spend(raw.len()) {
            return None;
        }
        parse_word(raw)
    }

    fn limit(&mut self, why: String) {
        if self.out.limit.is_none() {
            self.out.limit = Some(why);
        }
    }

    fn known(&self, name: &str) -> bool {
        let e = self.exec;
        e.programs.contains_key(name)
            || e.wrappers.contains_key(name)
            || e.shells.contains(name)
            || e.interpreters.contains(name)
            || e.netcat.contains(name)
            || e.socat.contains(name)
            || e.downloaders.contains(name)
            || e.network_clients.contains(name)
    }

    /// `/usr/bin/python3.11` -> `python3`, `./linpeas.sh` -> `linpeas.sh`, `nmap` -> `nmap`.
    fn canonical_program(&self, raw: &str) -> String {
        let base = basename(raw.trim());
        if self.known(base) {
            return base.to_string();
        }
        let mut candidates = Vec::new();
        let no_minor = base.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        if let Some((stem, _)) = base.split_once('.') {
            candidates.push(stem.to_string());
        }
        candidates.push(no_minor.to_string());
        // python3.11 -> python3: keep the major version.
        if let Some(idx) = base.find('.') {
            candidates.push(base[..idx].to_string());
        }
        candidates
            .into_iter()
            .find(|c| !c.is_empty() && self.known(c))
            .unwrap_or_else(|| base.to_string())
    }

    fn argv(
        &mut self,
        argv: Vec<String>,
        redirects: Vec<String>,
        pipes_into: Option<String>,
        ctx: Ctx,
    ) {
        let Some(first) = argv.first() else {
            return;
        };
        if self.commands >= self.exec.limits.max_commands {
            self.limit(format!(
                "more than {} commands",
                self.exec.limits.max_commands
            ));
            return;
        }
        if ctx.depth > self.exec.limits.max_depth {
            self.limit(format!(
                "nested deeper than {} levels",
                self.exec.limits.max_depth
            ));
            return;
        }
        // Every argument is matched against the catalogues: a command costs its text too.
        let text_len: usize = argv.iter().map(String::len).sum();
        if !self.budget.spend(COMMAND_COST + text_len) {
            return;
        }
        self.commands += 1;
        let program = self.canonical_program(first);
        let args: Vec<String> = argv[1..].to_vec();
        let index = self.out.invocations.len();
        self.out.invocations.push(Invocation {
            program: program.clone(),
            args: args.clone(),
            redirects,
            in_loop: ctx.in_loop,
            pipes_into,
            interactive: false,
            script_arg: None,
        });

        for arg in &args {
            self.decode_payload(arg, ctx);
        }

        if let Some(wrapper) = self.exec.wrappers.get(&program).cloned() {
            self.wrapper(&wrapper, &args, index, ctx);
        } else if self.exec.shells.contains(&program) {
            self.shell(&args, index, ctx);
        } else if self.exec.interpreters.contains(&program) {
            self.interpreter(&args, index, ctx);
        }
    }

    fn wrapper(&mut self, spec: &Wrapper, args: &[String], index: usize, ctx: Ctx) {
        let mut skip = spec.skip;
        let mut user_seen = !spec.user_argument;
        let mut script_seen = false;
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            if arg == "--" {
                i += 1;
                break;
            }
            if spec.skip_assignments && is_assignment(arg) {
                i += 1;
                continue;
            }
            if arg.starts_with('-') && arg.len() > 1 {
                if let Some((value, consumed)) =
                    option_value(arg, args.get(i + 1), &spec.script_options)
                {
                    script_seen = true;
                    self.script(&value, ctx.deeper());
                    i += consumed;
                    continue;
                }
                if let Some((_, consumed)) =
                    option_value(arg, args.get(i + 1), &spec.options_with_value)
                {
                    i += consumed;
                    continue;
                }
                i += 1;
                continue;
            }
            if skip > 0 {
                skip -= 1;
                i += 1;
                continue;
            }
            if !user_seen {
                user_seen = true;
                i += 1;
                continue;
            }
            break;
        }
        let rest: Vec<String> = args[i.min(args.len())..].to_vec();
        if rest.is_empty() {
            if spec.user_argument && !script_seen {
                // `su root`: a login shell reading from stdin.
                self.out.invocations[index].interactive = true;
            }
            return;
        }
        if spec.joins_arguments {
            self.script(&rest.join(" "), ctx.deeper());
        } else if rest.len() == 1 && rest[0].contains(char::is_whitespace) {
            // `watch 'ps aux'`, `xargs sh -c`-style single strings run through a shell.
            self.script(&rest[0], ctx.deeper());
        } else {
            self.argv(rest, Vec::new(), None, ctx.deeper());
        }
    }

    fn shell(&mut self, args: &[String], index: usize, ctx: Ctx) {
        let mut wants_script = false;
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            if arg == "--" {
                i += 1;
                break;
            }
            if (arg.starts_with('-') || arg.starts_with('+')) && arg.len() > 1 {
                if arg.starts_with("--") {
                    i += 1;
                    continue;
                }
                let flags = &arg[1..];
                if flags.contains('c') {
                    wants_script = true;
                }
                // `-o pipefail` takes a value.
                if flags.ends_with('o') || flags.ends_with('O') {
                    i += 1;
                }
                i += 1;
                continue;
            }
            break;
        }
        match args.get(i) {
            Some(script) if wants_script => {
                let script = script.clone();
                self.out.invocations[index].script_arg = Some(i);
                self.out.scripts.push(script.clone());
                self.script(&script, ctx.deeper());
            }
            Some(file) => {
                // `bash linpeas.sh args`: the script's own name says what it is.
                let rest = args[i..].to_vec();
                if self.known(&self.canonical_program(file)) {
                    self.argv(rest, Vec::new(), None, ctx.deeper());
                }
            }
            None => self.out.invocations[index].interactive = true,
        }
    }

    fn interpreter(&mut self, args: &[String], index: usize, ctx: Ctx) {
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            if self.exec.code_options.contains(arg.as_str()) {
                if let Some(code) = args.get(i + 1) {
                    let code = code.clone();
                    self.out.invocations[index].script_arg = Some(i + 1);
                    self.code(&code, ctx);
                }
                return;
            }
            if arg == "-m" {
                // `python -m module`: a module by name, nothing inline.
                return;
            }
            if arg.starts_with('-') && arg.len() > 1 {
                i += 1;
                continue;
            }
            let rest = args[i..].to_vec();
            if self.known(&self.canonical_program(&args[i])) {
                self.argv(rest, Vec::new(), None, ctx.deeper());
            }
            return;
        }
        self.out.invocations[index].interactive = true;
    }

    /// Inline interpreter code: kept for markers; its string literals that look like commands
    /// are analysed as scripts, and literal program names as invocations.
    fn code(&mut self, code: &str, ctx: Ctx) {
        self.out.code.push(code.to_string());
        for literal in string_literals(code) {
            self.decode_payload(&literal, ctx);
            if literal.contains(char::is_whitespace) {
                self.script(&literal, ctx.deeper());
            } else if self.known(&literal) {
                self.argv(vec![literal], Vec::new(), None, ctx.deeper());
            }
        }
    }

    fn decode_payload(&mut self, arg: &str, ctx: Ctx) {
        if arg.len() < MIN_PAYLOAD_LEN {
            return;
        }
        if !self.budget.spend(arg.len()) {
            return;
        }
        let Some((kind, text)) = decode(arg) else {
            return;
        };
        if ctx.depth >= self.exec.limits.max_depth {
            self.limit(format!(
                "{kind} payload nested deeper than {} levels",
                self.exec.limits.max_depth
            ));
            return;
        }
        self.out.payloads.push(format!(
            "{kind} payload decoding to {:?}",
            truncate(&text, 60)
        ));
        // The payload may be code for any interpreter: markers apply to it as well.
        self.out.code.push(text.clone());
        self.script(&text, ctx.deeper());
    }

    fn script(&mut self, text: &str, ctx: Ctx) {
        if ctx.depth > self.exec.limits.max_depth {
            self.limit(format!(
                "nested deeper than {} levels",
                self.exec.limits.max_depth
            ));
            return;
        }
        let max = self.exec.limits.max_script_bytes;
        let text = if text.len() > max {
            self.limit(format!("script longer than {max} bytes"));
            truncate(text, max)
        } else {
            text.to_string()
        };
        if !self.budget.spend(text.len()) {
            return;
        }
        if text.contains("$IFS") || text.contains("${IFS") {
            self.obfuscated("uses $IFS as a word separator");
        }
        if text.contains("<<") {
            // brush-parser 0.4's here-document tokenizer can loop forever on malformed input
            // (found by cargo fuzz); the fallback splitter reads here-documents line by line.
            self.fallback(&text, ctx);
            return;
        }
        if let Some(why) = self.unparseable(&text, ctx.nesting) {
            self.limit(why);
            self.fallback(&text, ctx);
            return;
        }
        match parse_script(&text) {
            Some(program) => {
                for complete in &program.complete_commands {
                    self.compound_list(complete, ctx);
                }
            }
            None => self.fallback(&text, ctx),
        }
    }

    /// When a script does not parse, split it on shell operators and whitespace: cruder, but
    /// nothing goes unseen. Since the command boundaries are guesses, every known program in a
    /// line also starts a command of its own.
    fn fallback(&mut self, text: &str, ctx: Ctx) {
        let normalised: String = text
            .chars()
            .map(|c| match c {
                ';' | '|' | '&' | '\n' | '(' | ')' | '{' | '}' | '`' | '$' | '<' | '>' | '\''
                | '"' => '\n',
                c => c,
            })
            .collect();
        for line in normalised.lines() {
            let words: Vec<String> = line
                .split_whitespace()
                .map(|w| w.replace('\\', ""))
                .filter(|w| !w.is_empty())
                .collect();
            let (redirect_targets, words): (Vec<String>, Vec<String>) = words
                .into_iter()
                .partition(|w| w.starts_with("/dev/tcp/") || w.starts_with("/dev/udp/"));
            let starts: Vec<usize> = (0..words.len())
                .filter(|&i| i == 0 || self.known(&self.canonical_program(&words[i])))
                .collect();
            for (n, start) in starts.into_iter().enumerate() {
                if self.budget.exhausted() {
                    return;
                }
                if self.commands >= self.exec.limits.max_commands {
                    self.limit(format!(
                        "more than {} commands",
                        self.exec.limits.max_commands
                    ));
                    return;
                }
                let redirects = if n == 0 {
                    redirect_targets.clone()
                } else {
                    Vec::new()
                };
                self.argv(words[start..].to_vec(), redirects, None, ctx);
            }
        }
    }

    fn obfuscated(&mut self, how: &str) {
        if !self.out.obfuscation.iter().any(|o| o == how) {
            self.out.obfuscation.push(how.to_string());
        }
    }

    fn compound_list(&mut self, list: &ast::CompoundList, ctx: Ctx) {
        for item in &list.0 {
            let and_or = &item.0;
            self.pipeline(&and_or.first, ctx);
            for next in &and_or.additional {
                match next {
                    ast::AndOr::And(p) | ast::AndOr::Or(p) => self.pipeline(p, ctx),
                }
            }
        }
    }

    fn pipeline(&mut self, pipeline: &ast::Pipeline, ctx: Ctx) {
        let stages: Vec<Option<Vec<String>>> = pipeline
            .seq
            .iter()
            .map(|cmd| match cmd {
                ast::Command::Simple(sc) => Some(self.quiet_words(sc)),
                _ => None,
            })
            .collect();
        let names: Vec<Option<String>> = stages
            .iter()
            .map(|s| s.as_ref()?.first().map(|w| self.canonical_program(w)))
            .collect();
        // What flows between stages when it is known: `echo 'nmap ...' | sh`,
        // `echo pamn | rev | sh`, `printf '\x6e...' | bash`.
        let mut flow: Option<Flow> = None;
        for (i, cmd) in pipeline.seq.iter().enumerate() {
            let pipes_into = names.get(i + 1).cloned().flatten();
            if let (Some(f), Some(Some(argv))) = (&flow, stages.get(i)) {
                self.stdin_into(argv, f, ctx);
            }
            self.command(cmd, pipes_into, ctx);
            flow = match stages.get(i) {
                Some(Some(argv)) => constant_output(argv, flow.take()),
                _ => None,
            };
        }
    }

    /// Known text piped into a shell or an interpreter is what it runs.
    fn stdin_into(&mut self, argv: &[String], flow: &Flow, ctx: Ctx) {
        let text = flow.text.as_str();
        let Some(first) = argv.first() else {
            return;
        };
        let program = self.canonical_program(first);
        let reads_script = argv[1..].iter().all(|a| a.starts_with('-'));
        if self.exec.shells.contains(&program) && reads_script {
            if flow.decoded {
                self.out.payloads.push(format!(
                    "decoded text piped into {program}: {:?}",
                    truncate(text, 60)
                ));
            }
            self.script(text, ctx.deeper());
        } else if self.exec.interpreters.contains(&program) && reads_script {
            self.code(text, ctx);
        }
    }

    /// The words of a simple command, expanded without analysing anything.
    fn quiet_words(&self, sc: &ast::SimpleCommand) -> Vec<String> {
        let mut words = Vec::new();
        if let Some(name) = &sc.word_or_name {
            words.push(self.expand_quiet(&name.value));
        }
        for item in sc.suffix.iter().flat_map(|s| s.0.iter()) {
            if let ast::CommandPrefixOrSuffixItem::Word(w) = item {
                words.push(self.expand_quiet(&w.value));
            }
        }
        words
    }

    fn command(&mut self, cmd: &ast::Command, pipes_into: Option<String>, ctx: Ctx) {
        match cmd {
            ast::Command::Simple(sc) => self.simple(sc, pipes_into, ctx),
            ast::Command::Compound(cc, redirects) => {
                self.compound(cc, ctx);
                if let Some(r) = redirects {
                    for redirect in &r.0 {
                        self.redirect_target(redirect, ctx);
                    }
                }
            }
            ast::Command::Function(def) => self.compound(&def.body.0, ctx),
            ast::Command::ExtendedTest(..) => {}
        }
    }

    fn compound(&mut self, cc: &ast::CompoundCommand, ctx: Ctx) {
        // The pre-scan bounds the tree's depth; this counter keeps the walk bounded on its own.
        let ctx = ctx.nested();
        if ctx.nesting > self.exec.limits.max_nesting {
            self.limit(format!(
                "nested deeper than {} levels",
                self.exec.limits.max_nesting
            ));
            return;
        }
        match cc {
            ast::CompoundCommand::BraceGroup(b) => self.compound_list(&b.list, ctx),
            ast::CompoundCommand::Subshell(s) => self.compound_list(&s.list, ctx),
            ast::CompoundCommand::ForClause(f) => {
                for value in f.values.iter().flatten() {
                    self.expand(&value.value, ctx);
                }
                self.compound_list(&f.body.list, ctx.looping());
            }
            ast::CompoundCommand::ArithmeticForClause(f) => {
                self.compound_list(&f.body.list, ctx.looping())
            }
            ast::CompoundCommand::WhileClause(w) | ast::CompoundCommand::UntilClause(w) => {
                self.compound_list(&w.0, ctx.looping());
                self.compound_list(&w.1.list, ctx.looping());
            }
            ast::CompoundCommand::IfClause(i) => {
                self.compound_list(&i.condition, ctx);
                self.compound_list(&i.then, ctx);
                for e in i.elses.iter().flatten() {
                    if let Some(c) = &e.condition {
                        self.compound_list(c, ctx);
                    }
                    self.compound_list(&e.body, ctx);
                }
            }
            ast::CompoundCommand::CaseClause(c) => {
                for item in &c.cases {
                    if let Some(cmd) = &item.cmd {
                        self.compound_list(cmd, ctx);
                    }
                }
            }
            ast::CompoundCommand::Coprocess(c) => self.command(&c.body, None, ctx),
            // `$(...)` inside an arithmetic expression runs; and brush-parser 0.4 reads nested
            // subshells written `( ( cmd ) )` as an arithmetic command, which bash does not. The
            // expression is analysed as a script: arithmetic on variables names no program.
            ast::CompoundCommand::Arithmetic(a) => self.script(&a.expr.value, ctx.deeper()),
        }
    }

    /// A redirection's target file, or a here-document fed to a shell.
    fn redirect_target(&mut self, redirect: &ast::IoRedirect, ctx: Ctx) -> Option<String> {
        match redirect {
            ast::IoRedirect::File(_, _, target) => match target {
                ast::IoFileRedirectTarget::Filename(w)
                | ast::IoFileRedirectTarget::Duplicate(w) => {
                    Some(self.expand(&w.value, ctx).join(" "))
                }
                ast::IoFileRedirectTarget::ProcessSubstitution(_, sub) => {
                    self.compound_list(&sub.list, ctx.deeper());
                    None
                }
                ast::IoFileRedirectTarget::Fd(_) => None,
            },
            ast::IoRedirect::OutputAndError(w, _) => Some(self.expand(&w.value, ctx).join(" ")),
            ast::IoRedirect::HereString(_, w) => {
                let body = self.expand(&w.value, ctx).join(" ");
                self.out.code.push(body);
                None
            }
            ast::IoRedirect::HereDocument(_, doc) => {
                self.out.code.push(doc.doc.value.clone());
                None
            }
        }
    }

    fn simple(&mut self, sc: &ast::SimpleCommand, pipes_into: Option<String>, ctx: Ctx) {
        let mut words: Vec<String> = Vec::new();
        let mut redirects: Vec<String> = Vec::new();
        let mut here_bodies = Vec::new();
        for item in sc.prefix.iter().flat_map(|p| p.0.iter()) {
            self.item(
                item,
                true,
                ctx,
                &mut words,
                &mut redirects,
                &mut here_bodies,
            );
        }
        if let Some(name) = &sc.word_or_name {
            self.inspect_command_name(&name.value);
            let mut expanded = self.expand(&name.value, ctx);
            // `n${x}map`: an unset variable expands to nothing.
            if let Some(first) = expanded.first_mut() {
                if !self.known(&self.canonical_program(first)) {
                    let emptied = strip_unknown_variables(first);
                    if self.known(&self.canonical_program(&emptied)) {
                        *first = emptied;
                    }
                }
            }
            words.extend(expanded);
        }
        for item in sc.suffix.iter().flat_map(|s| s.0.iter()) {
            self.item(
                item,
                false,
                ctx,
                &mut words,
                &mut redirects,
                &mut here_bodies,
            );
        }
        if words.is_empty() {
            // Only assignments and redirections: `> /dev/tcp/10.0.0.1/80` still connects.
            if !redirects.is_empty() {
                self.argv(vec![":".to_string()], redirects, pipes_into, ctx);
            }
            return;
        }
        let feeds_shell = self
            .exec
            .shells
            .contains(&self.canonical_program(&words[0]));
        self.argv(words, redirects, pipes_into, ctx);
        if feeds_shell {
            for body in here_bodies {
                self.script(&body, ctx.deeper());
            }
        }
    }

    fn item(
        &mut self,
        item: &ast::CommandPrefixOrSuffixItem,
        in_prefix: bool,
        ctx: Ctx,
        words: &mut Vec<String>,
        redirects: &mut Vec<String>,
        here_bodies: &mut Vec<String>,
    ) {
        match item {
            ast::CommandPrefixOrSuffixItem::Word(w) => words.extend(self.expand(&w.value, ctx)),
            ast::CommandPrefixOrSuffixItem::AssignmentWord(a, w) => {
                if !in_prefix {
                    words.extend(self.expand(&w.value, ctx));
                } else if let (
                    ast::AssignmentName::VariableName(n),
                    ast::AssignmentValue::Scalar(v),
                ) = (&a.name, &a.value)
                {
                    let value = self.expand(&v.value, ctx).join(" ");
                    self.vars.insert(n.clone(), value);
                }
            }
            ast::CommandPrefixOrSuffixItem::IoRedirect(r) => {
                match r {
                    ast::IoRedirect::HereDocument(_, doc) => {
                        here_bodies.push(doc.doc.value.clone())
                    }
                    ast::IoRedirect::HereString(_, w) => {
                        here_bodies.push(self.expand(&w.value, ctx).join(" "))
                    }
                    _ => {}
                }
                if let Some(t) = self.redirect_target(r, ctx) {
                    redirects.push(t);
                }
            }
            ast::CommandPrefixOrSuffixItem::ProcessSubstitution(_, sub) => {
                self.compound_list(&sub.list, ctx.deeper());
            }
        }
    }

    /// The output of a substitution that only prints constants (`$(echo nmap)`,
    /// `$(printf '\x6e\x6d\x61\x70')`, `$(echo pamn | rev)`), when that is all it does.
    fn constant_script_output(&self, script: &str) -> Option<String> {
        if script.len() > self.exec.limits.max_script_bytes
            || !self.parseable(script, 0)
            || !self.budget.spend(script.len())
        {
            return None;
        }
        let program = parse_script(script)?;
        let [complete] = program.complete_commands.as_slice() else {
            return None;
        };
        let [item] = complete.0.as_slice() else {
            return None;
        };
        if !item.0.additional.is_empty() {
            return None;
        }
        let mut flow = None;
        for cmd in &item.0.first.seq {
            let ast::Command::Simple(sc) = cmd else {
                return None;
            };
            flow = Some(constant_output(&self.quiet_words(sc), flow)?);
        }
        flow.map(|f| f.text)
    }

    /// Quoting inside a command name (`n''map`, `$'\x6e\x6d\x61\x70'`, `\nmap` aside) and names
    /// built from variables or substitutions have no innocent use.
    fn inspect_command_name(&mut self, raw: &str) {
        let Some(pieces) = self.parse_word(raw) else {
            return;
        };
        let has_quote = pieces.iter().any(|p| {
            matches!(
                p.piece,
                WordPiece::SingleQuotedText(_)
                    | WordPiece::DoubleQuotedSequence(_)
                    | WordPiece::AnsiCQuotedText(_)
            )
        });
        if has_quote && pieces.len() > 1 {
            self.obfuscated("splits a command name with quotes");
        }
        if pieces
            .iter()
            .any(|p| matches!(&p.piece, WordPiece::AnsiCQuotedText(t) if t.contains('\\')))
            || raw.starts_with("$'")
        {
            self.obfuscated("spells a command name with escape sequences");
        }
        if pieces.iter().any(|p| {
            matches!(
                p.piece,
                WordPiece::ParameterExpansion(_)
                    | WordPiece::CommandSubstitution(_)
                    | WordPiece::BackquotedCommandSubstitution(_)
            )
        }) {
            self.obfuscated("builds a command name from variables or substitutions");
        }
    }

    fn expand_quiet(&self, raw: &str) -> String {
        match self.parse_word(raw) {
            Some(pieces) => {
                let mut out = String::new();
                for p in &pieces {
                    self.literal_piece(&p.piece, &mut out);
                }
                out
            }
            None => raw.replace(['\'', '"'], ""),
        }
    }

    fn literal_piece(&self, piece: &WordPiece, out: &mut String) {
        match piece {
            WordPiece::Text(t) | WordPiece::SingleQuotedText(t) => out.push_str(t),
            WordPiece::AnsiCQuotedText(t) => out.push_str(&ansi_c_unescape(t)),
            WordPiece::EscapeSequence(t) => out.push_str(t.strip_prefix('\\').unwrap_or(t)),
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => {
                for p in inner {
                    self.literal_piece(&p.piece, out);
                }
            }
            WordPiece::TildeExpansion(_) => out.push('~'),
            WordPiece::ParameterExpansion(expr) => out.push_str(&self.parameter(expr)),
            WordPiece::CommandSubstitution(script)
            | WordPiece::BackquotedCommandSubstitution(script) => {
                match self.constant_script_output(script) {
                    Some(text) => out.push_str(text.trim_end_matches('\n')),
                    None => out.push_str("$(...)"),
                }
            }
            WordPiece::ArithmeticExpression(_) => out.push_str("$((...))"),
        }
    }

    fn parameter(&self, expr: &ParameterExpr) -> String {
        let name = match expr {
            ParameterExpr::Parameter { parameter, .. } => match parameter {
                Parameter::Named(n) => n.clone(),
                other => return format!("${other}"),
            },
            _ => return "${...}".to_string(),
        };
        if name == "IFS" {
            return " ".to_string();
        }
        if name == "SHELL" || name == "BASH" {
            return "sh".to_string();
        }
        match self.vars.get(&name) {
            Some(v) => v.clone(),
            None => format!("${{{name}}}"),
        }
    }

    /// Expands one shell word into the words it becomes: quotes removed, known variables
    /// substituted, `$IFS` splitting, substitutions analysed as scripts.
    fn expand(&mut self, raw: &str, ctx: Ctx) -> Vec<String> {
        if let Some(why) = self.unparseable(raw, 0) {
            self.limit(format!("a word {why}"));
        }
        let Some(pieces) = self.parse_word(raw) else {
            return vec![raw.replace(['\'', '"'], "")];
        };
        let mut subs = Vec::new();
        collect_substitutions(&pieces, &mut subs);
        // brush-parser's word parser ends `$(case x in x) ...;; esac)` at the pattern's `)`;
        // the pre-scan finds the body the shell runs. Both are analysed.
        for body in nesting::substitutions(raw) {
            if !subs.contains(&body) {
                subs.push(body);
            }
        }
        for s in subs {
            self.script(&s, ctx.deeper());
        }
        let mut out = String::new();
        let mut split = false;
        for p in &pieces {
            if let WordPiece::ParameterExpansion(expr) = &p.piece {
                if self.parameter(expr) == " " {
                    split = true;
                }
            }
            self.literal_piece(&p.piece, &mut out);
        }
        if split {
            out.split_whitespace().map(str::to_string).collect()
        } else {
            vec![out]
        }
    }
}

/// Text flowing through a pipeline; `decoded` once a stage transformed it (base64, hex, rev,
/// escape sequences), which is how payloads are hidden.
#[derive(Debug, Clone)]
struct Flow {
    text: String,
    decoded: bool,
}

/// What a stage prints when its output depends only on its arguments and its (known) input.
fn constant_output(argv: &[String], input: Option<Flow>) -> Option<Flow> {
    let (first, args) = argv.split_first()?;
    let has = |flags: &[&str]| args.iter().any(|a| flags.contains(&a.as_str()));
    let was_decoded = input.as_ref().is_some_and(|f| f.decoded);
    let input = input.map(|f| f.text);
    let decoded = |text: String| {
        Some(Flow {
            text,
            decoded: true,
        })
    };
    match basename(first) {
        "echo" => {
            let words: Vec<&str> = args
                .iter()
                .map(String::as_str)
                .skip_while(|a| matches!(*a, "-n" | "-e" | "-E" | "-ne" | "-en"))
                .collect();
            let text = words.join(" ");
            let unescaped = if has(&["-e", "-ne", "-en"]) {
                ansi_c_unescape(&text)
            } else {
                text.clone()
            };
            Some(Flow {
                decoded: unescaped != text,
                text: unescaped,
            })
        }
        "printf" => {
            let format = args.first()?;
            let unescaped = ansi_c_unescape(format);
            let decoded = unescaped != *format;
            let mut text = unescaped;
            for value in &args[1..] {
                text = text.replacen("%s", value, 1);
            }
            Some(Flow { text, decoded })
        }
        "base64" if has(&["-d", "--decode", "-D"]) => {
            let cleaned: String = input?.split_whitespace().collect();
            let cleaned = cleaned.trim_end_matches('=');
            let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(cleaned.as_bytes())
                .or_else(|_| {
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cleaned.as_bytes())
                })
                .ok()?;
            decoded(String::from_utf8(bytes).ok()?)
        }
        "xxd" if has(&["-r"]) && has(&["-p", "-ps", "-plain"]) => {
            let hex: String = input?.split_whitespace().collect();
            decoded(String::from_utf8(hex_decode(&hex)?).ok()?)
        }
        "rev" if args.is_empty() => decoded(
            input?
                .lines()
                .map(|l| l.chars().rev().collect::<String>())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        "cat" if args.is_empty() => Some(Flow {
            text: input?,
            decoded: was_decoded,
        }),
        _ => None,
    }
}

/// `n$x$@map` with `x` unknown: the word as a shell with those variables unset sees it.
fn strip_unknown_variables(word: &str) -> String {
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

fn collect_substitutions(pieces: &[word::WordPieceWithSource], out: &mut Vec<String>) {
    for p in pieces {
        match &p.piece {
            WordPiece::CommandSubstitution(s) => out.push(s.clone()),
            WordPiece::BackquotedCommandSubstitution(s) => {
                out.push(nesting::unescape_backquoted(s))
            }
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => collect_substitutions(inner, out),
            _ => {}
        }
    }
}

fn is_assignment(arg: &str) -> bool {
    match arg.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }
        None => false,
    }
}

/// If `arg` is one of `options`, its value and how many arguments it used: `-n 5` (2),
/// `-n5` (1), `--adjustment=5` (1).
fn option_value(arg: &str, next: Option<&String>, options: &[String]) -> Option<(String, usize)> {
    for opt in options {
        if arg == opt {
            return Some((next.cloned().unwrap_or_default(), 2));
        }
        if opt.starts_with("--") {
            if let Some(v) = arg
                .strip_prefix(opt.as_str())
                .and_then(|r| r.strip_prefix('='))
            {
                return Some((v.to_string(), 1));
            }
        } else if opt.len() == 2 && arg.starts_with(opt.as_str()) && !arg.starts_with("--") {
            return Some((arg[2..].to_string(), 1));
        }
    }
    None
}

/// A shell word's pieces, if it parses. Callers check nesting and budget first.
fn parse_word(raw: &str) -> Option<Vec<word::WordPieceWithSource>> {
    let raw = without_control_characters(raw);
    shielded(|| word::parse(&raw, &brush_parser::ParserOptions::default()).ok()).flatten()
}

/// A script's syntax tree, if it parses. Callers check nesting and budget first.
fn parse_script(text: &str) -> Option<ast::Program> {
    if text.contains("<<") {
        return None;
    }
    let text = without_control_characters(text);
    let options = brush_parser::ParserOptions::default();
    shielded(|| {
        brush_parser::Parser::new(std::io::Cursor::new(text.as_bytes()), &options)
            .parse_program()
            .ok()
    })
    .flatten()
}

/// Control characters other than tab and newline become spaces before parsing: brush-parser
/// 0.4's tokenizer loops forever on a here-document operator followed by `\r` or `\f` in some
/// contexts (found by cargo fuzz), and for detection a stray `\r` is whitespace anyway.
fn without_control_characters(text: &str) -> std::borrow::Cow<'_, str> {
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        text.chars()
            .map(|c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    ' '
                } else {
                    c
                }
            })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// Runs the parser so that a panic inside it (brush-parser 0.4 unwraps an over-long
/// redirection number, `99999999999> x`, found by cargo fuzz) is a parse failure, not a crash.
fn shielded<T>(parse: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse)).ok()
}

/// Bash `$'...'` escapes.
pub fn ansi_c_unescape(s: &str) -> String {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 >= bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let c = bytes[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'e' | b'E' => out.push(27),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'\\' | b'\'' | b'"' | b'?' => out.push(c),
            b'x' => {
                let hex: String = s[i..]
                    .chars()
                    .take(2)
                    .take_while(|c| c.is_ascii_hexdigit())
                    .collect();
                i += hex.len();
                out.push(u8::from_str_radix(&hex, 16).unwrap_or(b'x'));
            }
            b'0'..=b'7' => {
                let oct: String = std::iter::once(c as char)
                    .chain(
                        s[i..]
                            .chars()
                            .take(2)
                            .take_while(|c| ('0'..='7').contains(c)),
                    )
                    .collect();
                i += oct.len() - 1;
                out.push(u8::from_str_radix(&oct, 8).unwrap_or(0));
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Quoted string literals in interpreter code (`'...'`, `"..."`), unescaped loosely.
fn string_literals(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' && c != '"' {
            continue;
        }
        let mut lit = String::new();
        while let Some(n) = chars.next() {
            if n == '\\' {
                if let Some(e) = chars.next() {
                    lit.push(e);
                }
                continue;
            }
            if n == c {
                break;
            }
            lit.push(n);
        }
        if !lit.is_empty() {
            out.push(lit);
        }
        if out.len() >= 64 {
            break;
        }
    }
    out
}

/// A base64 or hex payload that decodes to readable text worth analysing.
pub fn decode(arg: &str) -> Option<(&'static str, String)> {
    let trimmed = arg.trim();
    if trimmed.len() < MIN_PAYLOAD_LEN {
        return None;
    }
    let readable = |bytes: Vec<u8>| -> Option<String> {
        let text = String::from_utf8(bytes).ok()?;
        let printable = text
            .chars()
            .filter(|c| !c.is_control() || c.is_whitespace())
            .count();
        let shaped = text.contains(' ') || text.contains('/');
        (printable * 100 >= text.chars().count() * 95 && shaped && !text.trim().is_empty())
            .then_some(text)
    };
    if trimmed.contains("\\x") {
        let hex: String = trimmed
            .split("\\x")
            .skip(1)
            .filter_map(|h| h.get(..2))
            .collect();
        if hex.len() >= 8 {
            if let Some(t) = hex_decode(&hex).and_then(readable) {
                return Some(("hex", t));
            }
        }
    }
    if trimmed.len() % 2 == 0 && trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
        if let Some(t) = hex_decode(trimmed).and_then(readable) {
            return Some(("hex", t));
        }
    }
    let b64 = trimmed
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'));
    if b64 && !trimmed.starts_with('/') {
        let unpadded = trimmed.trim_end_matches('=');
        for engine in [
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ] {
            if let Ok(bytes) = engine.decode(unpadded) {
                if let Some(t) = readable(bytes) {
                    return Some(("base64", t));
                }
            }
        }
    }
    None
}

fn hex_decode(hex: &str) -> Option<Vec<u8>> {
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}
