//! `skipline serve`: the HTTP API, the executor and the consumers on the embedded backend.

use super::commands::{CliError, runtime_config, shutdown_signal};
use super::order::serve_running;
use super::{BackendKind, Cli, ServeArgs};
use crate::backend::local::LocalBackend;
use crate::local::runtime::{Overrides, Runtime};
use std::sync::Arc;

pub(super) async fn run(cli: &Cli, args: &ServeArgs) -> Result<(), CliError> {
    if cli.backend == BackendKind::Aws {
        return Err(CliError::Invalid(
            "`serve` runs the embedded backend; on AWS the API is API Gateway (see infra/README.md)".into(),
        ));
    }
    // Refuse before opening: opening creates the data dir and applies the queue settings.
    if let Some(path) = &args.runtime.state_machine {
        std::fs::metadata(path).map_err(|e| CliError::Invalid(format!("state machine {}: {e}", path.display())))?;
    }
    if serve_running(cli) {
        return Err(CliError::Conflict(format!(
            "another `skipline serve` is already running on {} (it holds serve.lock)",
            cli.data_dir.display()
        )));
    }
    let rt = Runtime::open(runtime_config(cli, Some(&args.runtime)), Overrides::default()).await?;
    rt.lock_for_serving()?;
    if !args.bind.ip().is_loopback() {
        tracing::warn!(bind = %args.bind, "listening on a non-loopback address: the API has no authentication");
        eprintln!(
            "warning: {} is not a loopback address; anyone who can reach it can place orders",
            args.bind
        );
    }
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| CliError::Unavailable(format!("cannot listen on {}: {e}", args.bind)))?;
    let handles = rt.start_background();
    let state = crate::api::ApiState {
        backend: Arc::new(LocalBackend::new(rt.clone())),
        allow_private_endpoints: args.runtime.allow_private_endpoints,
    };
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::Unavailable(e.to_string()))?;
    println!(
        "skipline listening on http://{addr} (data dir {})",
        cli.data_dir.display()
    );
    crate::api::serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| CliError::Unavailable(format!("server failed: {e}")))?;
    rt.stop();
    for h in handles {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), h).await;
    }
    Ok(())
}
