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
    let any_token = crate::local::tokens::any_active_at(&crate::local::runtime::db_path(&cli.data_dir))
        .map_err(|e| CliError::Unavailable(format!("cannot read the API tokens: {e}")))?;
    let loopback = args.bind.ip().is_loopback();
    match (any_token, loopback, args.insecure_no_auth) {
        (true, _, _) => println!("API tokens are required (skipline tokens list)"),
        (false, true, _) => println!(
            "open development mode: no API token exists, so anyone on this machine can call the API \
             (create one with `skipline tokens create` to require tokens)"
        ),
        (false, false, true) => {
            tracing::warn!(bind = %args.bind, "listening on a non-loopback address with no API token (--insecure-no-auth)");
            eprintln!(
                "warning: {} is not a loopback address and no API token exists; anyone who can reach it can do anything",
                args.bind
            );
        }
        (false, false, false) => {
            return Err(CliError::Invalid(format!(
                "refusing to serve {} without authentication: create a token first (skipline tokens create --name N --scope admin), \
                 bind to 127.0.0.1, or pass --insecure-no-auth",
                args.bind
            )));
        }
    }
    crate::metrics::install().map_err(CliError::Unavailable)?;
    let rt = Runtime::open(runtime_config(cli, Some(&args.runtime)), Overrides::default()).await?;
    rt.lock_for_serving()?;
    let tokens = crate::local::tokens::Tokens::new(rt.db.clone());
    let auth = crate::api::auth::Auth::tokens(tokens, loopback || args.insecure_no_auth);
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| CliError::Unavailable(format!("cannot listen on {}: {e}", args.bind)))?;
    let handles = rt.start_background();
    let state = crate::api::ApiState {
        backend: Arc::new(LocalBackend::new(rt.clone())),
        allow_private_endpoints: args.runtime.allow_private_endpoints,
        auth,
        limits: Some(crate::api::throttle::Limits {
            token_rate: args.token_rate,
            token_burst: args.token_burst,
            global_rate: args.global_rate,
            global_burst: args.global_burst,
        }),
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
