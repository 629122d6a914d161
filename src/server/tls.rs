//! rustls (ring provider only) with ALPN h2 and http/1.1, and a certificate resolver over an
//! `ArcSwap` so a rotated certificate is served by the next handshake without a restart.

use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::crypto::ring as provider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("certificate PEM: {0}")]
    Certificate(String),
    #[error("private key PEM: {0}")]
    Key(String),
    #[error("certificate and key do not belong together: {0}")]
    Mismatch(String),
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// A loaded serving pair and when its leaf certificate expires.
pub struct ServingCert {
    pub key: Arc<CertifiedKey>,
    pub not_after_unix: i64,
}

/// Parses and checks a PEM certificate chain and private key.
pub fn load_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<ServingCert, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Certificate(e.to_string()))?;
    let leaf = chain
        .first()
        .ok_or_else(|| TlsError::Certificate("no certificate found".into()))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| TlsError::Certificate(e.to_string()))?;
    let not_after_unix = parsed.validity().not_after.timestamp();
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Key(e.to_string()))?;
    let signing =
        provider::sign::any_supported_type(&key).map_err(|e| TlsError::Key(e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|e| TlsError::Mismatch(e.to_string()))?;
    Ok(ServingCert {
        key: Arc::new(certified),
        not_after_unix,
    })
}

/// Serves whatever pair was stored last.
#[derive(Debug)]
pub struct SwappableCert(ArcSwap<CertifiedKey>);

impl SwappableCert {
    pub fn new(initial: Arc<CertifiedKey>) -> Self {
        SwappableCert(ArcSwap::new(initial))
    }

    pub fn store(&self, key: Arc<CertifiedKey>) {
        self.0.store(key);
    }
}

impl ResolvesServerCert for SwappableCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

/// TLS 1.2 and 1.3, ring only, ALPN h2 then http/1.1.
pub fn server_config(resolver: Arc<SwappableCert>) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Labels of `reconguard_tls_handshake_failures_total`, bounded.
pub const HANDSHAKE_FAILURE_REASONS: &[&str] = &[
    "certificate_rejected",
    "alert",
    "protocol",
    "incompatible",
    "eof",
    "timeout",
    "other",
];

/// Why a handshake failed. `certificate_rejected` (the client refused our certificate: an
/// unknown CA, a CA of the same name with another key, a wrong name, an expired certificate) is
/// what a stale `caBundle` looks like;
/// `protocol` is usually plain HTTP or a port scan; `eof` a client that hung up.
pub fn handshake_failure_reason(e: &std::io::Error) -> &'static str {
    use rustls::AlertDescription as A;
    let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return match e.kind() {
            std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::BrokenPipe => "eof",
            _ => "other",
        };
    };
    match tls {
        rustls::Error::AlertReceived(
            A::BadCertificate
            | A::UnknownCA
            | A::CertificateUnknown
            | A::CertificateExpired
            | A::CertificateRevoked
            | A::UnsupportedCertificate
            | A::AccessDenied
            // A CA with the same name but another key (a regenerated CA): the signature check
            // fails and rustls and Go clients send decrypt_error.
            | A::DecryptError,
        ) => "certificate_rejected",
        rustls::Error::AlertReceived(_) => "alert",
        rustls::Error::InvalidMessage(_)
        | rustls::Error::InappropriateMessage { .. }
        | rustls::Error::InappropriateHandshakeMessage { .. }
        | rustls::Error::PeerMisbehaved(_) => "protocol",
        rustls::Error::PeerIncompatible(_) | rustls::Error::NoApplicationProtocol => {
            "incompatible"
        }
        _ => "other",
    }
}
