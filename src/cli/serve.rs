//! `skipline serve`: the HTTP API, the executor and the consumers on the embedded backend.

use super::commands::{CliError, runtime_config, shutdown_signal};
use super::order::serve_running;
use super::{BackendKind, Cli, ServeArgs};
use crate::backend::local::LocalBackend;
use crate::local::runtime::{Overrides, Runtime};
use std::path::Path;
use std::sync::Arc;

pub(super) async fn run(cli: &Cli, args: &ServeArgs) -> Result<(), CliError> {
    if args.print_config {
        print!("{}", super::config::render(&args.settings));
        return Ok(());
    }
    if cli.backend == BackendKind::Aws {
        return Err(CliError::Invalid(
            "`serve` runs the embedded backend; on AWS the API is API Gateway (see infra/README.md)".into(),
        ));
    }
    // Refuse before opening: opening creates the data dir and applies the queue settings.
    if let Some(path) = &args.runtime.state_machine {
        std::fs::metadata(path).map_err(|e| CliError::Invalid(format!("state machine {}: {e}", path.display())))?;
    }
    // Read before opening anything, so a wrong path or key refuses and leaves nothing behind.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls_config(cert, key)?),
        _ => None,
    };
    let any_token = crate::local::tokens::any_active_at(&crate::local::runtime::db_path(&cli.data_dir))
        .map_err(|e| CliError::Unavailable(format!("cannot read the API tokens: {e}")))?;
    let loopback = args.bind.ip().is_loopback();
    if !any_token && !loopback && !args.insecure_no_auth {
        return Err(CliError::Invalid(format!(
            "refusing to serve {} without authentication: create a token first (skipline tokens create --name N --scope admin), \
             bind to 127.0.0.1, or pass --insecure-no-auth",
            args.bind
        )));
    }
    // Input is checked; now the state of the data dir.
    if serve_running(cli) {
        return Err(CliError::Conflict(format!(
            "another `skipline serve` is already running on {} (it holds serve.lock)",
            cli.data_dir.display()
        )));
    }
    if any_token {
        println!("API tokens are required (skipline tokens list)");
    } else if loopback {
        println!(
            "open development mode: no API token exists, so anyone on this machine can call the API \
             (create one with `skipline tokens create` to require tokens)"
        );
    } else {
        tracing::warn!(bind = %args.bind, "listening on a non-loopback address with no API token (--insecure-no-auth)");
        eprintln!(
            "warning: {} is not a loopback address and no API token exists; anyone who can reach it can do anything",
            args.bind
        );
    }
    crate::metrics::install().map_err(CliError::Unavailable)?;
    let rt = Runtime::open(runtime_config(cli, Some(&args.runtime)), Overrides::default()).await?;
    rt.lock_for_serving()?;
    let tokens = crate::local::tokens::Tokens::new(rt.db.clone());
    let auth = crate::api::auth::Auth::tokens(tokens, loopback || args.insecure_no_auth, tls.is_some());
    let listener = std::net::TcpListener::bind(args.bind)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
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
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!(
        "skipline listening on {scheme}://{addr} (data dir {})",
        cli.data_dir.display()
    );
    let handle = axum_server::Handle::new();
    let mut server = tokio::spawn(crate::api::serve_until(listener, tls, state, handle.clone()));
    tokio::select! {
        result = &mut server => {
            rt.stop();
            let failed = match result {
                Ok(Ok(())) => "the server stopped by itself".to_string(),
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
            };
            return Err(CliError::Unavailable(format!("server failed: {failed}")));
        }
        () = shutdown_signal() => {}
    }
    // Stop accepting now; then, within one bound: open requests, then running executions
    // (each reaches its next durable checkpoint or ends), then the consumers' current batches.
    let bound = args.shutdown_timeout;
    let deadline = tokio::time::Instant::now() + bound;
    println!(
        "shutting down: finishing open requests, executions and consumer batches for up to {} (a second signal exits at once)",
        humantime(bound)
    );
    // Live-feed streams never end by themselves; end them so the drain need not wait for them.
    rt.live().close();
    handle.graceful_shutdown(Some(bound));
    let drain = async {
        let _ = tokio::time::timeout_at(deadline, server).await;
        rt.stop();
        let left = rt.drain(deadline).await;
        for h in handles {
            let _ = tokio::time::timeout_at(deadline, h).await;
        }
        left
    };
    tokio::select! {
        left = drain => match left {
            0 => println!("stopped: every execution reached a checkpoint"),
            n => println!("stopped after {}: {n} execution(s) still running will resume from their last checkpoint at the next start", humantime(bound)),
        },
        () = shutdown_signal() => println!("stopped at once on a second signal: unfinished executions resume at the next start"),
    }
    Ok(())
}

/// `1.5s`, `10s`: how the bound is written on the command line.
fn humantime(d: std::time::Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// The certificate chain and key for `--tls-cert`/`--tls-key`, checked to match, with
/// aws-lc-rs (the provider reqwest already links) named explicitly: both rustls providers
/// are in the binary, so rustls cannot pick one by itself.
fn tls_config(cert: &Path, key: &Path) -> Result<axum_server::tls_rustls::RustlsConfig, CliError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| CliError::Invalid(format!("--tls-cert {}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(CliError::Invalid(format!(
            "--tls-cert {}: no PEM certificate in it",
            cert.display()
        )));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => CliError::Invalid(format!(
            "--tls-key {}: no PEM private key (PKCS#8, PKCS#1 or SEC1) in it",
            key.display()
        )),
        e => CliError::Invalid(format!("--tls-key {}: {e}", key.display())),
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CliError::Invalid(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| {
            CliError::Invalid(format!(
                "--tls-cert {} and --tls-key {}: {e}",
                cert.display(),
                key.display()
            ))
        })?;
    // The server speaks HTTP/1.1 (axum is built without http2).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config)))
}
