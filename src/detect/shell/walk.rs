//! The walk over a parsed script: lists, pipelines (with what flows between their stages),
//! compound commands, simple commands, their words and redirections. Every compound level
//! counts towards `limits.max_nesting`.
use brush_parser::ast;

use super::fold::{constant_output, Flow};
use super::words::strip_unknown_variables;
use super::{truncate, Analyser, Ctx};

impl Analyser<'_> {
    pub(super) fn compound_list(&mut self, list: &ast::CompoundList, ctx: Ctx) {
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

    pub(super) fn pipeline(&mut self, pipeline: &ast::Pipeline, ctx: Ctx) {
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
    pub(super) fn quiet_words(&self, sc: &ast::SimpleCommand) -> Vec<String> {
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

    pub(super) fn command(&mut self, cmd: &ast::Command, pipes_into: Option<String>, ctx: Ctx) {
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

    pub(super) fn compound(&mut self, cc: &ast::CompoundCommand, ctx: Ctx) {
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
                // The list is data the body reads (`for p in /proc/[0-9]*`): its words are
                // matched like arguments, as a command named `for` that no catalogue lists.
                let mut words = vec!["for".to_string()];
                for value in f.values.iter().flatten() {
                    words.extend(self.expand(&value.value, ctx));
                }
                if words.len() > 1 {
                    self.argv(words, Vec::new(), None, ctx);
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
    pub(super) fn redirect_target(
        &mut self,
        redirect: &ast::IoRedirect,
        ctx: Ctx,
    ) -> Option<String> {
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

    pub(super) fn simple(&mut self, sc: &ast::SimpleCommand, pipes_into: Option<String>, ctx: Ctx) {
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

    pub(super) fn item(
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
}
