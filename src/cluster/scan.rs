//! `reconguard scan`: the pods and workloads already running, judged as if they were created now,
//! and optionally written as PolicyReports (wgpolicyk8s.io/v1alpha2) so report UIs show them.
//! Collection and writing are I/O; judging and building the reports are pure.

use std::collections::BTreeMap;

use anyhow::Context as _;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::decision::{Action, Decision};
use crate::policy::Policy;
use crate::subject::Subject;

/// Kinds whose pod template is judged; pods they control are not judged again.
const TEMPLATE_OWNERS: &[&str] = &[
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "ReplicationController",
];

/// Every object of kind `K`, page by page, as manifests.
async fn list<K>(client: &kube::Client, namespace: Option<&str>) -> anyhow::Result<Vec<Value>>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let api: Api<K> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let mut out = Vec::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api
            .list(&params)
            .await
            .with_context(|| format!("listing {}", K::plural(&())))?;
        for item in &page.items {
            let mut value = serde_json::to_value(item)?;
            value["apiVersion"] = json!(K::api_version(&()));
            value["kind"] = json!(K::kind(&()));
            if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("managedFields");
            }
            out.push(value);
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params.continue_token = Some(token),
            None => break,
        }
    }
    Ok(out)
}

/// The controlling owner's kind, if any.
fn controller_kind(object: &Value) -> Option<&str> {
    object["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["controller"] == json!(true))
        .and_then(|o| o["kind"].as_str())
}

/// What a scan judges: workloads whose template is their own (a ReplicaSet of a Deployment and a
/// Job of a CronJob are judged through their owner), and pods no such workload controls.
pub fn scanned(objects: Vec<Value>) -> Vec<Value> {
    objects
        .into_iter()
        .filter(|o| {
            let owner = controller_kind(o);
            match o["kind"].as_str() {
                Some("Pod") => !owner.is_some_and(|k| TEMPLATE_OWNERS.contains(&k)),
                Some("ReplicaSet") => owner != Some("Deployment"),
                Some("Job") => owner != Some("CronJob"),
                _ => true,
            }
        })
        .collect()
}

/// Lists the cluster's (or one namespace's) pods and workloads.
pub async fn collect(client: &kube::Client, namespace: Option<&str>) -> anyhow::Result<Vec<Value>> {
    let mut all = Vec::new();
    all.extend(list::<Pod>(client, namespace).await?);
    all.extend(list::<Deployment>(client, namespace).await?);
    all.extend(list::<StatefulSet>(client, namespace).await?);
    all.extend(list::<DaemonSet>(client, namespace).await?);
    all.extend(list::<ReplicaSet>(client, namespace).await?);
    all.extend(list::<Job>(client, namespace).await?);
    all.extend(list::<CronJob>(client, namespace).await?);
    all.extend(list::<ReplicationController>(client, namespace).await?);
    Ok(scanned(all))
}

/// One judged object.
pub struct Judged {
    pub object: Value,
    pub subject: Subject,
    pub decision: Decision,
}

/// Judges each object as the manifest `evaluate` would read.
pub fn judge(policy: &Policy, objects: Vec<Value>) -> Vec<Judged> {
    let mut out = Vec::new();
    for object in objects {
        let Ok(subjects) = crate::subject::from_manifest(&object) else {
            continue;
        };
        for subject in subjects {
            let decision = crate::evaluate(policy, &subject);
            out.push(Judged {
                object: object.clone(),
                subject,
                decision,
            });
        }
    }
    out
}

/// The PolicyReport kind.
pub fn report_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("wgpolicyk8s.io", "v1alpha2", "PolicyReport"),
        "policyreports",
    )
}

/// The name of the report reconguard owns in each namespace.
pub const REPORT_NAME: &str = "reconguard";

/// One PolicyReport per namespace: a `fail` result per finding of a denied object, `warn` per
/// finding of an annotated one, one `pass` per object without findings.
pub fn policy_reports(policy: &Policy, judged: &[Judged], now_seconds: i64) -> Vec<Value> {
    let mut by_namespace: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for j in judged {
        if j.decision.skipped.is_some() {
            continue;
        }
        let Some(namespace) = j.subject.namespace.clone() else {
            continue;
        };
        let meta = &j.object["metadata"];
        let resource = json!({
            "apiVersion": j.object["apiVersion"], "kind": j.object["kind"],
            "name": meta["name"], "namespace": namespace, "uid": meta["uid"],
        });
        let results = by_namespace.entry(namespace).or_default();
        let timestamp = json!({"seconds": now_seconds, "nanos": 0});
        if j.decision.findings.is_empty() {
            results.push(json!({
                "policy": "reconguard", "rule": "no-findings", "result": "pass",
                "source": "reconguard", "timestamp": timestamp, "resources": [resource],
                "message": "no finding",
            }));
            continue;
        }
        let result = match j.decision.action {
            Action::Deny => "fail",
            _ if j.decision.would_deny => "fail",
            _ => "warn",
        };
        for f in &j.decision.findings {
            let spec = policy.document.rules.get(&f.rule);
            let severity = spec.and_then(|s| s.priority).map_or("info", |p| p.as_str());
            let category = policy
                .document
                .techniques
                .get(&f.technique)
                .map_or(f.technique.clone(), |t| {
                    format!("{} {} ({})", f.technique, t.name, t.tactic)
                });
            results.push(json!({
                "policy": "reconguard", "rule": f.rule, "result": result,
                "severity": severity, "category": category, "source": "reconguard",
                "message": f.message, "timestamp": timestamp, "resources": [resource],
                "properties": {
                    "score": f.score.to_string(),
                    "technique": f.technique,
                    "decision": j.decision.action.as_str(),
                    "decisionScore": j.decision.score.to_string(),
                },
            }));
        }
    }
    by_namespace
        .into_iter()
        .map(|(namespace, results)| {
            let count = |r: &str| results.iter().filter(|x| x["result"] == r).count();
            json!({
                "apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
                "metadata": {
                    "name": REPORT_NAME, "namespace": namespace,
                    "labels": {"app.kubernetes.io/managed-by": "reconguard"},
                },
                "summary": {
                    "pass": count("pass"), "fail": count("fail"), "warn": count("warn"),
                    "error": 0, "skip": 0,
                },
                "results": results,
            })
        })
        .collect()
}

/// Writes each report by server-side apply (field manager `reconguard`), so a rescan replaces
/// the previous results and nobody else's fields are touched.
pub async fn write_reports(client: &kube::Client, reports: &[Value]) -> anyhow::Result<usize> {
    let resource = report_resource();
    let params = PatchParams::apply("reconguard").force();
    for report in reports {
        let namespace = report["metadata"]["namespace"].as_str().unwrap_or_default();
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
        api.patch(REPORT_NAME, &params, &Patch::Apply(report))
            .await
            .with_context(|| format!("writing PolicyReport {namespace}/{REPORT_NAME}"))?;
    }
    Ok(reports.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(kind: &str, name: &str, owner: Option<&str>) -> Value {
        let mut o = json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": "ns"}});
        if let Some(owner) = owner {
            o["metadata"]["ownerReferences"] = json!([{"kind": owner, "name": "x", "controller": true, "apiVersion": "apps/v1", "uid": "u"}]);
        }
        o
    }

    #[test]
    fn each_template_is_judged_once() {
        let kept = scanned(vec![
            object("Pod", "bare", None),
            object("Pod", "of-rs", Some("ReplicaSet")),
            object("Pod", "of-operator", Some("SparkApplication")),
            object("ReplicaSet", "of-deploy", Some("Deployment")),
            object("ReplicaSet", "alone", None),
            object("Job", "of-cron", Some("CronJob")),
            object("Deployment", "d", None),
        ]);
        let names: Vec<&str> = kept
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(names, ["bare", "of-operator", "alone", "d"]);
    }
}
