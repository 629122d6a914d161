//! `reconguard scan`: the pods and workloads already running, judged as if they were created now,
//! and optionally written as PolicyReports (wgpolicyk8s.io/v1alpha2) so report UIs show them.
//! Collection and writing are I/O; judging and building the reports are pure.

use std::collections::BTreeMap;

use anyhow::Context as _;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams};
use kube::Api;
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

/// The kinds a scan lists: `(group, version, kind, plural)`.
const KINDS: &[(&str, &str, &str, &str)] = &[
    ("", "v1", "Pod", "pods"),
    ("apps", "v1", "Deployment", "deployments"),
    ("apps", "v1", "StatefulSet", "statefulsets"),
    ("apps", "v1", "DaemonSet", "daemonsets"),
    ("apps", "v1", "ReplicaSet", "replicasets"),
    ("batch", "v1", "Job", "jobs"),
    ("batch", "v1", "CronJob", "cronjobs"),
    ("", "v1", "ReplicationController", "replicationcontrollers"),
];

/// Every object of one kind, page by page, as manifests. Read as untyped objects: the engine
/// reads manifests, so decoding into typed workloads only to encode them again would be waste.
async fn list(
    client: &kube::Client,
    namespace: Option<&str>,
    (group, version, kind, plural): (&str, &str, &str, &str),
) -> anyhow::Result<Vec<Value>> {
    let resource =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    let mut out = Vec::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api
            .list(&params)
            .await
            .with_context(|| format!("listing {plural}"))?;
        for item in page.items {
            let mut value = serde_json::to_value(item)?;
            value["apiVersion"] = json!(resource.api_version);
            value["kind"] = json!(kind);
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
    for kind in KINDS {
        all.extend(list(client, namespace, *kind).await?);
    }
    Ok(scanned(all))
}

/// One judged object.
pub struct Judged {
    pub object: Value,
    pub subject: Subject,
    pub decision: Decision,
}

/// Judges each object as the manifest `evaluate` would read; objects that cannot be read are
/// returned apart, as `Kind namespace/name: why`.
pub fn judge(policy: &Policy, objects: Vec<Value>) -> (Vec<Judged>, Vec<String>) {
    let engine = crate::engine::Engine::new();
    let mut out = Vec::new();
    let mut unread = Vec::new();
    for object in objects {
        let subjects = match crate::subject::from_manifest(&object) {
            Ok(s) => s,
            Err(e) => {
                let meta = &object["metadata"];
                unread.push(format!(
                    "{} {}/{}: {e}",
                    object["kind"].as_str().unwrap_or("?"),
                    meta["namespace"].as_str().unwrap_or(""),
                    meta["name"].as_str().unwrap_or("")
                ));
                continue;
            }
        };
        for subject in subjects {
            let decision = engine
                .judge(policy, &subject, std::time::Instant::now())
                .decision;
            out.push(Judged {
                object: object.clone(),
                subject,
                decision,
            });
        }
    }
    (out, unread)
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
