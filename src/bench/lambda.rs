//! Lambda artifacts: the size of each bootstrap `cargo lambda build --profile lambda` produced, its
//! size once deflated as a deployment zip would be, and its init time: from process start to its
//! first `GET /runtime/invocation/next` against a minimal Runtime API served here on loopback.
//! That span is what Lambda bills as Init Duration (SDK config, clients, tracing set-up).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The deployment-package limit we hold ourselves to (AWS allows 50 MB zipped).
pub const ZIP_TARGET_BYTES: u64 = 5 * 1024 * 1024;
/// Cold starts per function; the median is reported.
const INIT_RUNS: usize = 5;
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Serialize)]
pub struct Artifact {
    pub function: String,
    pub file: String,
    pub bytes: u64,
    /// The bootstrap deflated at zip's default level: what `--output-format zip` uploads.
    #[serde(rename = "zippedBytes")]
    pub zipped_bytes: u64,
    /// Median of `INIT_RUNS` cold starts; `None` if the bootstrap never asked for an event.
    #[serde(rename = "initMs")]
    pub init_ms: Option<f64>,
    #[serde(rename = "initError", skip_serializing_if = "Option::is_none")]
    pub init_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LambdaReport {
    pub dir: String,
    pub artifacts: Vec<Artifact>,
    pub note: String,
}

/// Measures every `dir/*/bootstrap`, sorted by function name.
pub async fn scan(dir: &Path) -> LambdaReport {
    let mut found: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().to_string(), e.path().join("bootstrap")))
        .filter(|(_, p)| p.is_file())
        .collect();
    found.sort();
    let mut artifacts = Vec::new();
    for (function, path) in found {
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let (init_ms, init_error) = match init_time(&path, &function).await {
            Ok(ms) => (Some(ms), None),
            Err(e) => (None, Some(e)),
        };
        artifacts.push(Artifact {
            function,
            file: path.display().to_string(),
            bytes: bytes.len() as u64,
            zipped_bytes: deflated_len(&bytes),
            init_ms,
            init_error,
        });
    }
    let note = if artifacts.is_empty() {
        format!(
            "no Lambda artifacts under {} (build them with `cargo lambda build --profile lambda -p skipline-aws`)",
            dir.display()
        )
    } else {
        format!("init = process start to first invocation/next, median of {INIT_RUNS} cold starts on this machine")
    };
    LambdaReport {
        dir: dir.display().to_string(),
        artifacts,
        note,
    }
}

fn deflated_len(bytes: &[u8]) -> u64 {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail; a failure would only under-report, never panic.
    let _ = enc.write_all(bytes);
    enc.finish().map(|v| v.len() as u64).unwrap_or(0)
}

async fn next(State(hit): State<mpsc::UnboundedSender<Instant>>) -> &'static str {
    let _ = hit.send(Instant::now());
    // Hold the long poll, as the real Runtime API does with no event queued.
    std::future::pending::<&'static str>().await
}

async fn init_time(bootstrap: &Path, function: &str) -> Result<f64, String> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut samples = Vec::with_capacity(INIT_RUNS);
    let mut failure = None;
    for _ in 0..INIT_RUNS {
        let started = Instant::now();
        let mut child = match tokio::process::Command::new(bootstrap)
            .envs(lambda_env(function, &addr.to_string()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                failure = Some(format!("spawn: {e}"));
                break;
            }
        };
        let outcome = tokio::select! {
            hit = rx.recv() => hit.ok_or_else(|| "emulator stopped".to_string()),
            status = child.wait() => Err(format!("exited during init: {}", status.map(|s| s.to_string()).unwrap_or_default())),
            _ = tokio::time::sleep(INIT_TIMEOUT) => Err(format!("no invocation/next within {INIT_TIMEOUT:?}")),
        };
        let _ = child.kill().await;
        match outcome {
            Ok(at) => samples.push(at.duration_since(started).as_secs_f64() * 1000.0),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    server.abort();
    if let Some(e) = failure {
        return Err(e);
    }
    samples.sort_by(f64::total_cmp);
    Ok(samples[samples.len() / 2])
}

/// What Lambda sets, plus every setting any of our functions requires at init. Nothing here is
/// contacted during init; the endpoint is a closed loopback port.
fn lambda_env(function: &str, runtime_api: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", function),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for setting in skipline_aws::config::Setting::ALL {
        if setting.env_var() != "AWS_REGION" {
            env.push((
                setting.env_var().to_string(),
                format!("bench-{}", setting.env_var().to_lowercase()),
            ));
        }
    }
    env
}
