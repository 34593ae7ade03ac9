//! `skipline backup` while `skipline serve` takes orders, and `skipline restore` of the copy.
//!
//! Orders are placed continuously from two tasks. Every order answered 202 before the backup
//! command started must be in the restored data dir, and `serve` on that data dir must complete
//! any that were still running when the copy was taken.
//!
//! An encrypted backup (age, with a passphrase or to a public key) must hold neither the
//! SQLite header nor a webhook secret in the clear, leave no plaintext copy behind, be refused
//! without its key or with a wrong one (creating nothing), and restore and serve with it.

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

/// Runs the CLI with `SKIPLINE_BACKUP_PASSPHRASE` set to `passphrase`, or removed.
fn cli_env(data: &std::path::Path, passphrase: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(support::BIN);
    cmd.arg("--data-dir").arg(data).args(args);
    match passphrase {
        Some(p) => cmd.env("SKIPLINE_BACKUP_PASSPHRASE", p),
        None => cmd.env_remove("SKIPLINE_BACKUP_PASSPHRASE"),
    };
    support::run_bounded(cmd, Duration::from_secs(60))
}

/// A test path as a command-line argument.
fn text(path: &std::path::Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A refusal: exit 2, `needle` on stderr, and no data dir made.
fn refused(out: &std::process::Output, needle: &str, data: &std::path::Path) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(needle), "{stderr:?} does not mention {needle:?}");
    assert!(!data.exists(), "a refused restore made {}", data.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_backup_holds_no_secret_in_the_clear_and_restores_only_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(&data, &[], &dir.path().join("serve.log"));
    let http = http_client();
    // A stored webhook secret (for a vendor that never gets an order, so never contacted).
    support::subscribe(&http, &server.base, "v-hooks", "https://hooks.example.com/ticket").await;
    let mut orders = Vec::new();
    for i in 0..5 {
        let r = http
            .post(format!("{}/order", server.base))
            .json(&order_body(&format!("acct-enc-{i}"), "v-enc"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 202);
        let v: Value = r.json().await.unwrap();
        orders.push(v["orderid"].as_str().unwrap().to_string());
    }

    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let pass = dir.path().join("passphrase");
    std::fs::write(&pass, "correct horse battery staple\n").unwrap();
    let file = backups.join("nightly.db.age");
    let out = cli(
        &data,
        &[
            "--json",
            "backup",
            "--to",
            text(&file),
            "--passphrase-file",
            text(&pass),
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&report["integrity"], &report["encrypted"], &report["encryption"]),
        (&Value::from("ok"), &Value::from(true), &Value::from("passphrase"))
    );
    let sealed = std::fs::read(&file).unwrap();
    assert!(sealed.starts_with(b"age-encryption.org/v1\n"));
    assert!(
        !contains(&sealed, b"SQLite format 3"),
        "the SQLite header is in the clear"
    );
    assert!(
        !contains(&sealed, support::SECRET.as_bytes()),
        "the webhook secret is in the clear"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "owner-only even when encrypted");
    }
    // No plaintext copy left anywhere: the backup dir holds the one file, the data dir its own.
    let names = |d: &std::path::Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&backups), ["nightly.db.age"]);
    assert!(
        names(&data)
            .iter()
            .all(|n| n.starts_with("skipline.db") || n == "serve.lock"),
        "{:?}",
        names(&data)
    );

    // The same from the environment, as cron or a service manager would pass it.
    let from_env = backups.join("env.db.age");
    let pass_env = Some("correct horse battery staple");
    let out = cli_env(
        &data,
        pass_env,
        &["backup", "--encrypt", "--to", from_env.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("age-encrypted with a passphrase"));
    let out = cli_env(
        &data,
        None,
        &["backup", "--encrypt", "--to", backups.join("x").to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SKIPLINE_BACKUP_PASSPHRASE"));
    assert!(!backups.join("x").exists());
    // To a public key: restored with the identity file that `age-keygen` would have written.
    let identity = age::x25519::Identity::generate();
    let key_file = dir.path().join("key.txt");
    {
        use age::secrecy::ExposeSecret;
        std::fs::write(
            &key_file,
            format!("# test key\n{}\n", identity.to_string().expose_secret()),
        )
        .unwrap();
    }
    let to_key = backups.join("key.db.age");
    let recipient = identity.to_public().to_string();
    let out = cli(
        &data,
        &["backup", "--to", to_key.to_str().unwrap(), "--recipient", &recipient],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    drop(server);
    let by_key = dir.path().join("restored-by-key");
    refused(
        &cli_env(&by_key, None, &["restore", "--from", to_key.to_str().unwrap()]),
        "--identity",
        &by_key,
    );
    let out = cli(
        &by_key,
        &["restore", "--from", text(&to_key), "--identity", text(&key_file)],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("age-encrypted to public keys"));

    // Refused, writing nothing: no passphrase, a wrong one.
    let restored = dir.path().join("restored");
    let from = file.to_str().unwrap();
    refused(
        &cli_env(&restored, None, &["restore", "--from", from]),
        "--passphrase-file",
        &restored,
    );
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "incorrect horse battery staple\n").unwrap();
    refused(
        &cli_env(
            &restored,
            None,
            &["restore", "--from", from, "--passphrase-file", wrong.to_str().unwrap()],
        ),
        "wrong passphrase",
        &restored,
    );
    refused(
        &cli_env(
            &restored,
            Some("incorrect horse battery staple"),
            &["restore", "--from", from],
        ),
        "wrong passphrase",
        &restored,
    );

    let out = cli_env(
        &restored,
        None,
        &[
            "--json",
            "restore",
            "--from",
            from,
            "--passphrase-file",
            pass.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["encrypted"], true);
    assert!(
        contains(
            &std::fs::read(restored.join("skipline.db")).unwrap(),
            support::SECRET.as_bytes()
        ),
        "the secret is in the database, so its absence from the backup above means something"
    );
    let from_env_dir = dir.path().join("restored-from-env");
    let out = cli_env(
        &from_env_dir,
        pass_env,
        &["restore", "--from", from_env.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // serve on the restored data dir: the orders are there and complete, the endpoint too.
    let server = Serve::start(&restored, &[], &dir.path().join("restored.log"));
    let deadline = Instant::now() + Duration::from_secs(60);
    for id in &orders {
        loop {
            let (code, v) = get(&http, &format!("{}/orders/{id}", server.base)).await.unwrap();
            assert_eq!(code, 200, "order {id} is in the restored copy: {v}");
            if v["status"] == "SUCCEEDED" {
                break;
            }
            assert!(Instant::now() < deadline, "{id} never completed after the restore: {v}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let (code, v) = get(&http, &format!("{}/vendors/v-hooks/endpoints", server.base))
        .await
        .unwrap();
    assert_eq!(code, 200, "{v}");
    assert!(v.to_string().contains("hooks.example.com"), "{v}");
}
