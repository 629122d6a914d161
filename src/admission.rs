//! Reading an AdmissionReview. kube-core's `AdmissionReview<DynamicObject>` buffers the whole
//! body twice before building a `serde_json::Value` of the object (two `#[serde(flatten)]`s, one
//! on the review, one on the object): more than half of the decode of a 4 KB pod review. Here the
//! envelope is read in one pass and the object is kept as raw JSON, so a pod spec or an exec's
//! options are decoded straight from the bytes into their typed form. Pure.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::core::admission::AdmissionRequest;
use kube::core::{ApiResource, DynamicResourceScope, ObjectMeta, Resource};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// The only review version the API server sends to a `admissionReviewVersions: ["v1"]` webhook.
pub const REVIEW_API_VERSION: &str = "admission.k8s.io/v1";

/// An object of a review as the API server sent it, with the metadata reconguard reads.
#[derive(Debug, Clone)]
pub struct RawObject {
    /// Name, namespace, uid, labels, annotations and owners. `managedFields`, often most of an
    /// UPDATE's bytes, and the rest of the metadata are not decoded: nothing judges them.
    pub metadata: ObjectMeta,
    pub raw: Box<RawValue>,
}

impl RawObject {
    /// The object decoded into `T`, which names the fields it needs (unknown fields are skipped).
    pub fn decode<'a, T: Deserialize<'a>>(&'a self) -> serde_json::Result<T> {
        serde_json::from_str(self.raw.get())
    }

    /// The object as a tree, for the rarer paths that dig by name (workload templates).
    pub fn value(&self) -> serde_json::Result<serde_json::Value> {
        self.decode()
    }
}

/// The part of ObjectMeta that is decoded (see [`RawObject::metadata`]).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MetadataView {
    name: Option<String>,
    generate_name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
    owner_references: Option<Vec<OwnerReference>>,
}

#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    metadata: Option<MetadataView>,
}

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let head: Head = serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?;
        let m = head.metadata.unwrap_or_default();
        let metadata = ObjectMeta {
            name: m.name,
            generate_name: m.generate_name,
            namespace: m.namespace,
            uid: m.uid,
            labels: m.labels,
            annotations: m.annotations,
            owner_references: m.owner_references,
            ..ObjectMeta::default()
        };
        Ok(RawObject { metadata, raw })
    }
}

/// Required by kube-core's `AdmissionRequest<T>`; the same dynamic typing as `DynamicObject`.
impl Resource for RawObject {
    type DynamicType = ApiResource;
    type Scope = DynamicResourceScope;

    fn group(dt: &ApiResource) -> Cow<'_, str> {
        dt.group.as_str().into()
    }
    fn version(dt: &ApiResource) -> Cow<'_, str> {
        dt.version.as_str().into()
    }
    fn kind(dt: &ApiResource) -> Cow<'_, str> {
        dt.kind.as_str().into()
    }
    fn api_version(dt: &ApiResource) -> Cow<'_, str> {
        dt.api_version.as_str().into()
    }
    fn plural(dt: &ApiResource) -> Cow<'_, str> {
        dt.plural.as_str().into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// The review envelope, without the `flatten` that makes serde buffer the body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    request: Option<AdmissionRequest<RawObject>>,
}

/// Why a body is not a review reconguard can answer; each is a `reconguard_errors_total` reason.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("not an AdmissionReview: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("expected {REVIEW_API_VERSION} AdmissionReview, got {api_version} {kind}")]
    UnsupportedVersion { api_version: String, kind: String },
    #[error("AdmissionReview request has no uid")]
    MissingUid,
    #[error("AdmissionReview has no request")]
    MissingRequest,
}

impl ReviewError {
    pub fn reason(&self) -> &'static str {
        match self {
            ReviewError::Malformed(_) => "malformed",
            ReviewError::UnsupportedVersion { .. } => "unsupported_version",
            ReviewError::MissingRequest => "missing_request",
            ReviewError::MissingUid => "missing_uid",
        }
    }
}

/// The request of an `admission.k8s.io/v1` AdmissionReview, carrying the review's apiVersion and
/// kind for the response to echo. An empty uid is the caller's to refuse: the server must, a
/// review file given to `evaluate` need not have one.
pub fn read_review(body: &[u8]) -> Result<AdmissionRequest<RawObject>, ReviewError> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| {
        // serde names a missing field in a fixed form; without a uid there is nothing to
        // answer, which deserves its own reason rather than `malformed`.
        if e.is_data() && e.to_string().starts_with("missing field `uid`") {
            ReviewError::MissingUid
        } else {
            ReviewError::Malformed(e)
        }
    })?;
    if envelope.api_version != REVIEW_API_VERSION || envelope.kind != "AdmissionReview" {
        return Err(ReviewError::UnsupportedVersion {
            api_version: envelope.api_version,
            kind: envelope.kind,
        });
    }
    let mut request = envelope.request.ok_or(ReviewError::MissingRequest)?;
    request.types.api_version = envelope.api_version;
    request.types.kind = envelope.kind;
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::admission::AdmissionReview;
    use kube::core::DynamicObject;
    use serde_json::json;

    fn review(object: serde_json::Value) -> serde_json::Value {
        json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": "u-1",
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "operation": "CREATE", "userInfo": {"username": "alice"},
                "object": object, "oldObject": null,
            }
        })
    }

    /// What kube-core's reading gives, field for field, except the metadata not decoded.
    #[test]
    fn reads_what_kube_core_reads() {
        let object = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "p", "namespace": "ns", "uid": "x", "labels": {"app": "a"},
                "annotations": {"k": "v\u{1}\"é"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                     "name": "rs", "uid": "r", "controller": true}],
                "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
            },
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        });
        let body = serde_json::to_vec(&review(object.clone())).unwrap();
        let ours = read_review(&body).unwrap();
        let theirs: AdmissionReview<DynamicObject> = serde_json::from_slice(&body).unwrap();
        let theirs = theirs.request.unwrap();
        let (o, t) = (
            ours.object.as_ref().unwrap(),
            theirs.object.as_ref().unwrap(),
        );
        assert_eq!(o.value().unwrap(), object);
        assert_eq!(o.metadata.labels, t.metadata.labels);
        assert_eq!(o.metadata.annotations, t.metadata.annotations);
        assert_eq!(o.metadata.owner_references, t.metadata.owner_references);
        assert_eq!(o.metadata.name.as_deref(), Some("p"));
        assert!(o.metadata.managed_fields.is_none());
        assert!(ours.old_object.is_none());
        assert_eq!(ours.uid, theirs.uid);
        assert_eq!(ours.user_info, theirs.user_info);
        assert_eq!(ours.types.api_version, "admission.k8s.io/v1");
        assert_eq!(ours.types.kind, "AdmissionReview");
    }

    #[test]
    fn refuses_what_is_not_a_v1_review_with_a_request() {
        let mut v1beta1 = review(json!({}));
        v1beta1["apiVersion"] = json!("admission.k8s.io/v1beta1");
        let mut no_request = review(json!({}));
        no_request.as_object_mut().unwrap().remove("request");
        let mut bad_object = review(json!({}));
        bad_object["request"]["object"] = json!({"metadata": {"labels": {"a": 1}}});
        let mut no_uid = review(json!({}));
        no_uid["request"].as_object_mut().unwrap().remove("uid");
        let mut null_uid = review(json!({}));
        null_uid["request"]["uid"] = json!(null);
        for (body, reason) in [
            (v1beta1, "unsupported_version"),
            (no_request, "missing_request"),
            (no_uid, "missing_uid"),
            (null_uid, "malformed"),
            (bad_object, "malformed"),
            (json!([]), "malformed"),
            (
                json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                    "request": {"uid": "u"}}),
                "malformed",
            ),
        ] {
            let err = read_review(&serde_json::to_vec(&body).unwrap()).unwrap_err();
            assert_eq!(err.reason(), reason, "{body}: {err}");
        }
        assert_eq!(read_review(b"{").unwrap_err().reason(), "malformed");
    }
}
