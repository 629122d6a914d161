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
    /// `[[ ... ]]`: a test; it runs nothing itself, but its words are expanded
    /// (`[[ -n $(cmd) ]]` runs cmd).
    Test(Vec<String>),
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
    /// `NAME=value`, boxed: items are many and most are words.
    Assignment(Box<Assignment>),
    Redirect(Redirect),
    /// `<(...)` (`read`: the command reads what it prints), `>(...)`.
    ProcessSubstitution {
        read: bool,
        script: Script,
    },
}

/// `NAME=value`. `variable` is set for a plain scalar assignment: its name and the value word;
/// `array` for `NAME=(a b c)`: its name and the element words. `word` is the whole word, which
/// after the command name is just an argument.
#[derive(Debug, Clone)]
pub(super) struct Assignment {
    pub variable: Option<(String, String)>,
    pub array: Option<(String, Vec<String>)>,
    /// `NAME+=value`.
    pub append: bool,
    pub word: String,
}

#[derive(Debug, Clone)]
pub(super) enum Redirect {
    /// `< file`, `>&word`: the target word as written.
    File(String),
    /// `> file`, `>> file`, `>| file`: a file the command writes.
    Write(String),
    /// `< <(...)` (`read`), `> >(...)`.
    ProcessSubstitution { read: bool, script: Script },
    /// `>&2`.
    Fd,
    /// `&> file`.
    OutputAndError(String),
    /// `<<< word`; a here-document stands here as `<<< PLACEHOLDER` (`heredoc`).
    HereString(String),
    /// A here-document's body, were the parser given one (it is not).
    HereDocument(String),
}

#[derive(Debug, Clone)]
pub(super) enum Compound {
    /// `{ ...; }` and `( ... )`.
    Group(Script),
    /// `for NAME in VALUES; do BODY; done`: the values as written (`None`: `for NAME; do`,
    /// over the positional parameters).
    For {
        variable: String,
        values: Option<Vec<String>>,
        body: Script,
    },
    /// `for ((INIT; COND; STEP)); do BODY; done`: the three expressions as written.
    ArithmeticFor {
        header: String,
        body: Script,
    },
    /// `while` and `until`: the condition and the body both run, repeatedly.
    Loop {
        condition: Script,
        body: Script,
    },
    /// `if`, `elif`, `else`: every condition and branch, in order.
    If(Vec<Script>),
    /// `case SUBJECT in PATTERNS) ...`: the words (expanded, so their substitutions run) and
    /// the commands of every item.
    Case {
        words: Vec<String>,
        branches: Vec<Script>,
    },
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
    /// `$((...))`: the expression as written (substitutions in it run).
    Arithmetic(String),
}

/// What a parameter expansion names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Parameter {
    /// `$NAME`, `${NAME}`.
    Named(String),
    /// `$1`: 1-based, `$0` is 0.
    Positional(u32),
    /// `$@` and `$*`.
    AllPositional,
    /// `${NAME[INDEX]}`.
    Element(String, String),
    /// `${NAME[@]}`, `${NAME[*]}`.
    AllElements(String),
    /// `$$`, `$?`, `$#`...: how it is written.
    Special(String),
    /// `${x:-y}` and the other operator forms, on the parameter they name (boxed: words are
    /// many, operators rare).
    Operator(Box<(Parameter, Operator)>),
    /// `${!x}`, `${!prefix*}` and anything else whose value is another name's.
    Indirect,
}

/// A parameter-expansion operator, with its operand words as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Operator {
    /// `${x:-w}`, `${x-w}`.
    Default(String),
    /// `${x:=w}`, `${x=w}`.
    Assign(String),
    /// `${x:+w}`.
    Alternative(String),
    /// `${x:?w}`.
    Error,
    /// `${#x}`.
    Length,
    /// `${x#p}` (`longest`: `##`).
    StripPrefix {
        pattern: String,
        longest: bool,
    },
    /// `${x%p}` (`longest`: `%%`).
    StripSuffix {
        pattern: String,
        longest: bool,
    },
    /// `${x/p/r}`, `${x//p/r}`, `${x/#p/r}`, `${x/%p/r}`.
    Replace {
        pattern: String,
        replacement: String,
        all: bool,
        anchor: Option<Anchor>,
    },
    Upper,
    Lower,
    /// `${x:offset:length}`, as written.
    Substring(String, Option<String>),
    /// `${x@Q}` and other transforms: the value, as far as a command name goes.
    Transform,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Anchor {
    Prefix,
    Suffix,
}
