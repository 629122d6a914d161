//! Correlation shared between replicas through a real Redis (`--correlation-store`): three
//! `reconguard serve` processes behind a round-robin client, as the API server spreads one
//! identity's requests over a Deployment's pods. A burst spread over them is judged as one replica
//! judges it; one `kubectl exec` admitted by two replicas counts once; a replica killed and
//! started again keeps the history; a stopped store leaves every request answered from each
//! replica's own memory, and a restarted one is shared again; over TLS with a password, keys
//! stay under the installation's prefix. And the store's script answers every generated sequence
//! as the replica's own memory does.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;
use common::server::{eventually, metric};
use common::DISCOVERY;

const BURST_RULE: &str = "exec-discovery-burst";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `redis-server` on loopback, no persistence: stopping it loses what it held, as a store
/// without persistence does.
struct Redis {
    child: Option<Child>,
    port: u16,
    extra: Vec<String>,
}

impl Redis {
    fn start(extra: &[String]) -> Redis {
        let mut redis = Redis {
            child: None,
            port: free_port(),
            extra: extra.to_vec(),
        };
        redis.restart();
        redis
    }

    /// Plain TCP on `port`, or TLS on it when `extra` configures TLS.
    fn restart(&mut self) {
        let tls = self.extra.iter().any(|a| a == "--tls-port");
        let port = self.port.to_string();
        let mut args: Vec<&str> = vec!["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
        if tls {
            args.extend(["--port", "0", "--tls-port", &port]);
        } else {
            args.extend(["--port", &port]);
        }
        let extra: Vec<&str> = self
            .extra
            .iter()
            .map(String::as_str)
            .filter(|a| *a != "--tls-port")
            .collect();
        args.extend(extra);
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/tools.sh installs Debian's)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The certificate every replica serves, and a short-window policy layer.
struct Setup {
    dir: tempfile::TempDir,
    ca_pem: String,
}

impl Setup {
    fn new() -> Setup {
        // reqwest's plain-HTTP client (metrics port) wants a process-wide rustls provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let generated =
            reconguard::certs::generate(&["localhost".into(), "127.0.0.1".into()], 30).unwrap();
        std::fs::write(dir.path().join("tls.crt"), &generated.cert_pem).unwrap();
        std::fs::write(dir.path().join("tls.key"), &generated.key_pem).unwrap();
        std::fs::write(
            dir.path().join("window.yaml"),
            "apiVersion: reconguard.io/v1alpha1\nkind: Policy\ncorrelation:\n  windowSeconds: 5\n  duplicateSeconds: 1\n",
        )
        .unwrap();
        Setup {
            dir,
            ca_pem: generated.ca_pem,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// One `reconguard serve` process.
struct Replica {
    child: Child,
    args: Vec<String>,
    port: u16,
    metrics_port: u16,
}

impl Replica {
    fn spawn(setup: &Setup, store: &[String]) -> Replica {
        let (port, metrics_port) = (free_port(), free_port());
        let dir = setup.dir.path();
        let mut args: Vec<String> = [
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--metrics-listen",
            &format!("127.0.0.1:{metrics_port}"),
            "--tls-cert",
            &path_str(&dir.join("tls.crt")),
            "--tls-key",
            &path_str(&dir.join("tls.key")),
            "--policy",
            &path_str(&dir.join("window.yaml")),
            "--decision-log",
            &path_str(&dir.join(format!("decisions-{port}.jsonl"))),
            "--shutdown-delay",
            "0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(store.iter().cloned());
        let child = Replica::start(dir, &args, port);
        Replica {
            child,
            args,
            port,
            metrics_port,
        }
    }

    fn start(dir: &Path, args: &[String], port: u16) -> Child {
        let log = std::fs::File::create(dir.join(format!("serve-{port}.log"))).unwrap();
        Command::new(env!("CARGO_BIN_EXE_reconguard"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn reconguard serve")
    }

    /// SIGKILL, then the same command line again: the process's memory is gone.
    fn kill_and_restart(&mut self, setup: &Setup) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Replica::start(setup.dir.path(), &self.args, self.port);
    }

    fn url(&self) -> String {
        format!("https://localhost:{}/validate", self.port)
    }

    async fn metrics(&self) -> String {
        match reqwest::get(format!("http://127.0.0.1:{}/metrics", self.metrics_port)).await {
            Ok(response) => response.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until the replica serves and correlation uses `mode`.
    async fn wait_for_mode(&self, wanted: &str) {
        eventually(
            &format!("replica {} in mode {wanted}", self.port),
            || async { mode(&self.metrics().await, wanted) == 1.0 },
        )
        .await;
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The store flags for a plain-TCP Redis on `port`, waiting `timeout_ms` per request.
fn store_args(port: u16, timeout_ms: u64) -> Vec<String> {
    vec![
        "--correlation-store".into(),
        format!("redis://127.0.0.1:{port}/0"),
        "--correlation-store-timeout".into(),
        timeout_ms.to_string(),
    ]
}

/// `n` replicas sharing the Redis on `port`, each waited for until it shares.
async fn sharing(setup: &Setup, port: u16, n: usize, timeout_ms: u64) -> Vec<Replica> {
    let replicas: Vec<Replica> = (0..n)
        .map(|_| Replica::spawn(setup, &store_args(port, timeout_ms)))
        .collect();
    for r in &replicas {
        r.wait_for_mode("shared").await;
    }
    replicas
}

/// What the API server and the user see of one judgement.
#[derive(Debug, Clone, PartialEq)]
struct Judged {
    allowed: bool,
    rules: Vec<String>,
    message: String,
}

/// A round-robin client over the replicas, like the Service in front of them.
struct RoundRobin {
    client: reqwest::Client,
    urls: Vec<String>,
    next: usize,
    sent: usize,
}

impl RoundRobin {
    fn new(setup: &Setup, replicas: &[&Replica]) -> RoundRobin {
        RoundRobin {
            client: common::server::h2_client(&setup.ca_pem),
            urls: replicas.iter().map(|r| r.url()).collect(),
            next: 0,
            sent: 0,
        }
    }

    /// `user` runs `argv` in shop/web-0; the next replica judges it.
    async fn exec(&mut self, user: &str, argv: &[&str]) -> Judged {
        let replica = self.next;
        self.next = (self.next + 1) % self.urls.len();
        self.exec_on(replica, user, argv).await
    }

    /// `user` runs every command of `DISCOVERY`, in order, round robin.
    async fn discovery(&mut self, user: &str) -> Vec<Judged> {
        let mut judged = Vec::new();
        for argv in DISCOVERY {
            judged.push(self.exec(user, argv).await);
        }
        judged
    }

    async fn exec_on(&mut self, replica: usize, user: &str, argv: &[&str]) -> Judged {
        self.sent += 1;
        let review = common::exec_review(
            &format!("{user}-{}", self.sent),
            "shop",
            "web-0",
            common::user_info(user, None),
            argv,
            false,
        );
        let (status, _, body) =
            common::server::post(&self.client, &self.urls[replica], &review).await;
        assert_eq!(status, 200, "{body}");
        judged(&body)
    }
}

fn judged(body: &Value) -> Judged {
    let response = &body["response"];
    Judged {
        allowed: response["allowed"] == true,
        rules: response["auditAnnotations"]["rules"]
            .as_str()
            .unwrap_or("")
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect(),
        message: response["status"]["message"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    }
}

/// `reconguard_correlation_store_mode{mode}` in an exposition.
fn mode(text: &str, mode: &str) -> f64 {
    metric(text, "reconguard_correlation_store_mode", &[("mode", mode)])
}

/// `reconguard_correlation_store_errors_total{reason}` in an exposition.
fn store_errors(text: &str, reason: &str) -> f64 {
    metric(
        text,
        "reconguard_correlation_store_errors_total",
        &[("reason", reason)],
    )
}

async fn sum_over(replicas: &[&Replica], name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut total = 0.0;
    for r in replicas {
        total += metric(&r.metrics().await, name, labels);
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_spread_over_three_replicas_is_judged_as_one_replica_judges_it() {
    let setup = Setup::new();
    let redis = Redis::start(&[]);
    // Without a store: one replica sees the whole sequence, three see it split.
    let alone: Vec<Replica> = (0..3).map(|_| Replica::spawn(&setup, &[])).collect();
    for r in &alone {
        r.wait_for_mode("local").await;
    }
    let shared = sharing(&setup, redis.port, 3, 1000).await;
    let alone_refs: Vec<&Replica> = alone.iter().collect();
    let shared_refs: Vec<&Replica> = shared.iter().collect();

    let expected = RoundRobin::new(&setup, &alone_refs[..1])
        .discovery("alice")
        .await;
    assert!(expected[..3].iter().all(|j| j.allowed), "{expected:?}");
    assert!(
        !expected[3].allowed && expected[3].rules.iter().any(|r| r == BURST_RULE),
        "one replica sees the burst: {expected:?}"
    );

    let without_store = RoundRobin::new(&setup, &alone_refs).discovery("bob").await;
    assert!(
        without_store.iter().all(|j| j.allowed),
        "without a store, three replicas each see too little: {without_store:?}"
    );

    let mut spread = RoundRobin::new(&setup, &shared_refs);
    let with_store = spread.discovery("alice").await;
    assert_eq!(
        with_store, expected,
        "three replicas sharing a store judge as one"
    );
    assert_eq!(
        sum_over(
            &shared_refs,
            "reconguard_correlation_store_errors_total",
            &[]
        )
        .await,
        0.0
    );

    // The store forgets with the window as the replica does: past it, one technique is one
    // annotation again.
    tokio::time::sleep(Duration::from_millis(5500)).await;
    let after = spread.exec("alice", DISCOVERY[1]).await;
    assert!(
        after.allowed && !after.rules.iter().any(|r| r == BURST_RULE),
        "{after:?}"
    );
    for r in &shared {
        common::server::assert_promtool_accepts(&r.metrics().await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_kubectl_exec_admitted_by_two_replicas_counts_once() {
    let setup = Setup::new();
    let redis = Redis::start(&[]);
    let replicas = sharing(&setup, redis.port, 2, 1000).await;
    let refs: Vec<&Replica> = replicas.iter().collect();
    let mut client = RoundRobin::new(&setup, &refs);
    // kubectl 1.30+ tries a websocket, then SPDY: two admissions of one command, each with its own
    // uid, here on two replicas.
    let first = client.exec_on(0, "carol", DISCOVERY[0]).await;
    let second = client.exec_on(1, "carol", DISCOVERY[0]).await;
    assert_eq!(first, second);
    let duplicates = |i: usize| {
        let r = refs[i];
        async move {
            metric(
                &r.metrics().await,
                "reconguard_correlation_duplicates_total",
                &[],
            )
        }
    };
    assert_eq!(duplicates(0).await, 0.0);
    assert_eq!(duplicates(1).await, 1.0, "the second replica saw the pair");
    // Another command, and the same command by someone else, are requests of their own.
    client.exec_on(1, "carol", DISCOVERY[1]).await;
    client.exec_on(0, "dave", DISCOVERY[0]).await;
    assert_eq!(duplicates(0).await + duplicates(1).await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_and_started_again_keeps_the_history() {
    let setup = Setup::new();
    let redis = Redis::start(&[]);
    let mut replica = Replica::spawn(&setup, &store_args(redis.port, 1000));
    replica.wait_for_mode("shared").await;
    let mut client = RoundRobin::new(&setup, &[&replica]);
    for argv in &DISCOVERY[..3] {
        assert!(client.exec("erin", argv).await.allowed);
    }
    replica.kill_and_restart(&setup);
    replica.wait_for_mode("shared").await;
    let last = client.exec("erin", DISCOVERY[3]).await;
    assert!(
        !last.allowed && last.rules.iter().any(|r| r == BURST_RULE),
        "{last:?}"
    );
    assert!(
        last.message
            .contains("4 distinct discovery techniques from erin"),
        "{}",
        last.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_store_leaves_every_request_answered_and_a_restarted_one_is_shared_again() {
    let setup = Setup::new();
    let mut redis = Redis::start(&[]);
    let replicas = sharing(&setup, redis.port, 3, 250).await;
    let refs: Vec<&Replica> = replicas.iter().collect();
    let mut client = RoundRobin::new(&setup, &refs);
    assert!(client.exec_on(0, "frank", DISCOVERY[0]).await.allowed);
    assert!(client.exec_on(1, "frank", DISCOVERY[1]).await.allowed);

    redis.stop();
    // Mid-burst: every request is still answered, each well within the webhook's own timeout,
    // from the replica's own memory.
    let mut answers = Vec::new();
    for (i, argv) in DISCOVERY.iter().chain(DISCOVERY.iter()).enumerate() {
        let started = Instant::now();
        let judged = client.exec_on(2, "frank", argv).await;
        let took = started.elapsed();
        assert!(took < Duration::from_secs(3), "request {i} took {took:?}");
        answers.push(judged);
    }
    // Replica 2 alone saw all four techniques during the outage: its own memory escalates.
    assert!(answers[..3].iter().all(|j| j.allowed), "{answers:?}");
    assert!(
        answers[3].rules.iter().any(|r| r == BURST_RULE),
        "{answers:?}"
    );
    let text = refs[2].metrics().await;
    assert_eq!(mode(&text, "fallback"), 1.0);
    let failed = store_errors(&text, "connection") + store_errors(&text, "timeout");
    assert!(
        failed >= 1.0,
        "the first request found the store gone:\n{text}"
    );
    assert!(
        store_errors(&text, "unavailable") >= 1.0,
        "later requests did not wait for the store:\n{text}"
    );
    common::server::assert_promtool_accepts(&text);

    redis.restart();
    for r in &replicas {
        // Replicas that saw no request since the outage find out at their next request.
        client
            .exec_on(
                refs.iter().position(|x| x.port == r.port).unwrap(),
                "probe",
                DISCOVERY[0],
            )
            .await;
        r.wait_for_mode("shared").await;
    }
    let resumed = client.discovery("grace").await;
    assert!(resumed[..3].iter().all(|j| j.allowed), "{resumed:?}");
    assert!(
        !resumed[3].allowed && resumed[3].rules.iter().any(|r| r == BURST_RULE),
        "sharing resumed: {resumed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_over_tls_with_an_acl_user_shares_under_its_prefix() {
    let setup = Setup::new();
    let generated =
        reconguard::certs::generate(&["localhost".into(), "127.0.0.1".into()], 30).unwrap();
    for (name, pem) in [
        ("redis.crt", &generated.cert_pem),
        ("redis.key", &generated.key_pem),
        ("redis-ca.crt", &generated.ca_pem),
    ] {
        std::fs::write(setup.path(name), pem).unwrap();
    }
    std::fs::write(setup.path("password"), "correct horse\n").unwrap();
    std::fs::write(setup.path("wrong"), "battery staple\n").unwrap();
    let redis = Redis::start(&[
        "--tls-port".into(),
        "--tls-cert-file".into(),
        path_str(&setup.path("redis.crt")),
        "--tls-key-file".into(),
        path_str(&setup.path("redis.key")),
        "--tls-ca-cert-file".into(),
        path_str(&setup.path("redis-ca.crt")),
        "--tls-auth-clients".into(),
        "no".into(),
        // The least a replica needs (README "Credentials"): its commands, and its prefix's keys.
        "--user".into(),
        "default".into(),
        "off".into(),
        "--user".into(),
        "reconguard".into(),
        "on".into(),
        ">correct horse".into(),
        "~team-a:*".into(),
        "+ping".into(),
        "+evalsha".into(),
        "+script|load".into(),
        "+get".into(),
        "+set".into(),
        "+time".into(),
        "--user".into(),
        "admin".into(),
        "on".into(),
        ">admin".into(),
        "~*".into(),
        "+@all".into(),
    ]);
    let tls = |password: &str| {
        vec![
            "--correlation-store".into(),
            format!("rediss://reconguard@localhost:{}/0", redis.port),
            "--correlation-store-ca".into(),
            path_str(&setup.path("redis-ca.crt")),
            "--correlation-store-password-file".into(),
            path_str(&setup.path(password)),
            "--correlation-store-prefix".into(),
            "team-a:".into(),
            "--correlation-store-timeout".into(),
            "1000".into(),
        ]
    };
    let a = Replica::spawn(&setup, &tls("password"));
    let b = Replica::spawn(&setup, &tls("password"));
    let refused = Replica::spawn(&setup, &tls("wrong"));
    a.wait_for_mode("shared").await;
    b.wait_for_mode("shared").await;
    refused.wait_for_mode("fallback").await;

    let mut client = RoundRobin::new(&setup, &[&a, &b, &refused]);
    client.exec_on(0, "heidi", DISCOVERY[0]).await;
    client.exec_on(1, "heidi", DISCOVERY[1]).await;
    client.exec_on(0, "heidi", DISCOVERY[2]).await;
    let last = client.exec_on(1, "heidi", DISCOVERY[3]).await;
    assert!(
        !last.allowed && last.rules.iter().any(|r| r == BURST_RULE),
        "{last:?}"
    );
    // The replica with the wrong password judges alone, and says why.
    let alone = client.exec_on(2, "heidi", DISCOVERY[0]).await;
    assert!(alone.allowed, "{alone:?}");
    let text = refused.metrics().await;
    assert_eq!(mode(&text, "fallback"), 1.0);
    assert_eq!(store_errors(&text, "unavailable"), 1.0);
    let log_path = setup.path(&format!("serve-{}.log", refused.port));
    eventually("the refused replica logs why", || async {
        std::fs::read_to_string(&log_path)
            .unwrap_or_default()
            .contains("correlation store unavailable")
    })
    .await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        !log.contains("battery staple"),
        "the password in the log: {log}"
    );

    // One key, under the installation's prefix, of bounded length whatever the identity.
    let ca = std::fs::read(setup.path("redis-ca.crt")).unwrap();
    let info = redis::IntoConnectionInfo::into_connection_info(format!(
        "rediss://localhost:{}/0",
        redis.port
    ))
    .unwrap();
    let settings = info
        .redis_settings()
        .clone()
        .set_username("admin")
        .set_password("admin");
    let client = redis::Client::build_with_tls(
        info.set_redis_settings(settings),
        redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(ca),
        },
    )
    .unwrap();
    let mut connection = client.get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut connection).unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let key = &keys[0];
    let hash = key.strip_prefix("team-a:id:").expect("the prefix");
    assert!(
        hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{key}"
    );
    let ttl: i64 = redis::cmd("PTTL").arg(key).query(&mut connection).unwrap();
    assert!(ttl > 0 && ttl <= 5000, "expires with the 5 s window: {ttl}");
}

/// The store's script and the replica's memory are two writings of one algorithm: run the same
/// generated sequences through both and compare every answer. Sequences mix repeated and new
/// commands (more distinct ones than the 16 remembered, so the cap is crossed), one or two
/// techniques per request, and a technique raised by different rules (the later rule is named).
/// All within the duplicate window: the windows' expiry is the other tests' business.
#[test]
fn the_store_script_answers_as_the_replica_memory_does() {
    use reconguard::engine::correlate::{Fingerprint, LocalMemory, Remember};
    use reconguard::server::store;

    let redis = Redis::start(&[]);
    let mut connection = redis::Client::open(format!("redis://127.0.0.1:{}/0", redis.port))
        .unwrap()
        .get_connection()
        .unwrap();
    let mut settings = reconguard::policy::Policy::embedded_default()
        .correlation
        .expect("correlation is on by default");
    settings.window = Duration::from_secs(60);
    settings.duplicate_window = Duration::from_secs(5);
    let mut techniques: Vec<String> = settings.techniques.iter().cloned().collect();
    techniques.sort();
    assert!(techniques.len() >= 8, "{techniques:?}");
    let script = store::script();
    // A small linear congruential generator: the same sequences on every run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    let mut compared = 0;
    let (mut bursts, mut duplicates) = (0, 0);
    for sequence in 0..60 {
        let local = LocalMemory::default();
        let identity = format!("user-{sequence}");
        let key = format!("equivalence:{sequence}");
        let commands = 4 + next(24);
        for _ in 0..40 {
            let mut findings = vec![];
            for _ in 0..=next(2) {
                let technique = techniques[next(techniques.len() as u64) as usize].clone();
                let rule = format!("rule-{}-{}", technique.to_lowercase(), next(2));
                findings.push((technique, rule));
            }
            let request = Remember {
                identity: identity.clone(),
                fingerprint: Fingerprint([next(commands) as u8; 16]),
                findings,
            };
            let expected = local
                .observe_now(&settings, &request, Instant::now())
                .observation;
            let reply: Vec<String> = script
                .key(&key)
                .arg(store::arguments(&settings, &request))
                .invoke(&mut connection)
                .unwrap();
            let answered = store::observation(reply).unwrap();
            assert_eq!(answered, expected, "sequence {sequence}, {request:?}");
            compared += 1;
            match answered {
                reconguard::engine::correlate::Observation::Burst(_) => bursts += 1,
                reconguard::engine::correlate::Observation::Duplicate => duplicates += 1,
                _ => {}
            }
        }
    }
    // The sequences reached every answer.
    assert_eq!(compared, 2400);
    assert!(
        bursts > 100 && duplicates > 100,
        "{bursts} bursts, {duplicates} duplicates"
    );
}
