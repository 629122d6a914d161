//! A real `reconguard serve` on loopback ports for the integration tests, with a CA made here,
//! and clients that speak to it as the API server does: AdmissionReview JSON over TLS, with HTTP/2
//! (ALPN h2) or HTTP/1.1.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reconguard::server::{run_with_listeners, ServeConfig};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub fn corpus(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The decision log a stopped `Server` wrote (the `decision_log` it is started with): its text
/// and its lines as JSON.
pub fn decision_log(dir: &Path) -> (String, Vec<Value>) {
    let text = std::fs::read_to_string(dir.join("decisions.jsonl")).unwrap();
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (text, lines)
}

/// Writes a serving pair the way the kubelet lays out a Secret volume: files behind a `..data`
/// symlink that is swapped atomically on rotation.
pub fn write_secret_volume(dir: &Path, generation: u32, cert: &str, key: &str) {
    write_projected_volume(dir, generation, &[("tls.crt", cert), ("tls.key", key)]);
}

/// What the kubelet does to a Secret or ConfigMap volume: the keys are written to a new
/// `..genN` directory, `..data` is swapped to it atomically, each key is a symlink through
/// `..data`, and the links of keys that are gone are removed.
pub fn write_projected_volume(dir: &Path, generation: u32, files: &[(&str, &str)]) {
    let versioned = dir.join(format!("..gen{generation}"));
    std::fs::create_dir_all(&versioned).unwrap();
    for (name, text) in files {
        std::fs::write(versioned.join(name), text).unwrap();
    }
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(format!("..gen{generation}"), &tmp).unwrap();
    std::fs::rename(&tmp, dir.join("..data")).unwrap();
    for (name, _) in files {
        let link = dir.join(name);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(format!("..data/{name}"), &link).unwrap();
        }
    }
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with('.') && !files.iter().any(|(f, _)| *f == name) {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
}

pub fn names() -> Vec<String> {
    vec!["localhost".into(), "127.0.0.1".into()]
}

pub struct Server {
    pub addr: std::net::SocketAddr,
    pub metrics: std::net::SocketAddr,
    pub ca_pem: String,
    pub stop: Option<oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub dir: tempfile::TempDir,
}

impl Server {
    pub async fn start(edit: impl FnOnce(&mut ServeConfig, &Path)) -> Server {
        // reqwest's plain-HTTP client (metrics port) wants a process-wide rustls provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let generated = reconguard::certs::generate(&names(), 30).unwrap();
        let secret = dir.path().join("tls");
        std::fs::create_dir_all(&secret).unwrap();
        write_secret_volume(&secret, 1, &generated.cert_pem, &generated.key_pem);
        let mut config = ServeConfig {
            tls_cert: Some(secret.join("tls.crt")),
            tls_key: Some(secret.join("tls.key")),
            reload_interval: Duration::from_millis(300),
            decision_log: Some(dir.path().join("decisions.jsonl")),
            // Tests that stop the server do not wait for endpoints; the delay has its own test.
            shutdown_delay: Duration::ZERO,
            ..ServeConfig::default()
        };
        edit(&mut config, dir.path());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = metrics_listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(run_with_listeners(
            config,
            listener,
            metrics_listener,
            async move {
                let _ = rx.await;
            },
        ));
        Server {
            addr,
            metrics,
            ca_pem: generated.ca_pem,
            stop: Some(tx),
            task,
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    pub async fn metrics_text(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.metrics))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Waits until the metric (summed over matching series) is at least 1.
    pub async fn wait_for_metric(&self, what: &str, name: &str, labels: &[(&str, &str)]) {
        eventually(what, || async move {
            metric(&self.metrics_text().await, name, labels) >= 1.0
        })
        .await;
    }

    /// Stops the server and waits for it; returns its directory (certificates, decision log).
    pub async fn stop(mut self) -> anyhow::Result<tempfile::TempDir> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.task.await.unwrap()?;
        Ok(self.dir)
    }
}

pub fn tls_config(ca_pem: &str, alpn: &[&[u8]]) -> rustls::ClientConfig {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

pub fn h2_client(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls_config(ca_pem, &[b"h2", b"http/1.1"]))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub fn h1_client(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls_config(ca_pem, &[b"http/1.1"]))
        .http1_only()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub async fn post(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
) -> (reqwest::StatusCode, reqwest::Version, Value) {
    let resp = client.post(url).json(body).send().await.unwrap();
    let status = resp.status();
    let version = resp.version();
    let value = resp.json::<Value>().await.unwrap();
    (status, version, value)
}

pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// `promtool check metrics` finds nothing to say about an exposition.
pub fn assert_promtool_accepts(text: &str) {
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool must be installed (scripts/test installs it)");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let lint = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && lint.trim().is_empty(),
        "promtool check metrics: {lint}"
    );
}

/// Days until the expiry the certificate gauge reports.
pub fn days_until_expiry(metrics: &str) -> f64 {
    let expiry = metric(
        metrics,
        "reconguard_certificate_expiry_timestamp_seconds",
        &[],
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    (expiry - now) / 86400.0
}

pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

pub async fn tls_stream(server: &Server) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let connector =
        tokio_rustls::TlsConnector::from(Arc::new(tls_config(&server.ca_pem, &[b"http/1.1"])));
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await.unwrap()
}

/// A body sent in two parts a second apart.
pub fn async_stream(
    first: Vec<u8>,
    rest: Vec<u8>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::spawn(async move {
        let _ = tx.send(Ok(first)).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let _ = tx.send(Ok(rest)).await;
    });
    tokio_stream_from(rx)
}

pub fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
