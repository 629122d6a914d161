//! Scripts that compose the shell grammar around one catalogued program: how its name is
//! formed (quoting, variables, arrays, positional parameters, IFS, brace expansion, globs,
//! substitutions, parameter-expansion operators, ANSI-C quoting), how it is run (functions,
//! aliases, traps, eval, source, nested shells, here-documents and here-strings fed to shells,
//! command and process substitution in every place a word is expanded, pipelines, background,
//! coproc, runners real and catalogued), and the compound commands around it. Decoys carry the
//! same name as data only (echo, comments, quoted strings never run, here-documents fed to
//! cat, tests, case patterns, lookups). Deterministic for a seed: the generator draws from
//! proptest's ChaCha `TestRng`.

use proptest::prelude::Rng;
use proptest::test_runner::{RngAlgorithm, TestRng};

/// A catalogued program, the arguments it is given, and the rule that must report it.
#[derive(Debug, Clone, Copy)]
pub struct Program {
    pub name: &'static str,
    pub args: &'static str,
    pub rule: &'static str,
}

pub const PROGRAMS: [Program; 6] = [
    Program {
        name: "nmap",
        args: "-sS 10.0.0.0/24",
        rule: "exec-network-scan",
    },
    Program {
        name: "masscan",
        args: "-p1-65535 10.0.0.0/8",
        rule: "exec-network-scan",
    },
    Program {
        name: "zmap",
        args: "-p 80 10.0.0.0/8",
        rule: "exec-network-scan",
    },
    Program {
        name: "nsenter",
        args: "-t 1 -m -u -i -n",
        rule: "exec-host-entry",
    },
    Program {
        name: "docker",
        args: "ps",
        rule: "exec-runtime-client",
    },
    Program {
        name: "crictl",
        args: "ps",
        rule: "exec-runtime-client",
    },
];

/// Whether the script is built to run the program, or only to carry its name as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Runs,
    Data,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub script: String,
    pub program: Program,
    pub intent: Intent,
    /// The constructs composed, `family:form` (`name:var`, `run:trap`, `ctx:while`...).
    pub classes: Vec<String>,
}

pub struct Generator {
    rng: TestRng,
}

/// `'...'`, with single quotes inside closed, escaped and reopened.
pub fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `"..."`, with what a double-quoted string would expand escaped.
fn dq(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Each letter one place on (`nmap` -> `onbq`), which `tr 'b-za' 'a-z'` undoes.
fn shift(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'z' => 'a',
            'a'..='y' => (c as u8 + 1) as char,
            c => c,
        })
        .collect()
}

/// Standard base64, as `base64` prints it.
fn base64(s: &str) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = s.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Octal escapes of every byte, for printf and `$'...'`.
fn octal(s: &str) -> String {
    s.bytes().map(|b| format!("\\{b:03o}")).collect()
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        Generator {
            rng: TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
        }
    }

    fn below(&mut self, n: usize) -> usize {
        (self.rng.next_u32() as usize) % n.max(1)
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn var(&mut self) -> String {
        const NAMES: [&str; 6] = ["v", "cmd", "t", "x_1", "TOOL", "p"];
        NAMES[self.below(NAMES.len())].to_string()
    }

    /// One case: a script built to run a catalogued program (four in five) or a decoy.
    pub fn case(&mut self) -> Case {
        let program = PROGRAMS[self.below(PROGRAMS.len())];
        let intent = if self.chance(80) {
            Intent::Runs
        } else {
            Intent::Data
        };
        let mut classes = Vec::new();
        let core = match intent {
            Intent::Runs => {
                let command = self.command(program, &mut classes);
                self.run(command, &mut classes)
            }
            Intent::Data => self.decoy(program, &mut classes),
        };
        let mut body = core;
        for _ in 0..self.below(3) {
            body = self.context(body, &mut classes);
        }
        let mut lines = Vec::new();
        for _ in 0..self.below(3) {
            lines.push(self.noise());
        }
        lines.push(body);
        for _ in 0..self.below(2) {
            lines.push(self.noise());
        }
        Case {
            script: lines.join(if self.chance(50) { "\n" } else { "; " }),
            program,
            intent,
            classes,
        }
    }

    /// Statements that run nothing catalogued.
    fn noise(&mut self) -> String {
        const NOISE: [&str; 12] = [
            "x=1",
            "n=$((1 << 2))",
            "echo '<<EOF'",
            "echo hello",
            "true",
            "ls / >/dev/null",
            "cd .",
            "n=$((1+2))",
            "export LANG=C",
            "date",
            ": > ./out.txt",
            "set +e",
        ];
        NOISE[self.below(NOISE.len())].to_string()
    }

    /// Setup statements and a simple command that runs `program` with its arguments.
    fn command(&mut self, p: Program, classes: &mut Vec<String>) -> String {
        let (name, args) = (p.name, p.args);
        let (head, first, last) = (&name[..1], &name[..2], &name[2..]);
        let v = self.var();
        let form = self.below(61);
        let (class, text): (&str, String) = match form {
            0 => ("literal", format!("{name} {args}")),
            1 => ("single-quoted", format!("'{name}' {args}")),
            2 => ("double-quoted", format!("\"{name}\" {args}")),
            3 => ("split-quotes", format!("{first}'{last}' {args}")),
            4 => ("backslash", format!("{head}\\{} {args}", &name[1..])),
            5 => ("var", format!("{v}={name}; ${v} {args}")),
            6 => ("var-braced", format!("{v}={name}\n${{{v}}} {args}")),
            7 => ("var-quoted", format!("{v}='{name}'; \"${v}\" {args}")),
            8 => ("var-concat", format!("a={first}; b={last}; $a$b {args}")),
            9 => ("var-command-string", format!("{v}='{name} {args}'; ${v}")),
            10 => ("array", format!("arr=(x {name}); \"${{arr[1]}}\" {args}")),
            11 => ("array-all", format!("arr=({name} {args}); \"${{arr[@]}}\"")),
            12 => ("positional", format!("set -- {name} {args}; \"$@\"")),
            13 => ("positional-one", format!("set -- x {name}; \"$2\" {args}")),
            14 => (
                "ifs-split",
                format!("IFS=,; {v}='{name},{}'; ${v}", args.replace(' ', ",")),
            ),
            15 => ("brace", format!("{first}{{{last},}} {args}")),
            16 => ("brace-prefix", format!("{{{name},true}} {args}")),
            17 => (
                "glob-question",
                format!("/usr/bin/{first}?{} {args}", &name[3..]),
            ),
            18 => (
                "glob-class",
                format!("/usr/bin/{first}[{}]{} {args}", &name[2..3], &name[3..]),
            ),
            19 => ("glob-star", format!("/usr/*/{name} {args}")),
            20 => ("substitution", format!("$(echo {name}) {args}")),
            21 => ("backquotes", format!("`echo {name}` {args}")),
            22 => (
                "printf-octal",
                format!("$(printf '{}') {args}", octal(name)),
            ),
            23 => ("default-value", format!("${{unset_{v}:-{name}}} {args}")),
            24 => ("assign-default", format!(": ${{{v}:={name}}}; ${v} {args}")),
            25 => ("strip-prefix", format!("{v}=xx{name}; ${{{v}#xx}} {args}")),
            26 => (
                "strip-suffix",
                format!("{v}={name}.sh; ${{{v}%.sh}} {args}"),
            ),
            27 => ("replace", format!("{v}={first}Q{last}; ${{{v}/Q/}} {args}")),
            28 => (
                "lowercase",
                format!("{v}={}; ${{{v},,}} {args}", name.to_uppercase()),
            ),
            29 => ("ansi-c", format!("$'{}' {args}", octal(name))),
            30 => ("printf-v", format!("printf -v {v} %s {name}; ${v} {args}")),
            31 => (
                "read-herestring",
                format!("read -r {v} <<< {name}; ${v} {args}"),
            ),
            32 => (
                "read-heredoc",
                format!("read {v} <<EOF\n{name}\nEOF\n${v} {args}"),
            ),
            33 => ("absolute-path", format!("/usr/bin/{name} {args}")),
            34 => ("tilde-path", format!("HOME=/usr/bin; ~/{name} {args}")),
            35 => ("locale-quoted", format!("$\"{name}\" {args}")),
            36 => (
                "substring",
                format!("{v}=xx{name}yy; ${{{v}:2:{}}} {args}", name.len()),
            ),
            37 => ("indirect", format!("{v}={name}; ref={v}; ${{!ref}} {args}")),
            38 => (
                "append-assign",
                format!("{v}={first}; {v}+={last}; ${v} {args}"),
            ),
            39 => (
                "array-index-assign",
                format!("arr[3]={name}; ${{arr[3]}} {args}"),
            ),
            40 => (
                "base64-substitution",
                format!("$(echo {} | base64 -d) {args}", base64(name)),
            ),
            41 => (
                "rev-substitution",
                format!(
                    "$(echo {} | rev) {args}",
                    name.chars().rev().collect::<String>()
                ),
            ),
            42 => (
                "read-array",
                format!("read -ra parts <<< '{name} {args}'; \"${{parts[@]}}\""),
            ),
            43 => (
                "mapfile",
                format!("mapfile -t lines <<< '{name}'; \"${{lines[0]}}\" {args}"),
            ),
            44 => (
                "declare-assoc",
                format!("declare -A m=([k]={name}); ${{m[k]}} {args}"),
            ),
            45 => ("readonly", format!("readonly {v}={name}; ${v} {args}")),
            46 => (
                "export-later",
                format!("export {v}; {v}={name}; ${v} {args}"),
            ),
            47 => (
                "printf-pipe-sh",
                format!("printf '%s\\n' '{name} {args}' | sh"),
            ),
            48 => (
                "xargs-name",
                format!("echo {name} | xargs -I{{}} {{}} {args}"),
            ),
            49 => (
                "eval-substitution",
                format!("eval \"$(echo {name}) {args}\""),
            ),
            50 => (
                "tr-substitution",
                format!("$(echo {} | tr 'b-za' 'a-z') {args}", shift(name)),
            ),
            51 => ("exec-argv0", format!("(exec -a kworker {name} {args})")),
            52 => (
                "alternative-value",
                format!("{v}=1; ${{{v}:+{name}}} {args}"),
            ),
            53 => ("positional-star", format!("set -- {name} {args}; $*")),
            54 => (
                "positional-slice",
                format!("set -- x {name} {args}; \"${{@:2}}\""),
            ),
            55 => (
                "while-read-heredoc",
                format!("while read -r line; do $line; done <<EOF\n{name} {args}\nEOF"),
            ),
            56 => (
                "base64-herestring",
                format!("$(base64 -d <<< {}) {args}", base64(name)),
            ),
            57 => (
                "rev-heredoc",
                format!(
                    "$(rev <<EOF\n{}\nEOF\n) {args}",
                    name.chars().rev().collect::<String>()
                ),
            ),
            58 => (
                "tr-herestring",
                format!("$(tr 'b-za' 'a-z' <<< {}) {args}", shift(name)),
            ),
            59 => (
                "printf-b",
                format!("$(printf %b '{}') {args}", octal(name).replace('\\', "\\0")),
            ),
            _ => ("cat-herestring", format!("$(cat <<< {name}) {args}")),
        };
        classes.push(format!("name:{class}"));
        text
    }

    /// A statement that runs `command` some way.
    fn run(&mut self, c: String, classes: &mut Vec<String>) -> String {
        let f = "f";
        let form = self.below(60);
        let (class, text): (&str, String) = match form {
            0..=5 => ("plain", c),
            6 => ("function", format!("{f}() {{ {c}; }}\n{f}")),
            7 => ("function-keyword", format!("function {f} {{ {c}; }}; {f}")),
            8 => (
                "function-later",
                format!("{f}() {{\n{c}\n}}\ntrue\n{f} arg"),
            ),
            9 => (
                "alias",
                format!("shopt -s expand_aliases\nalias s={}\ns", sq(&c)),
            ),
            10 => ("trap-exit", format!("trap {} EXIT", sq(&c))),
            11 => (
                "trap-return",
                format!("trap {} RETURN; {f}() {{ :; }}; {f}", sq(&c)),
            ),
            12 => ("eval", format!("eval {}", sq(&c))),
            13 => ("eval-double", format!("eval {}", dq(&c))),
            14 => ("sh-c", format!("sh -c {}", sq(&c))),
            15 => ("bash-c", format!("bash -c {}", sq(&c))),
            16 => ("busybox-sh-c", format!("busybox sh -c {}", sq(&c))),
            17 => ("echo-pipe-sh", format!("echo {} | sh", sq(&c))),
            18 => ("heredoc-sh", format!("sh <<'EOF'\n{c}\nEOF")),
            19 => (
                "heredoc-bash-s",
                format!(
                    "bash -s <<EOF\n{}\nEOF",
                    c.replace('$', "\\$").replace('`', "\\`")
                ),
            ),
            20 => ("herestring-bash", format!("bash <<< {}", sq(&c))),
            21 => ("source-stdin", format!(". /dev/stdin <<< {}", sq(&c))),
            22 => (
                "source-process-substitution",
                format!("source <(echo {})", sq(&c)),
            ),
            23 => (
                "source-file",
                format!("echo {} > ./step.sh; . ./step.sh", sq(&c)),
            ),
            24 => ("assignment-substitution", format!("out=$({c})")),
            25 => ("array-substitution", format!("res=( $({c}) )")),
            26 => ("test-substitution", format!("[[ -n $({c}) ]]")),
            27 => ("bracket-test-substitution", format!("[ -n \"$({c})\" ]")),
            28 => (
                "default-substitution",
                format!(": \"${{unset_v:-$({c})}}\""),
            ),
            29 => ("arithmetic-substitution", format!("n=$(( $({c}) + 1 ))")),
            30 => ("case-subject", format!("case \"$({c})\" in *) ;; esac")),
            31 => ("for-list", format!("for i in $({c}); do :; done")),
            32 => ("redirect-target", format!("echo x > \"./o$({c})\"")),
            33 => ("declare", format!("declare d=$({c})")),
            34 => ("local", format!("{f}() {{ local l=$({c}); }}; {f}")),
            35 => ("export", format!("export e=\"$({c})\"")),
            36 => (
                "heredoc-cat-substitution",
                format!("cat <<EOF\n$({c})\nEOF"),
            ),
            37 => ("process-substitution-read", format!("cat <({c})")),
            38 => ("process-substitution-write", format!("echo x > >({c})")),
            39 => (
                "while-read-process",
                format!("while read -r l; do :; done < <({c})"),
            ),
            40 => ("pipeline-last", format!("echo x | {c}")),
            41 => ("pipeline-first", format!("{c} | cat")),
            42 => ("background", format!("{c} &\nwait")),
            43 => ("coproc", format!("coproc {c}\nwait")),
            44 => ("env", format!("env {c}")),
            45 => ("timeout", format!("timeout 5 {c}")),
            46 => ("nohup-nice", format!("nohup nice -n 5 {c}")),
            47 => ("xargs", format!("echo x | xargs sh -c {}", sq(&c))),
            48 => (
                "find-exec",
                format!("find . -maxdepth 0 -exec sh -c {} \\;", sq(&c)),
            ),
            49 => ("command-builtin", format!("command {c}")),
            50 => ("exec", format!("exec {c}")),
            51 => ("arithmetic-command", format!("(( $({c}) + 0 )) || true")),
            52 => ("readonly-substitution", format!("readonly r=$({c})")),
            53 => ("builtin-eval", format!("builtin eval {}", sq(&c))),
            54 => ("time", format!("time {c}")),
            55 => (
                "heredoc-source-stdin",
                format!(". /dev/stdin <<'EOF'\n{c}\nEOF"),
            ),
            56 => ("heredoc-tabs", format!("sh <<-'EOF'\n\t{c}\n\tEOF")),
            57 => ("exec-fd-process", format!("exec 3< <({c}); cat <&3")),
            58 => (
                "substitution-in-heredoc-word",
                format!("cat <<< \"$({c})\""),
            ),
            _ => {
                // A catalogued runner, a stub in the sandbox: the payload must be read.
                let runner = self.below(8);
                let (name, text) = match runner {
                    0 => ("parallel", format!("parallel ::: {}", sq(&c))),
                    1 => ("watch", format!("watch -n 1 {}", sq(&c))),
                    2 => ("vim", format!("vim -c {} -c ':q'", sq(&format!(":!{c}")))),
                    3 => ("script", format!("script -qc {} /dev/null", sq(&c))),
                    4 => ("tmux", format!("tmux new -d {}", sq(&c))),
                    5 => ("gdb", format!("gdb -batch -ex {}", sq(&format!("!{c}")))),
                    6 => ("su", format!("su -c {} root", sq(&c))),
                    _ => (
                        "python",
                        format!(
                            "python3 -c {}",
                            sq(&format!("import os; os.system({})", dq(&c)))
                        ),
                    ),
                };
                classes.push(format!("runner:{name}"));
                return text;
            }
        };
        classes.push(format!("run:{class}"));
        text
    }

    /// The same program's name as data only: printed, commented, quoted, tested, looked up.
    fn decoy(&mut self, p: Program, classes: &mut Vec<String>) -> String {
        let (name, args) = (p.name, p.args);
        let form = self.below(22);
        let (class, text): (&str, String) = match form {
            16 => ("printf-var-unused", format!("printf -v msg '%s' '{name}'")),
            17 => ("array-unused", format!("tools=({name} other)")),
            18 => (
                "heredoc-to-file",
                format!("cat > ./notes.txt <<'EOF'\n{name} {args}\nEOF"),
            ),
            19 => (
                "quoted-in-substitution",
                format!("n=$(echo '{name}' | wc -c)"),
            ),
            20 => ("man-page", format!("man {name} || true")),
            21 => (
                "single-quoted-eval-string",
                format!("msg='eval {name} {args}'; echo \"$msg\""),
            ),
            0 => ("echo", format!("echo {name} {args}")),
            1 => ("printf", format!("printf '%s\\n' '{name} {args}'")),
            2 => ("colon", format!(": {name} {args}")),
            3 => ("comment", format!("# {name} {args}\ntrue")),
            4 => ("unused-assignment", format!("c='{name} {args}'")),
            5 => (
                "heredoc-cat-quoted",
                format!("cat <<'EOF'\n{name} {args}\nEOF"),
            ),
            6 => ("heredoc-cat", format!("cat <<EOF\n{name} {args}\nEOF")),
            7 => ("test-compare", format!("[ \"$x\" = {name} ] || true")),
            8 => (
                "double-bracket-compare",
                format!("[[ $x == {name} ]] || true"),
            ),
            9 => (
                "case-pattern",
                format!("case \"$x\" in {name}) : ;; *) : ;; esac"),
            ),
            10 => ("echo-substitution", format!("echo \"$(echo {name})\"")),
            11 => ("lookup", format!("command -v {name} || which {name}")),
            12 => (
                "redirect-to-file",
                format!("echo {name} {args} > ./notes.txt"),
            ),
            13 => ("herestring-cat", format!("cat <<< '{name} {args}'")),
            14 => ("logger", format!("logger \"starting {name} scan\"")),
            _ => ("quoted-argument", format!("grep -c '{name}' ./notes.txt")),
        };
        classes.push(format!("decoy:{class}"));
        text
    }

    /// A compound command around `body`, taken on its path into `body`.
    fn context(&mut self, body: String, classes: &mut Vec<String>) -> String {
        let form = self.below(17);
        let (class, text): (&str, String) = match form {
            0 => ("if", format!("if true; then\n{body}\nfi")),
            1 => ("else", format!("if false; then :; else\n{body}\nfi")),
            2 => ("while", format!("while true; do\n{body}\nbreak; done")),
            3 => ("until", format!("until false; do\n{body}\nbreak\ndone")),
            4 => ("for", format!("for i in 1; do\n{body}\ndone")),
            5 => (
                "arithmetic-for",
                format!("for ((i=0; i<1; i++)); do\n{body}\ndone"),
            ),
            6 => ("case", format!("case a in\n  a) {body}\n;;\nesac")),
            7 => ("subshell", format!("(\n{body}\n)")),
            8 => ("group", format!("{{\n{body}\n}}")),
            9 => ("and", format!("true && {{ {body}\n}}")),
            10 => ("or", format!("false || {{ {body}\n}}")),
            11 => ("function", format!("g() {{\n{body}\n}}\ng")),
            12 => ("negated", format!("! {{ {body}\n}}")),
            13 => (
                "select-free-loop",
                format!("for i in a; do if [ \"$i\" = a ]; then\n{body}\nfi; done"),
            ),
            16 => (
                "select",
                format!("select s in a; do\n{body}\nbreak; done <<< 1"),
            ),
            14 => ("double-bracket-and", format!("[[ 1 ]] && {{ {body}\n}}")),
            _ => ("background-group", format!("{{ {body}\n}} &\nwait")),
        };
        classes.push(format!("ctx:{class}"));
        text
    }
}
