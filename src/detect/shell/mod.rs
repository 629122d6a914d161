//! Command normalisation: turns an argv (exec request, container command, probe) into the list of
//! programs it would run, however they are wrapped. Wrappers (`env`, `timeout`, `sudo`, busybox
//! applets...) are peeled, `sh -c` scripts are parsed with brush-parser into their pipelines,
//! lists, loops and substitutions, interpreter one-liners are kept for marker search, and base64
//! or hex payloads are decoded and analysed again. Quoting tricks are resolved and remembered as
//! obfuscation. All work is bounded by the policy's limits.
//!
//! This module holds the argument grammars (wrappers, shells, interpreters) and the limits;
//! `syntax` guards brush-parser, `walk` walks its tree, `words` expands words, `fold` folds
//! constant pipelines, `payload` decodes, `fallback` splits what is not parsed, and `nesting`
//! measures nesting before anything is parsed.

use std::collections::HashMap;

use crate::detect::budget::{Budget, COMMAND_COST};
use crate::detect::catalogue::{ExecCatalogue, Wrapper};
use args::{is_assignment, option_value};
use payload::{decode, string_literals};

mod args;
mod braces;
mod fallback;
mod fold;
mod heredoc;
mod ir;
mod loops;
mod nesting;
mod payload;
mod syntax;
mod walk;
mod words;

pub use payload::ansi_c_unescape;

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
    /// Inside a loop, the variables its innermost loop changes between iterations (its `for`
    /// variable, what its body assigns or reads into): a destination built from one of them
    /// walks many destinations, one built from anything else is the same each time round.
    pub loop_variables: Vec<String>,
    /// The next program of the same pipeline, which reads this one's output.
    pub pipes_into: Option<String>,
    /// Whether that next program runs what it reads as a script (`| sh`, `| python3`) rather
    /// than reading it as data (`| awk '{print $2}'`, `| sh -c 'cat > f'`).
    pub pipe_runs_input: bool,
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
/// A command-name pattern matching more catalogued programs than this names none in
/// particular: it is judged as a name built at run time.
const MAX_GLOB_PROGRAMS: usize = 8;

/// Analyses one argv, spending from `budget` (shared by every argv of the request).
pub fn analyse(exec: &ExecCatalogue, argv: &[String], budget: &Budget) -> Analysis {
    let mut analyser = Analyser {
        exec,
        budget,
        out: Analysis::default(),
        commands: 0,
        vars: HashMap::new(),
        heredocs: Vec::new(),
        files: HashMap::new(),
        unresolved: None,
        arrays: HashMap::new(),
        positional: None,
        varying: Vec::new(),
        pipe_runs_input: true,
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
    analyser.argv(&argv, Vec::new(), None, Ctx::default());
    analyser.unresolved_command(&argv);
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
    /// Here-documents taken out of every script parsed so far, by placeholder number.
    heredocs: Vec<heredoc::HereDoc>,
    /// Files the script wrote with known text (`echo 'nmap x' > f`, `cat > f <<EOF`): what
    /// `. f`, `sh f` or `./f` later runs.
    files: HashMap<String, String>,
    /// A command name the analysis could not resolve (`"$@"`, `$(curl ...)`, `${x/a/b}`), as
    /// written.
    unresolved: Option<String>,
    /// Arrays assigned in scripts (`a=(x nmap)`).
    arrays: HashMap<String, Vec<String>>,
    /// Positional parameters set by `set -- ...`; `None` while unknown.
    positional: Option<Vec<String>>,
    /// What the innermost loop being walked changes between iterations (`loops`).
    varying: Vec<String>,
    /// Whether the next stage of the pipeline being walked runs its input as a script.
    pipe_runs_input: bool,
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

    /// Whether the command count or the work budget is used up; the count is reported as a limit
    /// (the budget reports itself once the analysis ends).
    fn out_of_commands(&mut self) -> bool {
        if self.budget.exhausted() {
            return true;
        }
        let max = self.exec.limits.max_commands;
        if self.commands >= max {
            self.limit(format!("more than {max} commands"));
            return true;
        }
        false
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

    /// One command. `argv` is borrowed at every nesting level (a wrapper's command is a slice of
    /// its arguments); the invocation record keeps the one copy.
    fn argv(
        &mut self,
        argv: &[String],
        redirects: Vec<String>,
        pipes_into: Option<String>,
        ctx: Ctx,
    ) {
        let Some(first) = argv.first() else {
            return;
        };
        if self.out_of_commands() {
            return;
        }
        if walk::is_glob(first) && !self.known(&self.canonical_program(first)) {
            // `/usr/bin/nm?p`, also behind a wrapper (`env /usr/bin/do?ker`): the pattern runs
            // whatever it matches; every catalogued program it can match counts as that one.
            let mut matched = self.catalogued_matches(first);
            if matched.is_empty() || matched.len() > MAX_GLOB_PROGRAMS {
                // `/*/*`: any program at all, as unknown as a name built at run time.
                self.unresolved.get_or_insert_with(|| first.clone());
                matched.clear();
            }
            for program in matched {
                let mut each = vec![program];
                each.extend(argv[1..].iter().cloned());
                self.argv(&each, redirects.clone(), pipes_into.clone(), ctx);
            }
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
        // What runs the rest, looked up before the name moves into the record.
        let exec = self.exec;
        let wrapper = exec.wrappers.get(&program);
        let shell = exec.shells.contains(&program);
        let interpreter = exec.interpreters.contains(&program);
        let index = self.out.invocations.len();
        self.out.invocations.push(Invocation {
            program,
            args: argv[1..].to_vec(),
            redirects,
            in_loop: ctx.in_loop,
            loop_variables: if ctx.in_loop {
                self.varying.clone()
            } else {
                Vec::new()
            },
            pipe_runs_input: pipes_into.is_some() && self.pipe_runs_input,
            pipes_into,
            interactive: false,
            script_arg: None,
        });

        let args = &argv[1..];
        for arg in args {
            self.decode_payload(arg, ctx);
        }

        if let Some(wrapper) = wrapper {
            self.wrapper(wrapper, args, index, ctx);
        } else if shell {
            self.shell(args, index, ctx);
        } else if interpreter {
            self.interpreter(args, index, ctx);
        }
    }

    fn wrapper(&mut self, spec: &Wrapper, args: &[String], index: usize, ctx: Ctx) {
        // `parallel CMD ::: inputs`: the inputs are split off and given to the command after.
        let separator = args
            .iter()
            .position(|a| spec.input_separators.iter().any(|s| s == a));
        let (args, inputs): (&[String], Vec<String>) = match separator {
            Some(at) => (
                &args[..at],
                args[at + 1..]
                    .iter()
                    .filter(|a| !spec.input_separators.iter().any(|s| s == *a))
                    .take(8)
                    .cloned()
                    .collect(),
            ),
            None => (args, Vec::new()),
        };
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
            if spec.lookup_options.iter().any(|o| o == arg) {
                // `command -v docker`: the rest is looked up, not run.
                return;
            }
            if spec.argv_options.iter().any(|o| o == arg) {
                // `find / -exec cmd {} ;`: a command up to `;` or `+`.
                let end = args[i + 1..]
                    .iter()
                    .position(|a| matches!(a.as_str(), ";" | "+" | "\\;"))
                    .map_or(args.len(), |p| i + 1 + p);
                let command = &args[i + 1..end];
                if command.len() == 1 && command[0].contains(char::is_whitespace) {
                    self.script(&command[0], ctx.deeper());
                } else {
                    self.argv(command, Vec::new(), None, ctx.deeper());
                }
                i = end + 1;
                continue;
            }
            if arg.starts_with('-') && arg.len() > 1 {
                if let Some((value, consumed)) =
                    option_value(arg, args.get(i + 1), &spec.script_options)
                {
                    script_seen = true;
                    self.wrapper_script(spec, &value, ctx);
                    i += consumed;
                    continue;
                }
                if let Some((_, consumed)) =
                    option_value(arg, args.get(i + 1), &spec.options_with_value)
                {
                    i += consumed;
                    continue;
                }
                // Combined flags whose last one takes a value: `screen -dmS name`, or a script:
                // `script -qc 'cmd'`.
                if let Some(last) = arg.strip_prefix('-').and_then(|c| c.chars().last()) {
                    let cluster =
                        arg.len() > 2 && arg[1..].chars().all(|c| c.is_ascii_alphabetic());
                    let last = format!("-{last}");
                    if cluster && spec.script_options.contains(&last) {
                        if let Some(value) = args.get(i + 1) {
                            script_seen = true;
                            let value = value.clone();
                            self.wrapper_script(spec, &value, ctx);
                        }
                        i += 2;
                        continue;
                    }
                    if cluster && spec.options_with_value.contains(&last) {
                        i += 2;
                        continue;
                    }
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
            if !spec.runs_rest {
                // `find / -name x -exec ...`: positional arguments are no command; keep looking.
                i += 1;
                continue;
            }
            break;
        }
        if !spec.runs_rest {
            return;
        }
        let rest = &args[i.min(args.len())..];
        if separator.is_some() {
            for input in inputs {
                if rest.is_empty() {
                    self.script(&input, ctx.deeper());
                } else {
                    let mut argv = rest.to_vec();
                    argv.push(input);
                    self.argv(&argv, Vec::new(), None, ctx.deeper());
                }
            }
            return;
        }
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

    /// A wrapper's script option value: a shell script, or for tools with a command language
    /// of their own, the shell command after one of their escape prefixes.
    fn wrapper_script(&mut self, spec: &Wrapper, value: &str, ctx: Ctx) {
        if spec.script_prefixes.is_empty() {
            self.script(value, ctx.deeper());
            return;
        }
        let trimmed = value.trim_start();
        if let Some(prefix) = spec
            .script_prefixes
            .iter()
            .find(|p| trimmed.starts_with(p.as_str()))
        {
            let script = trimmed[prefix.len()..]
                .trim_end_matches(')')
                .trim_matches(['"', '\''])
                .to_string();
            self.script(&script, ctx.deeper());
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
                if self.known(&self.canonical_program(file)) {
                    self.argv(&args[i..], Vec::new(), None, ctx.deeper());
                }
            }
            None => self.out.invocations[index].interactive = true,
        }
    }

    fn interpreter(&mut self, args: &[String], index: usize, ctx: Ctx) {
        let program = self.out.invocations[index].program.clone();
        if self.exec.positional_code.contains(&program) {
            self.positional_code(args, index, ctx);
            return;
        }
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
            if let Some(code) = self.combined_code(arg, args.get(i + 1)) {
                // `-Ic CODE`, `-ne CODE`, `-cCODE`: read as code, but keep scanning in case the
                // cluster was something else (`perl -Mposix -e CODE`).
                self.code(&code, ctx);
                i += 1;
                continue;
            }
            if arg == "-m" {
                // `python -m module`: a module by name, nothing inline.
                return;
            }
            if arg.starts_with('-') && arg.len() > 1 {
                i += 1;
                continue;
            }
            if self.known(&self.canonical_program(&args[i])) {
                self.argv(&args[i..], Vec::new(), None, ctx.deeper());
            }
            return;
        }
        self.out.invocations[index].interactive = true;
    }

    /// The code a combined option cluster gives: `-Ic CODE` and `-ne CODE` (a code option last,
    /// the code is `next`), `-cCODE` (a code option first, the code attached).
    fn combined_code(&self, arg: &str, next: Option<&String>) -> Option<String> {
        let cluster = arg.strip_prefix('-').filter(|c| !c.starts_with('-'))?;
        // `-c` spelled without allocating: this runs for every option of every interpreter.
        let is_code = |c: char| {
            let mut option = [0u8; 8];
            option[0] = b'-';
            let len = 1 + c.encode_utf8(&mut option[1..]).len();
            std::str::from_utf8(&option[..len]).is_ok_and(|o| self.exec.code_options.contains(o))
        };
        let first = cluster.chars().next()?;
        let last = cluster.chars().last()?;
        if cluster.len() > 1 && cluster.chars().all(|c| c.is_ascii_alphabetic()) && is_code(last) {
            return next.cloned();
        }
        if cluster.len() > 1 && is_code(first) {
            return Some(cluster[first.len_utf8()..].to_string());
        }
        None
    }

    /// `awk [-F sep] [-v x=1] 'program' files`: the first positional argument is the program,
    /// whose strings are read for commands (`system("...")`, `print ... | "sh"`).
    fn positional_code(&mut self, args: &[String], index: usize, ctx: Ctx) {
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            if arg == "-f" || arg.starts_with("--file") {
                // The program is in a file.
                return;
            }
            if arg == "--" {
                i += 1;
                break;
            }
            if arg.starts_with('-') && arg.len() > 1 {
                let takes_value = self.exec.positional_code_options.iter().any(|o| o == arg);
                i += if takes_value { 2 } else { 1 };
                continue;
            }
            break;
        }
        if let Some(code) = args.get(i) {
            let code = code.clone();
            self.out.invocations[index].script_arg = Some(i);
            self.code(&code, ctx);
        }
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
                self.argv(&[literal], Vec::new(), None, ctx.deeper());
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
        if let Some(why) = self.unparseable(&text, ctx.nesting) {
            self.limit(why);
            self.fallback(&text, ctx);
            return;
        }
        // brush-parser 0.4's here-document tokenizer can loop forever on malformed input (found
        // by cargo fuzz): here-documents are taken out first (`heredoc`), and a script where a
        // `<<` is left for the parser goes to the fallback splitter.
        match syntax::parse_script(&text, self.heredocs.len()) {
            Some((script, docs)) => {
                self.heredocs.extend(docs);
                self.walk(&script, ctx);
            }
            None => self.fallback(&text, ctx),
        }
        if text.contains("case") && text.contains("$(") {
            // brush-parser's tokenizer and word parser both end `$(case x in x) ...)` at the
            // pattern's `)`; the substitutions as the shell sees them are analysed too, once
            // for the whole script.
            for body in nesting::substitutions(&text) {
                self.script(&body, ctx.deeper());
            }
        }
    }

    /// A command name the script builds at run time, in a script that names a program that
    /// denies by its name alone (`set -- nmap -sS net; "$@"`, `c=${x:-nmap}; $c`), is taken for
    /// that program: whatever the shell resolves the name to, the script holds the tool.
    fn unresolved_command(&mut self, argv: &[String]) {
        let Some(raw) = self.unresolved.clone() else {
            return;
        };
        let mut named: Vec<String> = Vec::new();
        for text in argv.iter().chain(self.out.code.iter()) {
            for word in text
                .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')))
            {
                let word = word.to_ascii_lowercase();
                if self.exec.unresolved_names.contains(&word) && !named.contains(&word) {
                    named.push(word);
                }
            }
        }
        for program in named {
            self.obfuscated(&format!(
                "runs a command whose name is built at run time ({}) in a script that names {program}",
                truncate(&raw, 40)
            ));
            self.out.invocations.push(Invocation {
                program,
                ..Invocation::default()
            });
        }
    }

    fn obfuscated(&mut self, how: &str) {
        if !self.out.obfuscation.iter().any(|o| o == how) {
            self.out.obfuscation.push(how.to_string());
        }
    }
}
