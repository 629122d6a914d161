//! Containment, opt-in: after a denied high-risk exec, attach or port-forward, the target pod is
//! labelled `reconguard.io/quarantine=<rule>` so that a NetworkPolicy selecting the label (the
//! chart ships one) cuts it off, and responders find it. The label is patched off the admission
//! path: the handler queues a request and answers; a full queue drops it. Dry runs never label.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Patch, PatchParams};
use kube::Api;
use tokio::sync::mpsc;

/// The label set on a contained pod.
pub const QUARANTINE_LABEL: &str = "reconguard.io/quarantine";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantine {
    pub namespace: String,
    pub name: String,
    /// When the pod cache knows it: the patch then applies only to that very pod, not to a
    /// pod recreated under the same name.
    pub uid: Option<String>,
    /// The rule that denied: the label's value.
    pub rule: String,
}

impl Quarantine {
    /// The merge patch that labels the pod.
    pub fn patch(&self) -> serde_json::Value {
        let mut metadata =
            serde_json::json!({"labels": {QUARANTINE_LABEL: label_value(&self.rule)}});
        if let Some(uid) = &self.uid {
            metadata["uid"] = serde_json::json!(uid);
        }
        serde_json::json!({"metadata": metadata})
    }
}

/// A label value: at most 63 characters of `[A-Za-z0-9._-]`, starting and ending alphanumeric.
pub fn label_value(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        "denied".to_string()
    } else {
        trimmed.to_string()
    }
}

/// What became of a request (`reconguard_quarantines_total{outcome}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Labelled,
    Failed,
    Dropped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Labelled => "labelled",
            Outcome::Failed => "failed",
            Outcome::Dropped => "dropped",
        }
    }
}

#[derive(Clone)]
pub struct Labeller {
    tx: mpsc::Sender<Quarantine>,
}

impl Labeller {
    /// Queues a label; false when the queue is full.
    pub fn send(&self, q: Quarantine) -> bool {
        self.tx.try_send(q).is_ok()
    }
}

pub fn start(client: kube::Client, outcome: impl Fn(Outcome) + Send + Sync + 'static) -> Labeller {
    let (tx, mut rx) = mpsc::channel::<Quarantine>(64);
    tokio::spawn(async move {
        let params = PatchParams::default();
        while let Some(q) = rx.recv().await {
            let pods: Api<Pod> = Api::namespaced(client.clone(), &q.namespace);
            match pods.patch(&q.name, &params, &Patch::Merge(q.patch())).await {
                Ok(_) => {
                    outcome(Outcome::Labelled);
                    tracing::warn!(namespace = %q.namespace, pod = %q.name, rule = %q.rule, "pod labelled for quarantine");
                }
                Err(e) => {
                    outcome(Outcome::Failed);
                    tracing::error!(namespace = %q.namespace, pod = %q.name, error = %e, "labelling a pod for quarantine failed");
                }
            }
        }
    });
    Labeller { tx }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_valid_whatever_the_rule_id() {
        assert_eq!(label_value("exec-reverse-shell"), "exec-reverse-shell");
        assert_eq!(
            label_value("a rule/with:odd chars!"),
            "a-rule-with-odd-chars"
        );
        assert_eq!(label_value(&"x".repeat(100)).len(), 63);
        assert_eq!(label_value("---"), "denied");
        let q = Quarantine {
            namespace: "ns".into(),
            name: "p".into(),
            uid: Some("u-1".into()),
            rule: "exec-reverse-shell".into(),
        };
        assert_eq!(
            q.patch(),
            serde_json::json!({"metadata": {"uid": "u-1", "labels": {QUARANTINE_LABEL: "exec-reverse-shell"}}})
        );
    }
}
