//! Pod-spec detection and escape-path combinations.

use crate::common;

use common::*;
use reconguard::decision::Action;
use serde_json::json;

fn container(extra: serde_json::Value) -> serde_json::Value {
    let mut c = json!({"name": "app", "image": "ghcr.io/example/app:1.0"});
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            c.insert(k.clone(), v.clone());
        }
    }
    c
}

fn host_path(path: &str) -> serde_json::Value {
    json!({
        "containers": [container(json!({"volumeMounts": [{"name": "h", "mountPath": "/host"}]}))],
        "volumes": [{"name": "h", "hostPath": {"path": path}}]
    })
}

#[test]
fn a_plain_pod_is_allowed_without_findings() {
    let d = pod(policy(), json!({"containers": [container(json!({}))]}));
    assert_eq!(d.action, Action::Allow);
    assert!(d.findings.is_empty(), "{:?}", d.findings);
}

#[test]
fn single_risky_settings_are_annotated() {
    let p = policy();
    for (spec, rule) in [
        (
            json!({"hostPID": true, "containers": [container(json!({}))]}),
            "host-pid",
        ),
        (
            json!({"hostNetwork": true, "containers": [container(json!({}))]}),
            "host-network",
        ),
        (
            json!({"hostIPC": true, "containers": [container(json!({}))]}),
            "host-ipc",
        ),
        (
            json!({"containers": [container(json!({"securityContext": {"privileged": true}}))]}),
            "privileged",
        ),
        (
            json!({"containers": [container(json!({"securityContext": {"procMount": "Unmasked"}}))]}),
            "proc-mount-unmasked",
        ),
        (
            json!({"containers": [container(json!({"securityContext": {"windowsOptions": {"hostProcess": true}}}))]}),
            "windows-host-process",
        ),
        (
            json!({"containers": [container(json!({"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}))]}),
            "cap-sys-admin",
        ),
        (
            json!({"containers": [container(json!({"securityContext": {"capabilities": {"add": ["cap_sys_ptrace"]}}}))]}),
            "cap-sys-ptrace",
        ),
        (
            json!({"containers": [container(json!({"securityContext": {"capabilities": {"add": ["CAP_SYS_MODULE"]}}}))]}),
            "cap-sys-module",
        ),
        (
            json!({"containers": [container(json!({"securityContext": {"capabilities": {"add": ["all"]}}}))]}),
            "cap-all",
        ),
        (
            json!({"initContainers": [container(json!({"securityContext": {"capabilities": {"add": ["DAC_READ_SEARCH"]}}}))], "containers": [container(json!({}))]}),
            "cap-dac-read-search",
        ),
        (
            json!({"containers": [container(json!({"securityContext": {"capabilities": {"add": ["BPF"]}}}))]}),
            "cap-bpf",
        ),
        (
            host_path("/etc/kubernetes"),
            "hostpath-kubernetes-credentials",
        ),
        (host_path("/proc"), "hostpath-host-system"),
        (host_path("/root"), "hostpath-host-config"),
        // /etc holds /etc/kubernetes: the stronger exposure is reported.
        (host_path("/etc"), "hostpath-kubernetes-credentials"),
    ] {
        let d = pod(p, spec);
        assert_eq!(d.action, Action::Annotate, "{rule}: {:?}", d.findings);
        assert!(
            rules(&d).contains(&rule.to_string()),
            "{rule}: {:?}",
            rules(&d)
        );
    }
}

#[test]
fn host_paths_are_judged_by_normalised_path_not_by_name() {
    let p = policy();
    for spelling in [
        "/var/run/docker.sock",
        "/run/docker.sock",
        "//var//run/docker.sock/",
        "/var/run/./docker.sock",
        "/var/lib/../run/docker.sock",
        // A directory that contains the socket exposes it too.
        "/var/run",
        "/run",
        "/run/containerd",
        "/var/run/crio",
    ] {
        let d = pod(p, host_path(spelling));
        assert!(
            rules(&d).contains(&"hostpath-runtime-socket".to_string()),
            "{spelling}: {:?}",
            rules(&d)
        );
    }
    for root in ["/", "//", "/.", "/var/..", "/../.."] {
        let d = pod(p, host_path(root));
        assert!(
            rules(&d).contains(&"hostpath-host-root".to_string()),
            "{root}: {:?}",
            rules(&d)
        );
    }
    // Log collection: a host path like any other, which baseline forbids; annotated only.
    let d = pod(p, host_path("/var/log/pods"));
    assert_eq!(d.action, Action::Annotate, "{:?}", d.findings);
    assert_eq!(rules(&d), vec!["hostpath-other"]);
    // The volume's name does not matter: an ordinary path named like a socket is only a host path.
    let mut spec = host_path("/tmp/cache");
    spec["volumes"][0]["name"] = json!("docker-sock");
    spec["containers"][0]["volumeMounts"][0]["name"] = json!("docker-sock");
    assert_eq!(rules(&pod(p, spec)), vec!["hostpath-other"]);
}

#[test]
fn escape_paths_are_denied() {
    let p = policy();
    let cases = [
        (
            json!({"hostPID": true, "containers": [container(json!({"securityContext": {"privileged": true}}))]}),
            "escape-privileged-hostpid",
        ),
        (
            json!({"hostPID": true, "containers": [container(json!({"securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}))]}),
            "escape-hostpid-ptrace",
        ),
        (
            json!({"hostPID": true, "containers": [container(json!({"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}))]}),
            "escape-hostpid-ptrace",
        ),
        (
            {
                let mut s = host_path("/var/run/docker.sock");
                s["hostNetwork"] = json!(true);
                s
            },
            "escape-runtime-socket",
        ),
        (
            {
                let mut s = host_path("/");
                s["containers"][0]["securityContext"] =
                    json!({"capabilities": {"add": ["NET_ADMIN"]}});
                s
            },
            "escape-host-root",
        ),
        (
            {
                let mut s = host_path("/etc/kubernetes");
                s["containers"][0]["securityContext"] = json!({"privileged": true});
                s
            },
            "escape-privileged-hostpath",
        ),
    ];
    for (spec, rule) in cases {
        let d = pod(p, spec);
        assert_eq!(d.action, Action::Deny, "{rule}: {:?}", d.findings);
        assert!(
            rules(&d).contains(&rule.to_string()),
            "{rule}: {:?}",
            rules(&d)
        );
        let combo = d.findings.iter().find(|f| f.rule == rule).unwrap();
        assert_eq!(combo.technique, "T1611");
    }
}

#[test]
fn attack_tool_images_match_on_the_reference() {
    let p = policy();
    for image in [
        "aquasec/kube-hunter:0.6.8",
        "docker.io/aquasec/kube-hunter",
        "registry.example.com:5000/mirror/kube-hunter@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "instrumentisto/nmap:latest",
        "ghcr.io/cdk-team/cdk:v1.5",
        "Peirates",
        // A toolkit's name anywhere in the repository path.
        "bustakube/alpine-peirates",
        "docker.io/someone/linpeas-runner:latest",
        "ghcr.io/x/tools/kubeletctl-static:1.11",
        "quay.io/redteam/kube-hunter-custom",
    ] {
        let d = pod(p, json!({"containers": [{"name": "x", "image": image}]}));
        assert_eq!(d.action, Action::Deny, "{image}: {:?}", d.findings);
        assert!(rules(&d).contains(&"image-attack-tool".to_string()));
    }
    for image in ["nicolaka/netshoot:v0.13", "ghcr.io/x/network-multitool"] {
        let d = pod(p, json!({"containers": [{"name": "x", "image": image}]}));
        assert_eq!(d.action, Action::Annotate, "{image}");
    }
    for image in [
        // The tag is not the name; a near-name is not the name; plain `cdk` is the AWS CDK.
        "ghcr.io/example/shop:kube-hunter",
        "example/hunter:1",
        "public.ecr.aws/example/cdk:2",
        "nginx:1.27",
    ] {
        let d = pod(p, json!({"containers": [{"name": "x", "image": image}]}));
        assert_eq!(d.action, Action::Allow, "{image}: {:?}", d.findings);
    }
}

#[test]
fn container_commands_and_probes_are_analysed() {
    let p = policy();
    let d = pod(
        p,
        json!({"containers": [container(json!({"command": ["sh", "-c"], "args": ["nmap -sS 10.0.0.0/24"]}))]}),
    );
    assert_eq!(d.action, Action::Deny);
    assert_eq!(d.findings[0].container.as_deref(), Some("app"));
    let d = pod(
        p,
        json!({"containers": [container(json!({"livenessProbe": {"exec": {"command": ["sh", "-c", "curl -s http://169.254.169.254/latest/meta-data/"]}}}))]}),
    );
    assert!(rules(&d).contains(&"exec-cloud-metadata".to_string()));
    let d = pod(
        p,
        json!({"containers": [container(json!({"lifecycle": {"postStart": {"exec": {"command": ["docker", "ps"]}}}}))]}),
    );
    assert!(rules(&d).contains(&"exec-runtime-client".to_string()));
    // An entrypoint shell is not an interactive exec.
    let d = pod(
        p,
        json!({"containers": [container(json!({"command": ["/bin/sh"], "stdin": true}))]}),
    );
    assert_eq!(d.action, Action::Allow, "{:?}", d.findings);
    // Readiness checks stay quiet.
    let d = pod(
        p,
        json!({"containers": [container(json!({"readinessProbe": {"exec": {"command": ["sh", "-c", "nc -z localhost 8080"]}}}))]}),
    );
    assert_eq!(d.action, Action::Allow);
}

#[test]
fn every_workload_kind_yields_its_pod_template() {
    let p = policy();
    let template = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"hostPID": true, "containers": [container(json!({"securityContext": {"privileged": true}}))]}});
    let kinds = [
        ("apps/v1", "Deployment", json!({"template": template})),
        ("apps/v1", "ReplicaSet", json!({"template": template})),
        ("apps/v1", "StatefulSet", json!({"template": template})),
        ("apps/v1", "DaemonSet", json!({"template": template})),
        ("batch/v1", "Job", json!({"template": template})),
        (
            "batch/v1",
            "CronJob",
            json!({"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}),
        ),
        ("v1", "ReplicationController", json!({"template": template})),
    ];
    for (api, kind, spec) in kinds {
        let d = judge_value(
            p,
            &json!({"apiVersion": api, "kind": kind, "metadata": {"name": "w"}, "spec": spec}),
        );
        assert_eq!(d.action, Action::Deny, "{kind}");
        assert!(
            rules(&d).contains(&"escape-privileged-hostpid".to_string()),
            "{kind}"
        );
    }
    let d = judge_value(
        p,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
    );
    assert_eq!(d.action, Action::Allow);
    assert!(d.skipped.is_some());
}

/// Every pod-spec rule and combination in the default policy fires for at least one spec here.
#[test]
fn every_pod_rule_is_covered() {
    let p = policy();
    let caps = |caps: &[&str]| json!({"containers": [container(json!({"securityContext": {"capabilities": {"add": caps}}}))]});
    let mut specs = vec![
        json!({"hostPID": true, "hostNetwork": true, "hostIPC": true, "containers": [container(json!({"securityContext": {"privileged": true, "procMount": "Unmasked", "allowPrivilegeEscalation": true}}))]}),
        json!({"securityContext": {"windowsOptions": {"hostProcess": true}}, "containers": [container(json!({"ports": [{"containerPort": 80, "hostPort": 8080}]}))]}),
        json!({"hostPID": true, "containers": [container(json!({"securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}))]}),
        caps(&[
            "ALL",
            "SYS_ADMIN",
            "SYS_MODULE",
            "SYS_RAWIO",
            "DAC_READ_SEARCH",
            "NET_ADMIN",
            "NET_RAW",
            "BPF",
            "PERFMON",
            "SYSLOG",
            "MAC_ADMIN",
        ]),
        json!({"containers": [{"name": "a", "image": "aquasec/kube-hunter"}, {"name": "b", "image": "nicolaka/netshoot"}]}),
        {
            let mut s = host_path("/var/run/docker.sock");
            s["hostNetwork"] = json!(true);
            s
        },
        {
            let mut s = host_path("/");
            s["hostIPC"] = json!(true);
            s
        },
        {
            let mut s = host_path("/etc/kubernetes");
            s["containers"][0]["securityContext"] = json!({"privileged": true});
            s
        },
    ];
    for path in [
        "/proc",
        "/var/lib/docker",
        "/root",
        "/opt/data",
        "/dev/sda1",
    ] {
        specs.push(host_path(path));
    }
    specs.push(json!({
        "securityContext": {"seccompProfile": {"type": "Unconfined"}, "sysctls": [{"name": "kernel.msgmax", "value": "1"}]},
        "containers": [container(json!({"securityContext": {
            "appArmorProfile": {"type": "Unconfined"},
            "seLinuxOptions": {"type": "spc_t"},
            "capabilities": {"add": ["SYS_TIME"]}
        }}))]
    }));
    let mut fired = std::collections::BTreeSet::new();
    for spec in specs {
        fired.extend(rules(&pod(p, spec)));
    }
    // Judged with the pod cache's context: tests/it/context.rs.
    let context_only = p
        .catalogue
        .context
        .unexpected_creation
        .as_ref()
        .map(|u| u.rule.clone());
    let uncovered: Vec<_> = p
        .rules
        .keys()
        // Command rules are covered in exec_rules.rs, port-forward and proxy rules in connect.rs.
        .filter(|id| {
            Some(id.as_str()) != context_only.as_deref()
                && !id.starts_with("exec-")
                && !id.starts_with("portforward-")
                && !id.starts_with("proxy-")
                && !fired.contains(*id)
        })
        .collect();
    assert!(
        uncovered.is_empty(),
        "pod rules without a case: {uncovered:?}"
    );
}

#[test]
fn informational_findings_do_not_complete_an_escape_path() {
    let p = policy();
    let mut spec = host_path("/var/run/docker.sock");
    spec["containers"][0]["securityContext"] = json!({"allowPrivilegeEscalation": true});
    let d = pod(p, spec);
    assert!(!rules(&d).contains(&"escape-runtime-socket".to_string()));
    // The socket alone decides: 80, nothing added for the informational finding.
    assert_eq!(d.score, p.rule("hostpath-runtime-socket").unwrap().score);
}

/// Pod Security Standards (baseline) parity, as a floor: every field the profile forbids is
/// reported with a rule of its own wherever it may appear (containers, init containers,
/// ephemeral containers, pod level, every workload kind's template), and never denied by itself
/// unless it is an escape primitive; values the profile allows raise nothing.
#[test]
fn every_field_baseline_forbids_is_reported_and_what_it_allows_is_not() {
    let p = policy();
    let container_cases: &[(serde_json::Value, &str)] = &[
        (
            json!({"securityContext": {"privileged": true}}),
            "privileged",
        ),
        (
            json!({"securityContext": {"capabilities": {"add": ["NET_RAW"]}}}),
            "cap-net-raw",
        ),
        (
            json!({"securityContext": {"capabilities": {"add": ["SYS_TIME"]}}}),
            "cap-beyond-baseline",
        ),
        (
            json!({"securityContext": {"capabilities": {"add": ["cap_sys_nice"]}}}),
            "cap-beyond-baseline",
        ),
        (
            json!({"securityContext": {"capabilities": {"add": ["IPC_LOCK"]}}}),
            "cap-beyond-baseline",
        ),
        (
            json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}),
            "seccomp-unconfined",
        ),
        (
            json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}),
            "apparmor-unconfined",
        ),
        (
            json!({"securityContext": {"seLinuxOptions": {"type": "spc_t"}}}),
            "selinux-custom",
        ),
        (
            json!({"securityContext": {"seLinuxOptions": {"user": "system_u"}}}),
            "selinux-custom",
        ),
        (
            json!({"securityContext": {"seLinuxOptions": {"role": "system_r"}}}),
            "selinux-custom",
        ),
        (
            json!({"securityContext": {"procMount": "Unmasked"}}),
            "proc-mount-unmasked",
        ),
        (
            json!({"securityContext": {"windowsOptions": {"hostProcess": true}}}),
            "windows-host-process",
        ),
        (
            json!({"ports": [{"containerPort": 80, "hostPort": 8080}]}),
            "host-port",
        ),
    ];
    let pod_cases: &[(serde_json::Value, &str)] = &[
        (json!({"hostNetwork": true}), "host-network"),
        (json!({"hostPID": true}), "host-pid"),
        (json!({"hostIPC": true}), "host-ipc"),
        (
            json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}),
            "seccomp-unconfined",
        ),
        (
            json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}),
            "apparmor-unconfined",
        ),
        (
            json!({"securityContext": {"seLinuxOptions": {"type": "unconfined_t"}}}),
            "selinux-custom",
        ),
        (
            json!({"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "65536"}]}}),
            "unsafe-sysctl",
        ),
        (
            json!({"securityContext": {"windowsOptions": {"hostProcess": true}}}),
            "windows-host-process",
        ),
        (
            json!({"volumes": [{"name": "data", "hostPath": {"path": "/data"}}]}),
            "hostpath-other",
        ),
    ];
    let base = || json!({"containers": [{"name": "main", "image": "busybox"}]});
    let mut failures = Vec::new();
    let mut check = |what: String, spec: serde_json::Value, rule: &str| {
        let d = pod(p, spec);
        if !rules(&d).iter().any(|r| r == rule) || d.action != Action::Annotate {
            failures.push(format!("{what}: {:?} {:?}", d.action, rules(&d)));
        }
    };
    for (extra, rule) in container_cases {
        for field in ["containers", "initContainers", "ephemeralContainers"] {
            // Ephemeral containers cannot declare ports.
            if field == "ephemeralContainers" && *rule == "host-port" {
                continue;
            }
            let mut spec = base();
            let mut c = container(extra.clone());
            c["name"] = json!("x");
            match spec[field].as_array_mut() {
                Some(list) => list.push(c),
                None => spec[field] = json!([c]),
            }
            check(format!("{field} {extra}"), spec, rule);
        }
    }
    for (extra, rule) in pod_cases {
        let mut spec = base();
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        check(format!("pod {extra}"), spec, rule);
    }
    // Every workload kind's template, one container field and one pod field each.
    for (api, kind) in [
        ("apps/v1", "Deployment"),
        ("apps/v1", "ReplicaSet"),
        ("apps/v1", "StatefulSet"),
        ("apps/v1", "DaemonSet"),
        ("batch/v1", "Job"),
        ("batch/v1", "CronJob"),
        ("v1", "ReplicationController"),
    ] {
        for (spec, rule) in [
            (
                json!({"containers": [container(json!({"securityContext": {"capabilities": {"add": ["SYS_TIME"]}}}))]}),
                "cap-beyond-baseline",
            ),
            (
                json!({"securityContext": {"sysctls": [{"name": "kernel.sem", "value": "1"}]}, "containers": [container(json!({}))]}),
                "unsafe-sysctl",
            ),
        ] {
            let template = json!({"metadata": {"labels": {"app": "x"}}, "spec": spec});
            let workload_spec = if kind == "CronJob" {
                json!({"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}})
            } else {
                json!({"selector": {"matchLabels": {"app": "x"}}, "template": template})
            };
            let d = judge_value(
                p,
                &json!({"apiVersion": api, "kind": kind,
                "metadata": {"name": "w", "namespace": "team-a"}, "spec": workload_spec}),
            );
            if !rules(&d).iter().any(|r| r == rule) || d.action != Action::Annotate {
                failures.push(format!("{kind} {rule}: {:?} {:?}", d.action, rules(&d)));
            }
        }
    }
    // What baseline allows.
    for allowed in [
        json!({"securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN", "cap_kill", "SETUID", "SYS_CHROOT"], "drop": ["ALL"]}}}),
        json!({"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}),
        json!({"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/app.json"}}}),
        json!({"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}}),
        json!({"securityContext": {"seLinuxOptions": {"type": "container_t", "level": "s0:c123,c456"}}}),
        json!({"securityContext": {"procMount": "Default"}}),
        json!({"ports": [{"containerPort": 8080}]}),
    ] {
        let d = pod(p, json!({"containers": [container(allowed.clone())]}));
        if !d.findings.is_empty() {
            failures.push(format!("allowed {allowed}: {:?}", rules(&d)));
        }
    }
    let d = pod(
        p,
        json!({"securityContext": {"sysctls": [{"name": "net.ipv4.ping_group_range", "value": "0 0"}, {"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]}, "containers": [container(json!({}))]}),
    );
    if !d.findings.is_empty() {
        failures.push(format!("safe sysctls: {:?}", rules(&d)));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Escape primitives deny on their own: a runtime socket (any runtime, any spelling, or a
/// directory holding one), the host root, /run, a host block device, privileged with any host
/// namespace.
#[test]
fn escape_primitives_deny_alone() {
    let p = policy();
    let mut specs: Vec<(String, serde_json::Value)> = [
        "/var/run/docker.sock",
        "/run/containerd/containerd.sock",
        "/run/crio/crio.sock",
        "/run/k3s/containerd/containerd.sock",
        "/var/run/cri-dockerd.sock",
        "/run",
        "/var/run",
        "/run/containerd",
        "/",
        "/dev/sda1",
        "/dev/nvme0n1p1",
        "/dev/dm-0",
        "/dev/xvda",
        "/dev/mapper/root",
        "/dev/disk/by-uuid/1234",
    ]
    .iter()
    .map(|path| (path.to_string(), host_path(path)))
    .collect();
    let mut block = host_path("/srv/disk0");
    block["volumes"][0]["hostPath"]["type"] = json!("BlockDevice");
    specs.push(("type BlockDevice".into(), block));
    for ns in ["hostNetwork", "hostIPC", "hostPID"] {
        let mut spec =
            json!({"containers": [container(json!({"securityContext": {"privileged": true}}))]});
        spec[ns] = json!(true);
        specs.push((format!("privileged + {ns}"), spec));
    }
    let failures: Vec<String> = specs
        .into_iter()
        .filter_map(|(what, spec)| {
            let d = pod(p, spec);
            (d.action != Action::Deny).then(|| format!("{what}: {:?} {:?}", d.action, rules(&d)))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Pod Security Standards (baseline) allow an unmasked /proc in a pod that has its own user
/// namespace (`hostUsers: false`): no finding then, in any kind of container; with the host's
/// user namespace it is still reported.
#[test]
fn unmasked_proc_is_allowed_with_a_user_namespace() {
    let policy = policy();
    let unmasked =
        json!({"name": "c", "image": "busybox", "securityContext": {"procMount": "Unmasked"}});
    for field in ["containers", "initContainers", "ephemeralContainers"] {
        let mut spec =
            json!({"hostUsers": false, "containers": [{"name": "main", "image": "busybox"}]});
        spec[field]
            .as_array_mut()
            .map(|a| a.push(unmasked.clone()))
            .unwrap_or_else(|| spec[field] = json!([unmasked.clone()]));
        let d = pod(policy, spec.clone());
        assert!(d.findings.is_empty(), "{field}: {:?}", rules(&d));
        spec["hostUsers"] = json!(true);
        let d = pod(policy, spec);
        assert!(
            rules(&d).contains(&"proc-mount-unmasked".to_string()),
            "{field}: {:?}",
            rules(&d)
        );
    }
}

/// The deprecated seccomp and AppArmor annotations, which Pod Security Standards (baseline) still
/// check, on a Pod, on a workload's template, and on a Pod as the API server sends it (metadata
/// apart from the rest); the values baseline allows raise nothing.
#[test]
fn deprecated_seccomp_and_apparmor_annotations_are_read() {
    let p = policy();
    let forbidden = [
        (
            "seccomp.security.alpha.kubernetes.io/pod",
            "unconfined",
            "seccomp-unconfined",
        ),
        (
            "container.seccomp.security.alpha.kubernetes.io/app",
            "unconfined",
            "seccomp-unconfined",
        ),
        (
            "container.apparmor.security.beta.kubernetes.io/app",
            "unconfined",
            "apparmor-unconfined",
        ),
        (
            "container.apparmor.security.beta.kubernetes.io/app",
            "somethingElse",
            "apparmor-unconfined",
        ),
    ];
    let allowed = [
        (
            "seccomp.security.alpha.kubernetes.io/pod",
            "runtime/default",
        ),
        (
            "container.seccomp.security.alpha.kubernetes.io/app",
            "docker/default",
        ),
        (
            "container.seccomp.security.alpha.kubernetes.io/app",
            "localhost/profiles/app.json",
        ),
        (
            "container.apparmor.security.beta.kubernetes.io/app",
            "runtime/default",
        ),
        (
            "container.apparmor.security.beta.kubernetes.io/app",
            "localhost/k8s-apparmor-app",
        ),
        ("example.com/seccomp", "unconfined"),
    ];
    let spec = json!({"containers": [{"name": "app", "image": "nginx"}]});
    let as_pod = |key: &str, value: &str| {
        judge_value(
            p,
            &json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "namespace": "team-a", "annotations": {key: value}},
                "spec": spec}),
        )
    };
    let as_deployment = |key: &str, value: &str| {
        judge_value(
            p,
            &json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "d", "namespace": "team-a"},
                "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
                    "metadata": {"labels": {"a": "b"}, "annotations": {key: value}}, "spec": spec}}}),
        )
    };
    let as_review = |key: &str, value: &str| {
        judge_value(
            p,
            &json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
                "uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": "team-a", "operation": "CREATE", "userInfo": {},
                "object": {"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "p", "annotations": {key: value}}, "spec": spec}}}),
        )
    };
    let mut failures = Vec::new();
    for (key, value, rule) in forbidden {
        for (how, d) in [
            ("pod", as_pod(key, value)),
            ("deployment", as_deployment(key, value)),
            ("review", as_review(key, value)),
        ] {
            if rules(&d) != [rule] || d.action != Action::Annotate {
                failures.push(format!(
                    "{how} {key}={value}: {:?} {:?}",
                    d.action,
                    rules(&d)
                ));
            }
        }
    }
    for (key, value) in allowed {
        for (how, d) in [
            ("pod", as_pod(key, value)),
            ("deployment", as_deployment(key, value)),
            ("review", as_review(key, value)),
        ] {
            if !d.findings.is_empty() {
                failures.push(format!("{how} {key}={value}: {:?}", rules(&d)));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What decides whether the server judges a pod on its async worker: every command line the
/// analyser reads, containers, init containers, hooks and probes alike.
#[test]
fn script_bytes_count_every_command_line_the_analyser_reads() {
    let manifest = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a"}, "spec": {
        "initContainers": [{"name": "i", "image": "busybox", "command": ["sh", "-c", "sleep 1"]}],
        "containers": [{"name": "c", "image": "nginx", "args": ["--port", "80"],
            "lifecycle": {"preStop": {"exec": {"command": ["nginx", "-s", "quit"]}}},
            "readinessProbe": {"exec": {"command": ["cat", "/tmp/ready"]}}}]}});
    let subjects = reconguard::subject::from_manifest(&manifest).unwrap();
    let want = [
        "sh",
        "-c",
        "sleep 1",
        "--port",
        "80",
        "nginx",
        "-s",
        "quit",
        "cat",
        "/tmp/ready",
    ]
    .iter()
    .map(|s| s.len())
    .sum::<usize>();
    assert_eq!(reconguard::detect::script_bytes(&subjects[0]), want);
}

/// Whoever writes a container runtime's state directory owns every container of the node: each
/// runtime's directory, and any directory below one, denies on its own.
#[test]
fn a_runtime_state_directory_denies_alone() {
    let p = policy();
    for path in [
        "/var/lib/docker",
        "/var/lib/docker/containers",
        "/var/lib/containerd",
        "/var/lib/containerd/io.containerd.runtime.v2.task",
        "/var/lib/containers/storage",
        "/var/lib/cri-o",
        "//var/lib/docker/",
    ] {
        let d = pod(p, host_path(path));
        assert_eq!(d.action, Action::Deny, "{path}: {:?}", d.findings);
        assert!(
            rules(&d).contains(&"hostpath-runtime-data".to_string()),
            "{path}: {:?}",
            rules(&d)
        );
    }
    let d = pod(p, host_path("/var/lib/app-data"));
    assert_eq!(
        d.action,
        Action::Annotate,
        "another /var/lib directory: {:?}",
        d.findings
    );
}

/// Every capability the Pod Security Standards baseline does not allow annotates at least, in
/// every spelling a runtime accepts (upper or lower case, with or without CAP_), whether it has
/// a rule of its own or falls to cap-beyond-baseline; the baseline's own never raise anything.
#[test]
fn every_capability_beyond_baseline_annotates_in_any_spelling() {
    let p = policy();
    const LINUX: &[&str] = &[
        "AUDIT_CONTROL",
        "AUDIT_READ",
        "AUDIT_WRITE",
        "BLOCK_SUSPEND",
        "BPF",
        "CHECKPOINT_RESTORE",
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "IPC_LOCK",
        "IPC_OWNER",
        "KILL",
        "LEASE",
        "LINUX_IMMUTABLE",
        "MAC_ADMIN",
        "MAC_OVERRIDE",
        "MKNOD",
        "NET_ADMIN",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_RAW",
        "PERFMON",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_CHROOT",
        "SYS_MODULE",
        "SYS_NICE",
        "SYS_PACCT",
        "SYS_PTRACE",
        "SYS_RAWIO",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "SYSLOG",
        "WAKE_ALARM",
        "ALL",
    ];
    let baseline = &p.catalogue.pod.baseline_capabilities;
    let mut checked = 0;
    for cap in LINUX {
        for spelling in [
            cap.to_string(),
            cap.to_lowercase(),
            format!("CAP_{cap}"),
            format!("cap_{}", cap.to_lowercase()),
        ] {
            let spec = json!({"containers": [container(json!({"securityContext": {"capabilities": {"add": [spelling]}}}))]});
            let d = pod(p, spec);
            if baseline.contains(*cap) {
                assert_eq!(
                    d.action,
                    Action::Allow,
                    "{spelling} is baseline: {:?}",
                    d.findings
                );
                assert!(d.findings.is_empty(), "{spelling}: {:?}", d.findings);
            } else {
                assert!(
                    d.action >= Action::Annotate,
                    "{spelling}: {:?} {:?}",
                    d.action,
                    d.findings
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 100, "only {checked} spellings beyond baseline");
}
