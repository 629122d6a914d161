//! What the cluster knows around a request, as plain values: the pod an exec, attach,
//! port-forward or debug lands in, and the namespace a new pod joins. The server fills them from
//! its pod cache (`crate::cluster::pods`); the engine only reads them, so judging stays pure and
//! a request without context is judged by what it carries alone.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, HostPathVolumeSource, Pod, PodSpec, SecurityContext, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// A running pod, reduced to what makes a request into it riskier and what tells who made it.
/// About 200 bytes for a typical pod, whatever its spec's size: the cache holds one per pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPod {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub service_account: String,
    /// `Kind/name` of the controlling owner; None for a bare pod.
    pub controller: Option<String>,
    /// The field manager that created the pod (`kube-controller-manager`, `kubectl-run`...).
    pub creator: Option<String>,
    pub host_pid: bool,
    pub host_ipc: bool,
    pub host_network: bool,
    /// Containers that are privileged or add capabilities; plain containers are not kept.
    pub containers: Vec<ContainerFacts>,
    /// `(volume, path)` of each hostPath volume.
    pub host_paths: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerFacts {
    pub name: String,
    pub privileged: bool,
    pub capabilities: Vec<String>,
}

impl TargetPod {
    pub fn from_pod(pod: &Pod) -> TargetPod {
        let empty = PodSpec::default();
        TargetPod::from_parts(&pod.metadata, pod.spec.as_ref().unwrap_or(&empty))
    }

    /// The facts of a pod's metadata and spec. Ephemeral containers are left out: each is judged
    /// when kubectl debug adds it.
    pub fn from_parts(meta: &ObjectMeta, spec: &PodSpec) -> TargetPod {
        let controller = meta
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
            .map(|o| format!("{}/{}", o.kind, o.name));
        let creator = meta
            .managed_fields
            .iter()
            .flatten()
            .find_map(|m| m.manager.clone());
        let containers = spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .filter_map(container_facts)
            .collect();
        let host_paths = spec
            .volumes
            .iter()
            .flatten()
            .filter_map(|v| Some((v.name.clone(), v.host_path.as_ref()?.path.clone())))
            .collect();
        TargetPod {
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
            service_account: spec
                .service_account_name
                .clone()
                .unwrap_or_else(|| "default".to_string()),
            controller,
            creator,
            host_pid: spec.host_pid == Some(true),
            host_ipc: spec.host_ipc == Some(true),
            host_network: spec.host_network == Some(true),
            containers,
            host_paths,
        }
    }

    /// The facts as a pod spec, for the pod detectors: what they raise on it is what the target
    /// exposes to whoever runs a command in it.
    pub fn spec(&self) -> PodSpec {
        let container = |c: &ContainerFacts| Container {
            name: c.name.clone(),
            security_context: Some(SecurityContext {
                privileged: Some(c.privileged),
                capabilities: Some(Capabilities {
                    add: Some(c.capabilities.clone()),
                    drop: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let volume = |(name, path): &(String, String)| Volume {
            name: name.clone(),
            host_path: Some(HostPathVolumeSource {
                path: path.clone(),
                type_: None,
            }),
            ..Default::default()
        };
        PodSpec {
            host_pid: Some(self.host_pid),
            host_ipc: Some(self.host_ipc),
            host_network: Some(self.host_network),
            containers: self.containers.iter().map(container).collect(),
            volumes: Some(self.host_paths.iter().map(volume).collect()),
            ..Default::default()
        }
    }

    /// Approximate heap and inline bytes, for the cache's memory gauge.
    pub fn footprint(&self) -> usize {
        let strings = [
            &self.namespace,
            &self.name,
            &self.uid,
            &self.service_account,
        ]
        .iter()
        .map(|s| s.capacity())
        .sum::<usize>()
            + self.controller.as_ref().map_or(0, String::capacity)
            + self.creator.as_ref().map_or(0, String::capacity);
        let containers: usize = self
            .containers
            .iter()
            .map(|c| {
                std::mem::size_of::<ContainerFacts>()
                    + c.name.capacity()
                    + c.capabilities.iter().map(String::capacity).sum::<usize>()
            })
            .sum();
        let paths: usize = self
            .host_paths
            .iter()
            .map(|(v, p)| std::mem::size_of::<(String, String)>() + v.capacity() + p.capacity())
            .sum();
        std::mem::size_of::<TargetPod>() + strings + containers + paths
    }
}

fn container_facts(c: &Container) -> Option<ContainerFacts> {
    let sc = c.security_context.as_ref()?;
    let privileged = sc.privileged == Some(true);
    let capabilities = sc
        .capabilities
        .as_ref()
        .and_then(|c| c.add.clone())
        .unwrap_or_default();
    (privileged || !capabilities.is_empty()).then(|| ContainerFacts {
        name: c.name.clone(),
        privileged,
        capabilities,
    })
}

/// The running pods of a namespace, summarised for a pod CREATE.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespacePods {
    /// Running (not finished) pods the cache knows in the namespace.
    pub pods: usize,
    /// Of which have a controlling owner.
    pub managed: usize,
    /// Who usually makes the namespace's pods: `Kind via manager`, sorted, at most a few.
    pub creators: Vec<String>,
}

/// Most creators named in a message.
pub const MAX_CREATORS: usize = 5;

impl NamespacePods {
    /// The summary of `pods`, all in one namespace.
    pub fn of<'a>(pods: impl IntoIterator<Item = &'a TargetPod>) -> NamespacePods {
        let mut summary = NamespacePods::default();
        let mut creators = BTreeSet::new();
        for pod in pods {
            summary.pods += 1;
            if let Some(controller) = &pod.controller {
                summary.managed += 1;
                let kind = controller.split('/').next().unwrap_or_default();
                creators.insert(match &pod.creator {
                    Some(manager) => format!("{kind} via {manager}"),
                    None => kind.to_string(),
                });
            } else if let Some(manager) = &pod.creator {
                creators.insert(format!("bare pods via {manager}"));
            }
        }
        summary.creators = creators.into_iter().take(MAX_CREATORS).collect();
        summary
    }
}

/// Context for one request; empty when the server has no pod cache or knows nothing yet.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The pod an exec, attach, port-forward or debug lands in.
    pub target: Option<Arc<TargetPod>>,
    /// For a pod CREATE: the namespace's running pods.
    pub namespace: Option<NamespacePods>,
    /// For a pod CREATE by a service account: a running pod that holds that account's token
    /// (`Kind/name` of its controller, or the pod's name), so the request came from a workload.
    pub requester_workload: Option<String>,
}

impl Context {
    pub fn is_empty(&self) -> bool {
        self.target.is_none() && self.namespace.is_none() && self.requester_workload.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, OwnerReference};

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u-1"},
            "spec": spec,
        }))
        .expect("pod")
    }

    #[test]
    fn keeps_only_what_raises_risk_and_rebuilds_it_as_a_spec() {
        let p = pod(serde_json::json!({
            "hostPID": true,
            "serviceAccountName": "exporter",
            "containers": [
                {"name": "plain", "image": "app"},
                {"name": "root", "image": "x", "securityContext": {"privileged": true}},
                {"name": "caps", "image": "x", "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}},
            ],
            "ephemeralContainers": [{"name": "dbg", "image": "busybox", "securityContext": {"privileged": true}}],
            "volumes": [{"name": "root", "hostPath": {"path": "/"}}, {"name": "cfg", "configMap": {"name": "c"}}],
        }));
        let t = TargetPod::from_pod(&p);
        assert!(t.host_pid && !t.host_network && !t.host_ipc);
        assert_eq!(t.service_account, "exporter");
        let names: Vec<&str> = t.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["root", "caps"]);
        assert_eq!(t.host_paths, [("root".to_string(), "/".to_string())]);
        let spec = t.spec();
        assert_eq!(spec.host_pid, Some(true));
        assert_eq!(spec.containers.len(), 2);
        assert_eq!(spec.volumes.as_ref().map(Vec::len), Some(1));
        assert!(t.footprint() < 1024, "{}", t.footprint());
    }

    #[test]
    fn a_namespace_summary_names_its_usual_creators() {
        let managed = |kind: &str, manager: &str| {
            let mut meta = ObjectMeta {
                namespace: Some("ns".into()),
                name: Some("x".into()),
                owner_references: Some(vec![OwnerReference {
                    kind: kind.into(),
                    name: "w".into(),
                    controller: Some(true),
                    ..Default::default()
                }]),
                ..Default::default()
            };
            meta.managed_fields = Some(vec![ManagedFieldsEntry {
                manager: Some(manager.into()),
                operation: Some("Update".into()),
                ..Default::default()
            }]);
            TargetPod::from_parts(&meta, &PodSpec::default())
        };
        let pods = [
            managed("ReplicaSet", "kube-controller-manager"),
            managed("ReplicaSet", "kube-controller-manager"),
            managed("StatefulSet", "kube-controller-manager"),
        ];
        let s = NamespacePods::of(&pods);
        assert_eq!((s.pods, s.managed), (3, 3));
        assert_eq!(
            s.creators,
            [
                "ReplicaSet via kube-controller-manager",
                "StatefulSet via kube-controller-manager"
            ]
        );
        let bare = TargetPod::from_parts(
            &ObjectMeta {
                name: Some("b".into()),
                ..Default::default()
            },
            &PodSpec::default(),
        );
        let s = NamespacePods::of(pods.iter().chain([&bare]));
        assert_eq!((s.pods, s.managed), (4, 3));
    }
}
