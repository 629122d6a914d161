//! The walk over a parsed script: lists, pipelines (with what flows between their stages),
//! compound commands, simple commands, their words and redirections. Every compound level
//! counts towards `limits.max_nesting`.

use super::fold::{constant_output, Flow};
use super::ir::{Command, Compound, Item, Pipeline, Redirect, Script, SimpleCommand};
use super::words::strip_unknown_variables;
use super::{heredoc, loops, nesting, truncate, Analyser, Ctx};
use crate::detect::catalogue::Wrapper;

/// A file name that is standard input itself (`-`, `/dev/stdin`, fd 0).
fn names_stdin(word: &str) -> bool {
    matches!(word, "-" | "/dev/stdin" | "/proc/self/fd/0" | "/dev/fd/0")
}

/// Whether a word has a pathname pattern in it (`nm?p`, `/usr/*/x`, `ma[s]scan`); `[` alone is
/// the test command.
pub(super) fn is_glob(word: &str) -> bool {
    word.contains(['*', '?'])
        || word
            .find('[')
            .is_some_and(|open| word[open + 1..].find(']').is_some_and(|close| close > 0))
}

/// The text of a here-document with an unquoted delimiter as its reader gets it, expansions
/// aside: backslashes before `$`, `` ` ``, `\` and newline are removed.
fn unescape_here_document(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some('$' | '`' | '\\') => {
                    out.extend(chars.next());
                    continue;
                }
                Some('\n') => {
                    chars.next();
                    continue;
                }
                _ => {}
            }
        }
        out.push(c);
    }
    out
}

/// A path as the script names it for its own files: `./f` and `f` are one file.
fn file_key(path: &str) -> String {
    path.trim().trim_start_matches("./").to_string()
}

impl Analyser<'_> {
    pub(super) fn walk(&mut self, script: &Script, ctx: Ctx) {
        self.walk_into(script, ctx, None);
    }

    /// A script whose output goes to `sink`: a process substitution read by a command
    /// (`bash <(curl URL)` runs what curl prints, as `curl URL | bash` does).
    fn walk_into(&mut self, script: &Script, ctx: Ctx, sink: Option<&str>) {
        for pipeline in &script.0 {
            self.pipeline(pipeline, ctx, sink);
        }
    }

    fn pipeline(&mut self, pipeline: &Pipeline, ctx: Ctx, sink: Option<&str>) {
        let stages: Vec<Option<Vec<String>>> = pipeline
            .0
            .iter()
            .map(|cmd| match cmd {
                Command::Simple(sc) => Some(self.quiet_words(sc)),
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
        let outer_runs_input = self.pipe_runs_input;
        for (i, cmd) in pipeline.0.iter().enumerate() {
            let pipes_into = match names.get(i + 1) {
                Some(next) => next.clone(),
                None => sink.map(str::to_string),
            };
            // A next stage that is not a simple command, or a sink, is not known to read data.
            self.pipe_runs_input = match stages.get(i + 1) {
                Some(Some(next)) => self.reads_program_from_stdin(next),
                _ => true,
            };
            if let (Some(f), Some(Some(argv))) = (&flow, stages.get(i)) {
                self.stdin_into(argv, f, ctx);
            }
            self.command(cmd, pipes_into, ctx);
            flow = match stages.get(i) {
                Some(Some(argv)) => constant_output(argv, flow.take()),
                _ => None,
            };
        }
        self.pipe_runs_input = outer_runs_input;
        // `source <(echo 'cmd')`, `bash <(printf ...)`: what the substitution prints is run.
        if let (Some(sink), Some(f)) = (sink, &flow) {
            self.stdin_into(&[sink.to_string()], f, ctx);
        }
    }

    /// Known text piped into a shell or an interpreter is what it runs.
    pub(super) fn stdin_into(&mut self, argv: &[String], flow: &Flow, ctx: Ctx) {
        let text = flow.text.as_str();
        let Some(first) = argv.first() else {
            return;
        };
        let program = self.canonical_program(first);
        let reads_script = argv[1..].iter().all(|a| a.starts_with('-'));
        if let Some(spec) = self
            .exec
            .wrappers
            .get(&program)
            .filter(|w| !w.replace_options.is_empty())
            .cloned()
        {
            self.arguments_from_stdin(&spec, &argv[1..], text, ctx);
        } else if self.runs_stdin(&program, &argv[1..]) {
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

    /// `echo nmap | xargs -I{} {} -sS net`, `echo 10.0.0.1 | xargs nmap`: the command with the
    /// input in place of the replacement string, or appended to it.
    fn arguments_from_stdin(&mut self, spec: &Wrapper, args: &[String], input: &str, ctx: Ctx) {
        let mut replace: Option<String> = None;
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            if arg == "--" {
                i += 1;
                break;
            }
            if !arg.starts_with('-') || arg.len() < 2 {
                break;
            }
            if let Some((value, consumed)) =
                super::args::option_value(arg, args.get(i + 1), &spec.replace_options)
            {
                replace = Some(value);
                i += consumed;
                continue;
            }
            if let Some(attached) = spec
                .replace_options
                .iter()
                .find_map(|o| arg.strip_prefix(o.as_str()).filter(|v| !v.is_empty()))
            {
                replace = Some(attached.to_string());
                i += 1;
                continue;
            }
            match super::args::option_value(arg, args.get(i + 1), &spec.options_with_value) {
                Some((_, consumed)) => i += consumed,
                None => i += 1,
            }
        }
        let command: Vec<String> = args[i.min(args.len())..].to_vec();
        let command = if command.is_empty() {
            vec!["echo".to_string()]
        } else {
            command
        };
        match replace {
            Some(r) => {
                for line in input.lines().filter(|l| !l.trim().is_empty()).take(8) {
                    let argv: Vec<String> =
                        command.iter().map(|w| w.replace(&r, line.trim())).collect();
                    self.argv(&argv, Vec::new(), None, ctx.deeper());
                }
            }
            None => {
                let mut argv = command;
                argv.extend(input.split_whitespace().take(64).map(str::to_string));
                self.argv(&argv, Vec::new(), None, ctx.deeper());
            }
        }
    }

    /// The words of a simple command, expanded without analysing anything.
    pub(super) fn quiet_words(&self, sc: &SimpleCommand) -> Vec<String> {
        let mut words = Vec::new();
        if let Some(name) = &sc.name {
            words.push(self.expand_quiet(name));
        }
        for item in &sc.suffix {
            if let Item::Word(w) = item {
                words.push(self.expand_quiet(w));
            }
        }
        words
    }

    pub(super) fn command(&mut self, cmd: &Command, pipes_into: Option<String>, ctx: Ctx) {
        match cmd {
            Command::Simple(sc) => self.simple(sc, pipes_into, ctx),
            Command::Compound(cc, redirects) => {
                self.compound(cc, ctx);
                for redirect in redirects {
                    self.redirect_target(redirect, ctx, None);
                }
            }
            Command::Test(words) => {
                // Nothing runs but the substitutions in its words.
                for word in words {
                    self.expand(word, ctx);
                }
            }
        }
    }

    /// Walks a loop's scripts knowing what changes between its iterations: those variables'
    /// values from before the loop no longer hold, and a destination built from one of them is
    /// many destinations. Only the innermost loop counts: `for svc in a b; do until nc -z $svc
    /// 80; do sleep 1; done; done` waits for each service in turn, it does not sweep.
    fn walk_loop(&mut self, mut names: Vec<String>, scripts: &[&Script], ctx: Ctx) {
        names.sort();
        names.dedup();
        for name in &names {
            self.vars.remove(name);
            self.arrays.remove(name);
        }
        let outer = std::mem::replace(&mut self.varying, names);
        for script in scripts {
            self.walk(script, ctx.looping());
        }
        self.varying = outer;
    }

    pub(super) fn compound(&mut self, cc: &Compound, ctx: Ctx) {
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
            Compound::Group(list) => self.walk(list, ctx),
            Compound::For {
                variable,
                values,
                body,
            } => {
                // The list is data the body reads (`for p in /proc/[0-9]*`): its words are
                // matched like arguments, as a command named `for` that no catalogue lists.
                let mut words = vec!["for".to_string()];
                for value in values.iter().flatten() {
                    words.extend(self.expand(value, ctx));
                }
                if words.len() > 1 {
                    self.argv(&words, Vec::new(), None, ctx);
                }
                let mut names = vec![variable.clone()];
                loops::assigned_names(&[body], &mut names);
                self.walk_loop(names, &[body], ctx);
            }
            Compound::ArithmeticFor { header, body } => {
                let mut names = loops::identifiers(header);
                loops::assigned_names(&[body], &mut names);
                self.walk_loop(names, &[body], ctx);
            }
            Compound::Loop { condition, body } => {
                let mut names = Vec::new();
                loops::assigned_names(&[condition, body], &mut names);
                self.walk_loop(names, &[condition, body], ctx);
            }
            Compound::If(branches) => {
                for branch in branches {
                    self.walk(branch, ctx);
                }
            }
            Compound::Case { words, branches } => {
                for word in words {
                    self.expand(word, ctx);
                }
                for branch in branches {
                    self.walk(branch, ctx);
                }
            }
            Compound::Coprocess(body) => self.command(body, None, ctx),
            // `$(...)` inside an arithmetic expression runs; and brush-parser 0.4 reads nested
            // subshells written `( ( cmd ) )` as an arithmetic command, which bash does not. The
            // expression is analysed as a script: arithmetic on variables names no program.
            Compound::Arithmetic(expr) => self.script(expr, ctx.deeper()),
        }
    }

    /// A redirection's target file; the substitutions of a here-string or of a here-document
    /// whose delimiter is unquoted, which run whoever reads the text.
    /// `consumer`: the program whose input a `< <(...)` process substitution becomes.
    pub(super) fn redirect_target(
        &mut self,
        redirect: &Redirect,
        ctx: Ctx,
        consumer: Option<&str>,
    ) -> Option<String> {
        match redirect {
            Redirect::File(w) | Redirect::Write(w) | Redirect::OutputAndError(w) => {
                Some(self.expand(w, ctx).join(" "))
            }
            Redirect::ProcessSubstitution { read, script } => {
                self.walk_into(script, ctx.deeper(), consumer.filter(|_| *read));
                None
            }
            Redirect::Fd | Redirect::HereDocument(_) => None,
            Redirect::HereString(w) => {
                match self.here_document(w) {
                    Some(doc) if doc.expands => {
                        for body in nesting::substitutions(&doc.body) {
                            self.script(&body, ctx.deeper());
                        }
                    }
                    Some(_) => {}
                    None => {
                        self.expand(w, ctx);
                    }
                }
                None
            }
        }
    }

    /// The here-document a here-string placeholder stands for.
    fn here_document(&self, word: &str) -> Option<heredoc::HereDoc> {
        heredoc::index_of(word).and_then(|i| self.heredocs.get(i).cloned())
    }

    /// The text a here-string or here-document gives its command's standard input, without
    /// analysing it (its substitutions are walked with the redirection).
    fn here_text(&self, redirect: &Redirect) -> Option<String> {
        match redirect {
            Redirect::HereString(w) => Some(match self.here_document(w) {
                // An unquoted delimiter: the shell reads `\$`, `\``, `\\` and a backslash-newline
                // as it does in double quotes before the reader gets the text.
                Some(doc) if doc.expands => unescape_here_document(&doc.body),
                Some(doc) => doc.body,
                None => self.expand_quiet(w),
            }),
            Redirect::HereDocument(body) => Some(body.clone()),
            _ => None,
        }
    }

    /// Catalogued names a pathname pattern's last component matches (`nm?p`: nmap).
    pub(super) fn catalogued_matches(&self, pattern: &str) -> Vec<String> {
        let last = pattern.rsplit('/').next().unwrap_or(pattern);
        let Ok(glob) = globset::GlobBuilder::new(last)
            .literal_separator(true)
            .build()
            .map(|g| g.compile_matcher())
        else {
            return Vec::new();
        };
        let e = self.exec;
        let mut names: Vec<String> = e
            .programs
            .keys()
            .chain(e.wrappers.keys())
            .chain(e.shells.iter())
            .chain(e.interpreters.iter())
            .chain(e.netcat.iter())
            .chain(e.socat.iter())
            .chain(e.downloaders.iter())
            .filter(|n| glob.is_match(n.as_str()))
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// What the shell's builtins change for the commands after them: positional parameters
    /// (`set --`), variables (`read`, `printf -v`), and code they keep to run later (`alias`,
    /// `trap`), which is analysed where it is defined, as a function's body is.
    fn builtin(&mut self, words: &[String], here_bodies: &[String], ctx: Ctx) {
        let Some((name, args)) = words.split_first() else {
            return;
        };
        match name.as_str() {
            "set" => {
                let mut rest = args.iter().skip_while(|a| {
                    (a.starts_with('-') || a.starts_with('+')) && a.as_str() != "--"
                });
                match rest.clone().next().map(String::as_str) {
                    Some("--") => {
                        rest.next();
                        self.positional = Some(rest.cloned().collect());
                    }
                    Some(_) => self.positional = Some(rest.cloned().collect()),
                    None => {}
                }
            }
            "read" => {
                let mut names = Vec::new();
                let mut array = None;
                let mut i = 0;
                while i < args.len() {
                    match args[i].as_str() {
                        // `-a NAME`, also last in a cluster (`-ra NAME`).
                        a if a.starts_with('-') && a.len() > 1 && a.ends_with('a') => {
                            array = args.get(i + 1).cloned();
                            i += 2;
                        }
                        a if a.starts_with('-')
                            && a.len() > 1
                            && a.ends_with(['d', 'p', 'n', 'N', 't', 'u', 'i']) =>
                        {
                            i += 2
                        }
                        a if a.starts_with('-') => i += 1,
                        a => {
                            names.push(a.to_string());
                            i += 1;
                        }
                    }
                }
                let Some(input) = here_bodies.first() else {
                    for n in names {
                        self.vars.remove(&n);
                    }
                    return;
                };
                let line = input.lines().next().unwrap_or("").trim().to_string();
                if let Some(array) = array {
                    self.arrays
                        .insert(array, line.split_whitespace().map(str::to_string).collect());
                }
                let fields: Vec<&str> = line.split_whitespace().collect();
                for (i, n) in names.iter().enumerate() {
                    let value = if i + 1 == names.len() {
                        fields.get(i..).map(|f| f.join(" ")).unwrap_or_default()
                    } else {
                        fields.get(i).map(|f| f.to_string()).unwrap_or_default()
                    };
                    self.vars.insert(n.clone(), value);
                }
            }
            "printf" if args.first().is_some_and(|a| a == "-v") && args.len() >= 3 => {
                let mut argv = vec!["printf".to_string()];
                argv.extend(args[2..].iter().cloned());
                if let Some(flow) = constant_output(&argv, None) {
                    self.vars.insert(args[1].clone(), flow.text);
                }
            }
            "mapfile" | "readarray" => {
                let mut name = "MAPFILE".to_string();
                let mut i = 0;
                while i < args.len() {
                    let a = args[i].as_str();
                    if a.starts_with('-') && a.ends_with(['d', 'n', 'O', 's', 'u', 'C', 'c']) {
                        i += 2;
                    } else if a.starts_with('-') {
                        i += 1;
                    } else {
                        name = a.to_string();
                        i += 1;
                    }
                }
                let lines = here_bodies
                    .first()
                    .map(|t| t.lines().map(str::to_string).collect())
                    .unwrap_or_default();
                self.arrays.insert(name, lines);
            }
            "unset" => {
                for a in args.iter().filter(|a| !a.starts_with('-')) {
                    self.vars.remove(a);
                    self.arrays.remove(a);
                }
            }
            "alias" => {
                for a in args {
                    if let Some((_, body)) = a.split_once('=') {
                        self.script(body, ctx.deeper());
                    }
                }
            }
            "trap" => {
                let args: Vec<&String> = args.iter().filter(|a| a.as_str() != "--").collect();
                if let [handler, _, ..] = args.as_slice() {
                    if !handler.starts_with('-') {
                        self.script(handler, ctx.deeper());
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether `program` with `args` runs the script it reads on standard input: a shell with
    /// options only (`sh`, `bash -s`), or `.`/`source` of standard input.
    pub(super) fn runs_stdin(&self, program: &str, args: &[String]) -> bool {
        if self.exec.shells.contains(program) {
            return args.iter().all(|a| a.starts_with('-'));
        }
        matches!(program, "." | "source")
            && args.first().is_none_or(|a| {
                names_stdin(a) || a.starts_with("/dev/fd/") || a.starts_with("/proc/self/fd/")
            })
    }

    /// Whether a pipeline stage runs what it reads as a program (`sh`, `bash -s`, `python3`,
    /// `perl -`) rather than reading it as data (`awk '/HTTP/{print $2}'`, `python3 -c CODE`,
    /// `sh -c 'cat > f'`, `grep x`): `curl URL | awk ...` parses a page, it runs nothing.
    pub(super) fn reads_program_from_stdin(&self, argv: &[String]) -> bool {
        let Some((first, args)) = argv.split_first() else {
            return true;
        };
        let program = self.canonical_program(first);
        // `bash /dev/stdin`, `python3 -`: the file it runs is the pipe.
        let script_is_stdin = || {
            args.iter()
                .find(|a| !a.starts_with('-') || *a == "-")
                .is_none_or(|a| names_stdin(a))
        };
        if self.exec.shells.contains(&program) || matches!(program.as_str(), "." | "source") {
            return self.runs_stdin(&program, args)
                || (!args.iter().any(|a| a == "-c") && script_is_stdin());
        }
        // A wrapper (`sudo bash -s`, `timeout 60 sh`) runs the first shell or interpreter after
        // it; `sudo tee /etc/x` runs neither.
        if self.exec.wrappers.contains_key(&program) {
            let runner = args.iter().position(|a| {
                let name = self.canonical_program(a);
                self.exec.shells.contains(&name) || self.exec.interpreters.contains(&name)
            });
            return runner.is_some_and(|i| self.reads_program_from_stdin(&args[i..]));
        }
        if !self.exec.interpreters.contains(&program)
            || self.exec.positional_code.contains(&program)
        {
            return false;
        }
        let code = args.iter().any(|a| {
            self.exec.code_options.contains(a.as_str()) || self.combined_code(a, None).is_some()
        });
        !code && script_is_stdin()
    }

    pub(super) fn simple(&mut self, sc: &SimpleCommand, pipes_into: Option<String>, ctx: Ctx) {
        let mut words: Vec<String> = Vec::new();
        let mut redirects: Vec<String> = Vec::new();
        let mut here_bodies = Vec::new();
        for item in &sc.prefix {
            self.item(
                item,
                (true, None),
                ctx,
                &mut words,
                &mut redirects,
                &mut here_bodies,
            );
        }
        let written: Vec<String> = sc
            .prefix
            .iter()
            .chain(sc.suffix.iter())
            .filter_map(|item| match item {
                Item::Redirect(Redirect::Write(w)) => Some(self.expand_quiet(w)),
                _ => None,
            })
            .collect();
        if let Some(name) = &sc.name {
            self.inspect_command_name(name);
            let mut expanded = self.expand(name, ctx);
            // `n${x}map`: an unset variable expands to nothing.
            if let Some(first) = expanded.first_mut() {
                if !self.known(&self.canonical_program(first)) {
                    let emptied = strip_unknown_variables(first);
                    if self.known(&self.canonical_program(&emptied)) {
                        *first = emptied;
                    }
                }
            }
            if expanded.first().is_none_or(|n| n.contains('$')) {
                self.unresolved.get_or_insert_with(|| name.clone());
            }
            words.extend(expanded);
        }
        let consumer = words.first().map(|w| self.canonical_program(w));
        for item in &sc.suffix {
            self.item(
                item,
                (false, consumer.as_deref()),
                ctx,
                &mut words,
                &mut redirects,
                &mut here_bodies,
            );
        }
        self.builtin(&words, &here_bodies, ctx);
        if words.is_empty() {
            // Only assignments and redirections: `> /dev/tcp/10.0.0.1/80` still connects.
            if !redirects.is_empty() {
                self.argv(&[":".to_string()], redirects, pipes_into, ctx);
            }
            return;
        }
        let program = self.canonical_program(&words[0]);
        // A shell given a here-document reads it as its script unless `-c` says otherwise
        // (`bash -s arg <<EOF`, `sh <<EOF`); read it as one either way: it is code given to a
        // shell.
        let feeds_shell = self.runs_stdin(&program, &words[1..])
            || (self.exec.shells.contains(&program)
                && !words[1..]
                    .iter()
                    .any(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('c')));
        let feeds_interpreter = self.exec.interpreters.contains(&program);
        // What a file the script writes holds, when it is known: `echo 'cmd' > f`,
        // `cat > f <<EOF`; and what running or sourcing such a file runs.
        let content = match program.as_str() {
            _ if written.is_empty() => None,
            "cat" | "tee" if !here_bodies.is_empty() => Some(here_bodies.join("\n")),
            "echo" | "printf" => constant_output(&words, None).map(|f| f.text),
            _ => None,
        };
        if let Some(content) = content {
            for file in &written {
                self.files.insert(file_key(file), content.clone());
            }
            // A payload written for something else to run (a release_agent or cron script, a
            // reverse shell saved as `rshell.sh`) is searched for markers like any script.
            self.out.scripts.push(content);
        }
        let sourced = match program.as_str() {
            _ if self.files.is_empty() => None,
            "." | "source" => words.get(1),
            _ if self.exec.shells.contains(&program) => {
                words[1..].iter().find(|a| !a.starts_with('-'))
            }
            _ => Some(&words[0]),
        }
        .and_then(|path| self.files.get(&file_key(path)).cloned());
        // Here-documents and here-strings are data, unless a shell or an interpreter reads them.
        let code: Vec<String> = if feeds_interpreter && !feeds_shell {
            here_bodies.clone()
        } else {
            Vec::new()
        };
        self.argv(&words, redirects, pipes_into, ctx);
        if feeds_shell {
            for body in here_bodies {
                self.script(&body, ctx.deeper());
            }
        }
        for body in code {
            self.code(&body, ctx);
        }
        if let Some(script) = sourced {
            self.script(&script, ctx.deeper());
        }
    }

    /// `place`: whether the item comes before the command name, and the command that reads a
    /// process substitution in it.
    pub(super) fn item(
        &mut self,
        item: &Item,
        place: (bool, Option<&str>),
        ctx: Ctx,
        words: &mut Vec<String>,
        redirects: &mut Vec<String>,
        here_bodies: &mut Vec<String>,
    ) {
        let (in_prefix, consumer) = place;
        match item {
            Item::Word(w) => words.extend(self.expand(w, ctx)),
            Item::Assignment(assignment) => {
                let super::ir::Assignment {
                    variable,
                    array,
                    append,
                    word,
                } = assignment.as_ref();
                // Before the name, or as an argument of `declare`, `local`, `export`,
                // `readonly`: either way the value is expanded and the variable set.
                if let Some((name, value)) = variable {
                    let mut value = self.expand(value, ctx).join(" ");
                    if *append {
                        value = format!(
                            "{}{value}",
                            self.vars.get(name).cloned().unwrap_or_default()
                        );
                    }
                    self.vars.insert(name.clone(), value);
                }
                if let Some((name, elements)) = array {
                    let mut values = if *append {
                        self.arrays.get(name).cloned().unwrap_or_default()
                    } else {
                        Vec::new()
                    };
                    for element in elements {
                        values.extend(self.expand(element, ctx));
                    }
                    self.arrays.insert(name.clone(), values);
                }
                if variable.is_none() && array.is_none() {
                    // `a[1]=$(cmd)`: the value's substitutions run all the same.
                    let expanded = self.expand(word, ctx);
                    if !in_prefix {
                        words.extend(expanded);
                    }
                } else if !in_prefix {
                    words.push(self.expand_quiet(word));
                }
            }
            Item::Redirect(r) => {
                if let Some(text) = self.here_text(r) {
                    here_bodies.push(text);
                }
                if let Some(t) = self.redirect_target(r, ctx, consumer) {
                    redirects.push(t);
                }
            }
            Item::ProcessSubstitution { read, script } => {
                self.walk_into(script, ctx.deeper(), consumer.filter(|_| *read))
            }
        }
    }
}
