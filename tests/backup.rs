//! `skipline backup` while `skipline serve` takes orders, and `skipline restore` of the copy.
//!
//! Orders are placed continuously from two tasks. Every order answered 202 before the backup
//! command started must be in the restored data dir, and `serve` on that data dir must complete
//! any that were still running when the copy was taken.

mod support;

use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Serve, cli, get, http_client, order_body};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_every_order_accepted_before_it_began() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[], &dir.path().join("serve.log"));
    let base = server.base.clone();
    let accepted: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for worker in 0..2 {
        let (base, accepted, stop) = (base.clone(), accepted.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let http = http_client();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let account = format!("acct-{worker}-{n}");
                n += 1;
                let r = http
                    .post(format!("{base}/order"))
                    .json(&order_body(&account, "v-backup"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 202);
                let v: Value = r.json().await.unwrap();
                let answered = Instant::now();
                accepted
                    .lock()
                    .unwrap()
                    .push((answered, v["orderid"].as_str().unwrap().to_string()));
            }
        }));
    }
    // Until a fair number are in: the machine may be busy, so wait on the count, not the clock.
    let deadline = Instant::now() + Duration::from_secs(60);
    while accepted.lock().unwrap().len() < 50 {
        assert!(Instant::now() < deadline, "the load never got going");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let file = dir.path().join("nightly.db");
    let began = Instant::now();
    let (data_c, file_c) = (data.clone(), file.clone());
    let out =
        tokio::task::spawn_blocking(move || cli(&data_c, &["--json", "backup", "--to", file_c.to_str().unwrap()]))
            .await
            .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["integrity"], "ok");
    // Keep the load on a little longer: the backup must not have stopped the server.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.await.unwrap();
    }
    let before: Vec<String> = accepted
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, _)| *at < began)
        .map(|(_, id)| id.clone())
        .collect();
    let total = accepted.lock().unwrap().len();
    assert!(before.len() >= 50, "load before the backup: {} orders", before.len());
    assert!(total > before.len(), "orders kept being accepted during the backup");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the backup holds secrets: owner-only");
    }
    // The live server is still healthy.
    let http = http_client();
    assert_eq!(get(&http, &format!("{base}/healthz")).await.unwrap().0, 200);
    drop(server);

    // Restore into a new data dir, refusing the live one.
    let refused = cli(&data, &["restore", "--from", file.to_str().unwrap()]);
    assert_eq!(
        refused.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not empty"));
    let restored = dir.path().join("restored");
    let out = cli(&restored, &["restore", "--from", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // serve on the restored data dir: every order accepted before the backup is there and
    // completes (those still running in the copy are resumed).
    let server = Serve::start(&restored, &[], &dir.path().join("restored.log"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut pending = before.clone();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for id in pending {
            let (code, v) = get(&http, &format!("{}/orders/{id}", server.base)).await.unwrap();
            assert_eq!(code, 200, "order {id} accepted before the backup is in the copy: {v}");
            if v["status"] != "SUCCEEDED" {
                assert_eq!(v["status"], "RUNNING", "{id}: {v}");
                still.push(id);
            }
        }
        pending = still;
        assert!(
            Instant::now() < deadline,
            "{} orders never completed after the restore",
            pending.len()
        );
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    println!(
        "backup under load: {} orders accepted before it began, {total} in all; restored and complete",
        before.len()
    );
}
