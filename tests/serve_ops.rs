//! `skipline serve` as an operator runs it: SIGTERM under load, HTTPS, and settings from a
//! config file and the environment. Real processes, real sockets, 127.0.0.1 only.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{BIN, Serve, cli, get, http_client, order_body};

/// An order is complete once its execution SUCCEEDED and the cart item is gone again.
async fn complete(http: &reqwest::Client, base: &str, orderid: &str, account: &str) -> bool {
    let Ok((200, status)) = get(http, &format!("{base}/orders/{orderid}")).await else {
        return false;
    };
    if status["status"] != "SUCCEEDED" {
        return false;
    }
    matches!(
        get(http, &format!("{base}/order?accountid={account}&vendorid=v0")).await,
        Ok((404, _))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_exits_zero_in_bound_and_a_restart_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bound = Duration::from_secs(5);
    let unthrottled = [
        "--token-rate",
        "1000000",
        "--token-burst",
        "1000000",
        "--global-rate",
        "1000000",
        "--global-burst",
        "1000000",
    ];
    let mut serve = Serve::start(
        &data,
        &[&["--shutdown-timeout", "5s"][..], &unthrottled].concat(),
        &dir.path().join("serve.log"),
    );
    let base = serve.base.clone();
    let http = http_client();

    // Eight clients place orders as fast as they are answered; each 202 is an order the
    // server promised to finish.
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..8 {
        let (http, base, acked, stop) = (http.clone(), base.clone(), acked.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            for i in 0..2000 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let account = format!("a{c}x{i}");
                let sent = http
                    .post(format!("{base}/order"))
                    .json(&order_body(&account, "v0"))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().as_u16() == 202 => {
                        let body: Value = r.json().await.unwrap_or(Value::Null);
                        if let Some(id) = body["orderid"].as_str() {
                            acked.lock().unwrap().push((id.to_string(), account));
                        }
                    }
                    Ok(r) => panic!("order answered {} before shutdown", r.status()),
                    // Refused or reset: the server is going away, and never answered 202.
                    Err(_) => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = acked.lock().unwrap().len();
    assert!(before > 20, "the load did not get going: {before} orders in 1.5 s");

    let (status, took) = tokio::task::block_in_place(|| serve.terminate(bound + Duration::from_secs(5)));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let status = status.unwrap_or_else(|| panic!("serve still running {took:?} after SIGTERM:\n{}", serve.log_tail()));
    assert!(
        status.success(),
        "serve exited {status} on SIGTERM:\n{}",
        serve.log_tail()
    );
    assert!(
        took <= bound + Duration::from_secs(2),
        "serve took {took:?} to exit, over its {bound:?} bound"
    );
    let log = serve.log_tail();
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    for c in clients {
        c.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    // Everything answered 202 completes after a restart on the same data dir.
    let again = Serve::start(&data, &[], &dir.path().join("serve2.log"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut pending: BTreeSet<(String, String)> = acked.iter().cloned().collect();
    while !pending.is_empty() && Instant::now() < deadline {
        let mut still = BTreeSet::new();
        for (id, account) in &pending {
            if !complete(&http, &again.base, id, account).await {
                still.insert((id.clone(), account.clone()));
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    assert!(
        pending.is_empty(),
        "{} of {} acknowledged orders did not complete after the restart, e.g. {:?}\n{}",
        pending.len(),
        acked.len(),
        pending.iter().next(),
        again.log_tail()
    );
}

fn write_pem(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test]
async fn tls_serves_https_with_the_given_certificate_and_refuses_a_mismatched_key() {
    let dir = tempfile::tempdir().unwrap();
    let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
    let ours = rcgen::generate_simple_self_signed(names.clone()).unwrap();
    let other = rcgen::generate_simple_self_signed(names).unwrap();
    let cert = write_pem(dir.path(), "cert.pem", &ours.cert.pem());
    let key = write_pem(dir.path(), "key.pem", &ours.signing_key.serialize_pem());
    let other_key = write_pem(dir.path(), "other-key.pem", &other.signing_key.serialize_pem());

    let data = dir.path().join("data");
    let serve = Serve::start(
        &data,
        &["--tls-cert", &cert, "--tls-key", &key],
        &dir.path().join("serve.log"),
    );
    assert!(serve.base.starts_with("https://"), "{}", serve.base);
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ours.cert.pem().as_bytes()).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let r = trusting
        .post(format!("{}/order", serve.base))
        .json(&order_body("tls-a", "v0"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    // A client that does not trust the certificate gets no answer, and plain HTTP gets none.
    assert!(
        http_client()
            .get(format!("{}/healthz", serve.base))
            .send()
            .await
            .is_err()
    );
    let plain = serve.base.replacen("https://", "http://", 1);
    assert!(http_client().get(format!("{plain}/healthz")).send().await.is_err());

    // A key that is not the certificate's: refused before the data dir exists.
    let fresh = dir.path().join("fresh");
    let out = cli(
        &fresh,
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &other_key,
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--tls-cert") && err.contains("--tls-key"), "{err}");
    assert!(!fresh.exists(), "a refused serve created its data dir");
    // A certificate without its key is a usage error.
    let out = cli(&fresh, &["serve", "--tls-cert", &cert]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));
    assert!(!fresh.exists());
}

#[test]
fn settings_come_from_the_command_line_then_the_environment_then_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("serve.toml");
    std::fs::write(
        &file,
        "bind = \"127.0.0.1:7001\"\ntoken-rate = 11\nglobal-rate = 12\nshutdown-timeout = \"3s\"\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let out = std::process::Command::new(BIN)
        .env("SKIPLINE_TOKEN_RATE", "21")
        .env("SKIPLINE_GLOBAL_RATE", "22")
        .args(["--data-dir", data.to_str().unwrap(), "serve", "--print-config"])
        .args(["--config", file.to_str().unwrap(), "--global-rate", "33"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let file_name = file.display().to_string();
    assert!(
        text.contains(&format!("bind = \"127.0.0.1:7001\"  # config file {file_name}")),
        "{text}"
    );
    assert!(
        text.contains("token-rate = 21  # environment, SKIPLINE_TOKEN_RATE"),
        "{text}"
    );
    assert!(text.contains("global-rate = 33  # command line"), "{text}");
    assert!(text.contains("shutdown-timeout = \"3s\"  # config file"), "{text}");
    assert!(text.contains("token-burst = 1000  # default"), "{text}");
    assert!(!data.exists(), "--print-config created the data dir");

    // The printed settings are a config file that serve accepts as it is.
    let printed = dir.path().join("printed.toml");
    std::fs::write(&printed, text.as_bytes()).unwrap();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--print-config", "--config", printed.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("global-rate = 33  # config file"));
}
