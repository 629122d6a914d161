//! `reconguard certs`: a CA and a serving certificate for the webhook Service.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

pub fn run(service: &str, namespace: &str, out: &Path, days: i64) -> anyhow::Result<ExitCode> {
    let generated = crate::certs::generate(&crate::certs::service_names(service, namespace), days)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for (name, text) in [
        ("ca.crt", &generated.ca_pem),
        ("tls.crt", &generated.cert_pem),
        ("tls.key", &generated.key_pem),
    ] {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
