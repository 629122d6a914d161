//! `reconguard serve`: the operational log, a runtime, and the server until SIGTERM.

use std::process::ExitCode;

use anyhow::Context;

use crate::server::{LogFormat, ServeConfig};

pub fn run(config: ServeConfig) -> anyhow::Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => subscriber.json().init(),
        LogFormat::Text => subscriber.init(),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(crate::server::run(config, crate::server::shutdown_signal()))?;
    Ok(ExitCode::SUCCESS)
}
