//! The walk over a parsed script: lists, pipelines (with what flows between their stages),
//! compound commands, simple commands, their words and redirections. Every compound level
//! counts towards `limits.max_nesting`.

use super::fold::{constant_output, Flow};
use super::ir::{Command, Compound, Item, Pipeline, Redirect, Script, SimpleCommand};
use super::words::strip_unknown_variables;
use super::{truncate, Analyser, Ctx};

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
        for (i, cmd) in pipeline.0.iter().enumerate() {
            let pipes_into = match names.get(i + 1) {
                Some(next) => next.clone(),
                None => sink.map(str::to_string),
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
    }

    /// Known text piped into a shell or an interpreter is what it runs.
    pub(super) fn stdin_into(&mut self, argv: &[String], flow: &Flow, ctx: Ctx) {
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
            Command::Test => {}
        }
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
            Compound::For { values, body } => {
                // The list is data the body reads (`for p in /proc/[0-9]*`): its words are
                // matched like arguments, as a command named `for` that no catalogue lists.
                let mut words = vec!["for".to_string()];
                for value in values {
                    words.extend(self.expand(value, ctx));
                }
                if words.len() > 1 {
                    self.argv(words, Vec::new(), None, ctx);
                }
                self.walk(body, ctx.looping());
            }
            Compound::ArithmeticFor(body) => self.walk(body, ctx.looping()),
            Compound::Loop { condition, body } => {
                self.walk(condition, ctx.looping());
                self.walk(body, ctx.looping());
            }
            Compound::If(branches) | Compound::Case(branches) => {
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

    /// A redirection's target file, or a here-document fed to a shell.
    /// `consumer`: the program whose input a `< <(...)` process substitution becomes.
    pub(super) fn redirect_target(
        &mut self,
        redirect: &Redirect,
        ctx: Ctx,
        consumer: Option<&str>,
    ) -> Option<String> {
        match redirect {
            Redirect::File(w) | Redirect::OutputAndError(w) => Some(self.expand(w, ctx).join(" ")),
            Redirect::ProcessSubstitution { read, script } => {
                self.walk_into(script, ctx.deeper(), consumer.filter(|_| *read));
                None
            }
            Redirect::Fd => None,
            Redirect::HereString(w) => {
                let body = self.expand(w, ctx).join(" ");
                self.out.code.push(body);
                None
            }
            Redirect::HereDocument(doc) => {
                self.out.code.push(doc.clone());
                None
            }
        }
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
            Item::Assignment { variable, word } => {
                if !in_prefix {
                    words.extend(self.expand(word, ctx));
                } else if let Some((name, value)) = variable {
                    let value = self.expand(value, ctx).join(" ");
                    self.vars.insert(name.clone(), value);
                }
            }
            Item::Redirect(r) => {
                match r {
                    Redirect::HereDocument(doc) => here_bodies.push(doc.clone()),
                    Redirect::HereString(w) => here_bodies.push(self.expand(w, ctx).join(" ")),
                    _ => {}
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
