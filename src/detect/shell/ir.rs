//! The shell syntax the analysis walks: only what detection reads of brush-parser's tree, in
//! types this crate owns, so the walk and the word expansion never see the parser's API and the
//! parser can be upgraded or replaced in `syntax.rs` alone.

/// A script: every pipeline in the order written (`;`, `&&`, `||` and newlines alike; which
/// one runs depends on exit codes admission cannot know, so all are read).
#[derive(Debug, Clone, Default)]
pub(super) struct Script(pub Vec<Pipeline>);

/// Commands joined by `|`: each stage reads the previous one's output.
#[derive(Debug, Clone, Default)]
pub(super) struct Pipeline(pub Vec<Command>);

#[derive(Debug, Clone)]
pub(super) enum Command {
    Simple(SimpleCommand),
    /// A compound command (also a function's body) and the redirections after it.
    Compound(Compound, Vec<Redirect>),
    /// `[[ ... ]]`: a test, it runs nothing.
    Test,
}

#[derive(Debug, Clone, Default)]
pub(super) struct SimpleCommand {
    /// Assignments and redirections before the name (`A=1 >f cmd`).
    pub prefix: Vec<Item>,
    /// The command name as written.
    pub name: Option<String>,
    pub suffix: Vec<Item>,
}

#[derive(Debug, Clone)]
pub(super) enum Item {
    /// A word as written (quotes and expansions in it).
    Word(String),
    /// `NAME=value`. `variable` is set for a plain scalar assignment: its name and the value
    /// word. `word` is the whole word, which after the command name is just an argument.
    Assignment {
        variable: Option<(String, String)>,
        word: String,
    },
    Redirect(Redirect),
    /// `<(...)` (`read`: the command reads what it prints), `>(...)`.
    ProcessSubstitution {
        read: bool,
        script: Script,
    },
}

#[derive(Debug, Clone)]
pub(super) enum Redirect {
    /// `> file`, `< file`, `>&word`: the target word as written.
    File(String),
    /// `< <(...)` (`read`), `> >(...)`.
    ProcessSubstitution { read: bool, script: Script },
    /// `>&2`.
    Fd,
    /// `&> file`.
    OutputAndError(String),
    /// `<<< word`.
    HereString(String),
    /// A here-document's body.
    HereDocument(String),
}

#[derive(Debug, Clone)]
pub(super) enum Compound {
    /// `{ ...; }` and `( ... )`.
    Group(Script),
    /// `for NAME in VALUES; do BODY; done`: the values as written.
    For {
        values: Vec<String>,
        body: Script,
    },
    /// `for ((...)); do BODY; done`.
    ArithmeticFor(Script),
    /// `while` and `until`: the condition and the body both run, repeatedly.
    Loop {
        condition: Script,
        body: Script,
    },
    /// `if`, `elif`, `else`: every condition and branch, in order.
    If(Vec<Script>),
    /// The commands of every `case` item.
    Case(Vec<Script>),
    Coprocess(Box<Command>),
    /// `(( expr ))`, as written.
    Arithmetic(String),
}

/// One piece of a shell word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Piece {
    Text(String),
    SingleQuoted(String),
    /// `$'...'`, still escaped.
    AnsiC(String),
    /// `\x`, with its backslash.
    Escape(String),
    /// `"..."` (and `$"..."`).
    DoubleQuoted(Vec<Piece>),
    Tilde,
    Parameter(Parameter),
    /// `$(...)` or a backquoted substitution, whose body is given as the shell reads it.
    Substitution {
        script: String,
        backquoted: bool,
    },
    Arithmetic,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Parameter {
    /// `$NAME`, `${NAME}`.
    Named(String),
    /// `$1`, `$@`, `$$`...: how it is written.
    Special(String),
    /// `${x:-y}`, `${#x}` and every other operator form.
    Operator,
}
