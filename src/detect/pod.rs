//! Pod-spec detection: host namespaces, privileged and host-process containers, added
//! capabilities, host paths, attack-tool images, and every command the pod would run
//! (command/args, exec probes, lifecycle hooks), read by the same analyser as exec requests.

use k8s_openapi::api::core::v1::{
    Capabilities, ContainerPort, Lifecycle, PodSpec, Probe, SELinuxOptions, SecurityContext,
};

use super::budget::Budget;
use super::catalogue::Catalogue;
use super::paths::matching_entries;
use super::{exec, CommandOrigin, Signals};
use crate::norm::capability::normalise_capability;
use crate::norm::host_path::HostPath;
use crate::norm::image::ImageRef;
use crate::subject::{PodScope, PodSubject};

/// The parts of a container (regular, init or ephemeral) that the detectors read.
struct ContainerView<'a> {
    name: &'a str,
    /// Who wrote its command: the workload's owner (regular and init containers) or the person
    /// running kubectl debug (ephemeral containers).
    origin: CommandOrigin,
    image: Option<&'a str>,
    command: Option<&'a Vec<String>>,
    args: Option<&'a Vec<String>>,
    security_context: Option<&'a SecurityContext>,
    ports: Option<&'a Vec<ContainerPort>>,
    probes: [Option<&'a Probe>; 3],
    lifecycle: Option<&'a Lifecycle>,
    mounts: Vec<&'a str>,
}

macro_rules! view {
    ($c:expr, $origin:expr, $ports:expr, $probes:expr) => {
        ContainerView {
            name: &$c.name,
            origin: $origin,
            image: $c.image.as_deref(),
            command: $c.command.as_ref(),
            args: $c.args.as_ref(),
            security_context: $c.security_context.as_ref(),
            ports: $ports,
            probes: $probes,
            lifecycle: $c.lifecycle.as_ref(),
            mounts: $c
                .volume_mounts
                .iter()
                .flatten()
                .map(|m| m.name.as_str())
                .collect(),
        }
    };
}

fn containers<'a>(spec: &'a PodSpec, scope: &PodScope) -> Vec<ContainerView<'a>> {
    let mut views = Vec::new();
    if matches!(scope, PodScope::All) {
        let init = spec.init_containers.iter().flatten();
        let regular = spec.containers.iter();
        for (c, origin) in init
            .map(|c| (c, CommandOrigin::Init))
            .chain(regular.map(|c| (c, CommandOrigin::Container)))
        {
            views.push(view!(
                c,
                origin,
                c.ports.as_ref(),
                [
                    c.liveness_probe.as_ref(),
                    c.readiness_probe.as_ref(),
                    c.startup_probe.as_ref()
                ]
            ));
        }
    }
    for c in spec.ephemeral_containers.iter().flatten() {
        let included = match scope {
            PodScope::All => true,
            PodScope::EphemeralOnly(names) => names.iter().any(|n| n == &c.name),
        };
        if included {
            views.push(view!(c, CommandOrigin::Debug, None, [None, None, None]));
        }
    }
    views
}

pub fn detect(catalogue: &Catalogue, pod: &PodSubject, budget: &Budget, out: &mut Signals) {
    let spec = &pod.spec;
    out.in_container(None);
    if spec.host_pid == Some(true) {
        out.raise("host-pid", "hostPID: true");
    }
    if spec.host_network == Some(true) {
        out.raise("host-network", "hostNetwork: true");
    }
    if spec.host_ipc == Some(true) {
        out.raise("host-ipc", "hostIPC: true");
    }
    let pod_host_process = spec
        .security_context
        .as_ref()
        .and_then(|s| s.windows_options.as_ref())
        .and_then(|w| w.host_process)
        == Some(true);
    if pod_host_process {
        out.raise(
            "windows-host-process",
            "pod securityContext.windowsOptions.hostProcess: true",
        );
    }
    if let Some(psc) = &spec.security_context {
        let confinement = Confinement {
            seccomp: psc.seccomp_profile.as_ref().map(|p| p.type_.as_str()),
            apparmor: psc.app_armor_profile.as_ref().map(|p| p.type_.as_str()),
            selinux: psc.se_linux_options.as_ref(),
        };
        confinement.check(catalogue, "pod securityContext", out);
        for sysctl in psc.sysctls.iter().flatten() {
            if !catalogue.pod.safe_sysctls.contains(&sysctl.name) {
                out.raise(
                    "unsafe-sysctl",
                    format!("pod securityContext.sysctls: {}", sysctl.name),
                );
            }
        }
    }

    if pod.scope == PodScope::All {
        deprecated_annotations(pod, out);
    }

    // Pod Security Standards allow an unmasked /proc in a pod with its own user namespace.
    let own_user_namespace = spec.host_users == Some(false);
    let views = containers(spec, &pod.scope);
    for view in &views {
        out.in_container(Some(view.name));
        container(catalogue, view, own_user_namespace, budget, out);
    }

    out.in_container(None);
    let mounted: Vec<&str> = views
        .iter()
        .flat_map(|v| v.mounts.iter().copied())
        .collect();
    for volume in spec.volumes.iter().flatten() {
        let Some(host_path) = &volume.host_path else {
            continue;
        };
        // For kubectl debug only the debug container is new: only what it mounts is new access.
        if matches!(pod.scope, PodScope::EphemeralOnly(_))
            && !mounted.contains(&volume.name.as_str())
        {
            continue;
        }
        host_path_volume(catalogue, &volume.name, &host_path.path, out);
        if host_path.type_.as_deref() == Some("BlockDevice") {
            if let Some(rule) = &catalogue.pod.block_device_rule {
                out.raise(
                    rule,
                    format!(
                        "volume {}: hostPath {} of type BlockDevice",
                        volume.name, host_path.path
                    ),
                );
            }
        }
    }
}

/// The settings Pod Security Standards (baseline) check at pod and at container level: seccomp
/// and AppArmor must not be `Unconfined`, SELinux may set only the container types.
struct Confinement<'a> {
    seccomp: Option<&'a str>,
    apparmor: Option<&'a str>,
    selinux: Option<&'a SELinuxOptions>,
}

impl Confinement<'_> {
    fn check(&self, catalogue: &Catalogue, at: &str, out: &mut Signals) {
        if self.seccomp == Some("Unconfined") {
            out.raise(
                "seccomp-unconfined",
                format!("{at}.seccompProfile.type: Unconfined"),
            );
        }
        if self.apparmor == Some("Unconfined") {
            out.raise(
                "apparmor-unconfined",
                format!("{at}.appArmorProfile.type: Unconfined"),
            );
        }
        if let Some(se) = self.selinux {
            if let Some(user) = se.user.as_deref().filter(|u| !u.is_empty()) {
                out.raise(
                    "selinux-custom",
                    format!("{at}.seLinuxOptions.user: {user}"),
                );
            }
            if let Some(role) = se.role.as_deref().filter(|r| !r.is_empty()) {
                out.raise(
                    "selinux-custom",
                    format!("{at}.seLinuxOptions.role: {role}"),
                );
            }
            if let Some(t) = se.type_.as_deref() {
                if !catalogue.pod.selinux_types.contains(t) {
                    out.raise("selinux-custom", format!("{at}.seLinuxOptions.type: {t}"));
                }
            }
        }
    }
}

fn host_path_volume(catalogue: &Catalogue, volume: &str, raw: &str, out: &mut Signals) {
    let Some(path) = HostPath::parse(raw) else {
        // Kubernetes rejects relative host paths; still say what was asked for.
        if let Some(rule) = &catalogue.pod.other_host_path_rule {
            out.raise(rule, format!("volume {volume}: hostPath {raw:?}"));
        }
        return;
    };
    // Highest score wins; on a tie, the entry naming this very path (`/` is the host root
    // before it is a directory holding the runtime socket).
    let best = matching_entries(&path, &catalogue.pod.host_paths)
        .max_by_key(|entry| (entry.priority, entry.path == path));
    match best {
        Some(entry) => {
            let detail = if path.to_string() == entry.path.to_string() {
                format!("volume {volume}: hostPath {path}")
            } else {
                format!("volume {volume}: hostPath {path} (exposes {})", entry.path)
            };
            out.raise(&entry.rule, detail);
        }
        None => {
            if let Some(rule) = &catalogue.pod.other_host_path_rule {
                out.raise(rule, format!("volume {volume}: hostPath {path}"));
            }
        }
    }
}

fn container(
    catalogue: &Catalogue,
    view: &ContainerView<'_>,
    own_user_namespace: bool,
    budget: &Budget,
    out: &mut Signals,
) {
    if let Some(sc) = view.security_context {
        if sc.privileged == Some(true) {
            out.raise("privileged", "securityContext.privileged: true");
        }
        if sc.proc_mount.as_deref() == Some("Unmasked") && !own_user_namespace {
            out.raise("proc-mount-unmasked", "securityContext.procMount: Unmasked");
        }
        if sc.windows_options.as_ref().and_then(|w| w.host_process) == Some(true) {
            out.raise(
                "windows-host-process",
                "securityContext.windowsOptions.hostProcess: true",
            );
        }
        if sc.allow_privilege_escalation == Some(true) {
            out.raise(
                "allow-privilege-escalation",
                "allowPrivilegeEscalation: true",
            );
        }
        if let Some(Capabilities { add: Some(add), .. }) = &sc.capabilities {
            for cap in add {
                let name = normalise_capability(cap);
                let rule = catalogue.pod.capabilities.get(&name).or_else(|| {
                    catalogue
                        .pod
                        .other_capability_rule
                        .as_ref()
                        .filter(|_| !catalogue.pod.baseline_capabilities.contains(&name))
                });
                if let Some(rule) = rule {
                    out.raise(rule, format!("capabilities.add: {cap}"));
                }
            }
        }
        Confinement {
            seccomp: sc.seccomp_profile.as_ref().map(|p| p.type_.as_str()),
            apparmor: sc.app_armor_profile.as_ref().map(|p| p.type_.as_str()),
            selinux: sc.se_linux_options.as_ref(),
        }
        .check(catalogue, "securityContext", out);
    }
    for port in view.ports.iter().flat_map(|p| p.iter()) {
        if let Some(hp) = port.host_port.filter(|p| *p > 0) {
            out.raise("host-port", format!("hostPort {hp}"));
        }
    }
    if let Some(image) = view.image {
        image_signals(catalogue, image, out);
    }

    // Without `command` the image's entrypoint runs with `args`: its name is unknown, so the
    // first argument must not be read as a program.
    let mut argv: Vec<String> = match view.command {
        Some(cmd) if !cmd.is_empty() => cmd.clone(),
        _ if view.args.is_some_and(|a| !a.is_empty()) => vec!["(image entrypoint)".to_string()],
        _ => Vec::new(),
    };
    argv.extend(view.args.cloned().unwrap_or_default());
    if !argv.is_empty() {
        out.from_origin(Some(view.origin));
        exec::detect(&catalogue.exec, &argv, false, budget, out);
    }
    for (origin, cmd) in view.hook_and_probe_commands() {
        out.from_origin(Some(origin));
        exec::detect(&catalogue.exec, cmd, false, budget, out);
    }
    out.from_origin(None);
}

impl ContainerView<'_> {
    /// The command lines of exec hooks and exec probes, each with its origin.
    fn hook_and_probe_commands(&self) -> impl Iterator<Item = (CommandOrigin, &Vec<String>)> {
        let hooks = self
            .lifecycle
            .into_iter()
            .flat_map(|l| [l.post_start.as_ref(), l.pre_stop.as_ref()])
            .flatten()
            .filter_map(|h| h.exec.as_ref())
            .map(|action| (CommandOrigin::Hook, action));
        let probes = self
            .probes
            .iter()
            .flatten()
            .filter_map(|p| p.exec.as_ref())
            .map(|action| (CommandOrigin::Probe, action));
        hooks
            .chain(probes)
            .filter_map(|(origin, action)| Some((origin, action.command.as_ref()?)))
    }
}

/// Bytes of every command line the analyser reads in this pod: command, args, exec hooks and
/// exec probes of the containers in scope.
pub fn script_bytes(pod: &PodSubject) -> usize {
    let bytes = |v: &Vec<String>| v.iter().map(String::len).sum::<usize>();
    containers(&pod.spec, &pod.scope)
        .iter()
        .map(|view| {
            view.command.map_or(0, bytes)
                + view.args.map_or(0, bytes)
                + view
                    .hook_and_probe_commands()
                    .map(|(_, cmd)| bytes(cmd))
                    .sum::<usize>()
        })
        .sum()
}

fn image_signals(catalogue: &Catalogue, raw: &str, out: &mut Signals) {
    let Some(image) = ImageRef::parse(raw) else {
        return;
    };
    let full = image.full_repository();
    let repository = image.repository.to_lowercase();
    for entry in &catalogue.pod.images {
        if entry.names.contains(image.name())
            || entry.repositories.contains(&full)
            || entry.name_contains.find(&repository).is_some()
        {
            out.raise(&entry.rule, format!("image {raw}"));
        }
    }
}

/// The annotations that set seccomp and AppArmor before the fields existed. Pod Security
/// Standards (baseline) still check them: a kubelet that honours them runs the container
/// unconfined. Annotations are requester-controlled, so they can only raise a finding here.
fn deprecated_annotations(pod: &PodSubject, out: &mut Signals) {
    const SECCOMP_POD: &str = "seccomp.security.alpha.kubernetes.io/pod";
    const SECCOMP_CONTAINER: &str = "container.seccomp.security.alpha.kubernetes.io/";
    const APPARMOR_CONTAINER: &str = "container.apparmor.security.beta.kubernetes.io/";
    for (key, value) in &pod.annotations {
        let seccomp = key == SECCOMP_POD || key.starts_with(SECCOMP_CONTAINER);
        if seccomp
            && !matches!(value.as_str(), "runtime/default" | "docker/default")
            && !value.starts_with("localhost/")
        {
            out.raise(
                "seccomp-unconfined",
                format!("annotation {key}: {}", super::shorten(value, 60)),
            );
        }
        if key.starts_with(APPARMOR_CONTAINER)
            && value != "runtime/default"
            && !value.starts_with("localhost/")
        {
            out.raise(
                "apparmor-unconfined",
                format!("annotation {key}: {}", super::shorten(value, 60)),
            );
        }
    }
}
