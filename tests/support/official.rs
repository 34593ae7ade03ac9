//! Webhook signatures checked by the official Standard Webhooks library (`standardwebhooks` from
//! PyPI, which the test command installs into `.venv`), not by our own verifier: one Python
//! process per test binary, fed a request per line by `verify_webhooks.py`.
//!
//! Missing Python or package is a failure with the command that fixes it, never a skip.

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

struct Verifier {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

fn python() -> String {
    std::env::var("SKIPLINE_PYTHON").unwrap_or_else(|_| format!("{}/.venv/bin/python", env!("CARGO_MANIFEST_DIR")))
}

fn verifier() -> &'static Mutex<Verifier> {
    static VERIFIER: OnceLock<Mutex<Verifier>> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/verify_webhooks.py");
        let python = python();
        let probe = Command::new(&python)
            .args(["-c", "import standardwebhooks.webhooks"])
            .output();
        assert!(
            probe.as_ref().is_ok_and(|o| o.status.success()),
            "the official Standard Webhooks verifier is needed: {python} cannot import standardwebhooks \
             ({probe:?}). Run ./scripts/test, which installs it, or\n  \
             python3 -m venv .venv && .venv/bin/pip install -r scripts/requirements-test.txt"
        );
        let mut child = Command::new(&python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start verify_webhooks.py");
        let stdin = child.stdin.take().expect("verifier stdin");
        let stdout = BufReader::new(child.stdout.take().expect("verifier stdout"));
        // The process ends with the test binary: its stdin closes.
        std::mem::forget(child);
        Mutex::new(Verifier { stdin, stdout })
    })
}

/// Lower-cased header names and their values, as the library takes them.
#[allow(dead_code)] // not every test binary that includes this module receives HeaderMaps
pub fn headers_of(headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_string())))
        .collect()
}

/// `Webhook(secret).verify(body, headers)`: `Err` carries the library's reason.
pub fn verify(secret: &str, headers: &[(String, String)], body: &[u8]) -> Result<(), String> {
    let body = std::str::from_utf8(body).map_err(|e| format!("the body is not UTF-8: {e}"))?;
    let headers: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), serde_json::Value::String(v.clone())))
        .collect();
    let request = serde_json::json!({"secret": secret, "body": body, "headers": headers});
    let mut v = verifier().lock().unwrap_or_else(|p| p.into_inner());
    writeln!(v.stdin, "{request}").expect("write to the verifier");
    let mut line = String::new();
    v.stdout.read_line(&mut line).expect("read from the verifier");
    let answer: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("the verifier answered {line:?}: {e}"));
    if answer["ok"] == true {
        Ok(())
    } else {
        Err(answer["error"].as_str().unwrap_or("no reason given").to_string())
    }
}
