//! The reference for `benches/load.sh`: the least an HTTPS admission webhook can do on the same
//! stack as reconguard (tokio, rustls with ring, hyper's HTTP/1.1 and HTTP/2, axum, kube-core's
//! review types, `TCP_NODELAY`, mimalloc). It parses the AdmissionReview and answers "allowed" with the uid;
//! no judgement, no metrics, no logs. Whatever reconguard costs above this is its own.
//!
//!   baseline_webhook LISTEN CERT_PEM KEY_PEM

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use kube::core::admission::{AdmissionResponse, AdmissionReview};
use kube::core::DynamicObject;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

async fn validate(body: Bytes) -> Response {
    let review: AdmissionReview<DynamicObject> = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let Some(mut request) = review.request else {
        return (StatusCode::BAD_REQUEST, "no request").into_response();
    };
    request.types = review.types;
    Json(AdmissionResponse::from(&request).into_review()).into_response()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, listen, cert, key] = args.as_slice() else {
        return Err("usage: baseline_webhook LISTEN CERT_PEM KEY_PEM".into());
    };
    let certs = CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let mut tls = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    let router = Router::new()
        .route("/validate", post(validate))
        .route("/healthz", get(|| async { "ok" }));
    let listen: std::net::SocketAddr = listen.parse()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = TcpListener::bind(listen).await?;
            let builder = Arc::new(auto::Builder::new(TokioExecutor::new()));
            loop {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                let (acceptor, router, builder) =
                    (acceptor.clone(), router.clone(), builder.clone());
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        let service = TowerToHyperService::new(router);
                        let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                    }
                });
            }
        })
}
