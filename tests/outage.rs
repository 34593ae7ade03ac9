//! A vendor outage: one endpoint answers 500, another hangs past `--webhook-timeout`, while a
//! third stays healthy. The failing tickets land in notify-vendor-dlq after maxReceiveCount;
//! the orders themselves complete regardless. When the endpoints recover, `skipline queues
//! replay --from notify-vendor-dlq` (the CLI binary, against the data dir of the running server)
//! delivers each order's ticket exactly once, by event id, and a second replay moves nothing.

mod support;

use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use support::{Mode, Receiver, Serve, cli, duplicates, get, http_client, order_body, subscribe};

const FAILING: &str = "v-500";
const HANGING: &str = "v-hang";
const HEALTHY: &str = "v-ok";

fn run_cli(data: &std::path::Path, args: &[&str]) -> String {
    let out = cli(data, args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "skipline {}: {:?}\nstdout: {stdout}\nstderr: {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn peek(data: &std::path::Path, queue: &str) -> Vec<Value> {
    let text = run_cli(data, &["--json", "queues", "peek", queue, "--max", "1000"]);
    serde_json::from_str::<Vec<Value>>(&text).unwrap_or_else(|e| panic!("peek {queue}: {e}: {text}"))
}

async fn wait_for(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_lettered_tickets_are_replayed_once_after_an_outage() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Serve::start(
        &data,
        &[
            "--allow-private-endpoints",
            "--visibility-timeout",
            "1s",
            "--max-receive-count",
            "2",
            "--webhook-timeout",
            "500ms",
        ],
        &dir.path().join("serve.log"),
    );
    let base = server.base.clone();
    let http = http_client();
    let receiver = Receiver::start().await;
    for v in [FAILING, HANGING, HEALTHY] {
        subscribe(&http, &base, v, &receiver.url(v)).await;
    }
    receiver.set_mode(FAILING, Mode::Fail);
    receiver.set_mode(HANGING, Mode::Hang(Duration::from_secs(2)));

    // Orders: four per broken vendor, two for the healthy one.
    let mut orders: Vec<(String, &str)> = Vec::new();
    for (vendor, n) in [(FAILING, 4), (HANGING, 4), (HEALTHY, 2)] {
        for i in 0..n {
            let account = format!("acct-{vendor}-{i}");
            let r = http
                .post(format!("{base}/order"))
                .json(&order_body(&account, vendor))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 202);
            let v: Value = r.json().await.unwrap();
            orders.push((v["orderid"].as_str().unwrap().to_string(), vendor));
        }
    }
    let broken = orders.iter().filter(|(_, v)| *v != HEALTHY).count();

    // The outage: orders complete, healthy tickets arrive, broken ones dead-letter.
    for (id, _) in &orders {
        let url = format!("{base}/orders/{id}");
        wait_for("executions to succeed", Duration::from_secs(30), async || {
            get(&http, &url).await.unwrap().1["status"] == "SUCCEEDED"
        })
        .await;
    }
    wait_for("the broken tickets in the DLQ", Duration::from_secs(45), async || {
        peek(&data, "notify-vendor-dlq").len() == broken
    })
    .await;
    let accepted = receiver.accepted();
    assert!(
        accepted.iter().all(|h| h.path == HEALTHY),
        "nothing reached a broken vendor as accepted"
    );
    assert_eq!(
        accepted.len(),
        2,
        "the healthy vendor got its tickets during the outage"
    );
    let attempts_500 = receiver.attempts(FAILING);
    let attempts_hang = receiver.attempts(HANGING);
    assert!(
        attempts_500 >= 8,
        "each failing ticket was tried maxReceiveCount times: {attempts_500}"
    );
    assert!(
        attempts_hang >= 8,
        "each hanging ticket was tried maxReceiveCount times: {attempts_hang}"
    );
    let dead = peek(&data, "notify-vendor-dlq");
    let dead_events: Vec<String> = dead
        .iter()
        .map(|m| {
            let body: Value = serde_json::from_str(m["body"].as_str().unwrap()).unwrap();
            body["orderid"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    for (id, vendor) in orders.iter().filter(|(_, v)| *v != HEALTHY) {
        assert!(
            dead_events.contains(id),
            "order {id} for {vendor} dead-lettered: {dead_events:?}"
        );
    }
    // The carts were cleared regardless (clear-cart is a separate queue).
    for (i, (_, vendor)) in orders.iter().enumerate() {
        let account = format!(
            "acct-{vendor}-{}",
            if i < 4 {
                i
            } else if i < 8 {
                i - 4
            } else {
                i - 8
            }
        );
        let (code, _) = get(&http, &format!("{base}/order?accountid={account}&vendorid={vendor}"))
            .await
            .unwrap();
        assert_eq!(code, 404, "cart of {account} at {vendor} cleared");
    }

    // Recovery: a DLQ is not redriven by itself.
    receiver.set_mode(FAILING, Mode::Ok);
    receiver.set_mode(HANGING, Mode::Ok);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(receiver.accepted().len(), 2, "no delivery before the replay");

    let dry = run_cli(&data, &["queues", "replay", "--from", "notify-vendor-dlq", "--dry-run"]);
    assert!(dry.contains(&format!("would have moved {broken} ")), "{dry}");
    assert_eq!(
        peek(&data, "notify-vendor-dlq").len(),
        broken,
        "a dry run moves nothing"
    );
    let replayed = run_cli(&data, &["queues", "replay", "--from", "notify-vendor-dlq"]);
    assert!(
        replayed.contains(&format!("moved {broken} skipped 0 failed 0")),
        "{replayed}"
    );
    wait_for("every ticket after the replay", Duration::from_secs(30), async || {
        receiver.accepted().len() >= orders.len()
    })
    .await;
    // Longer than two visibility timeouts: any redelivery would have happened by now.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let again = run_cli(&data, &["queues", "replay", "--from", "notify-vendor-dlq"]);
    assert!(again.contains("moved 0 skipped 0 failed 0"), "{again}");
    tokio::time::sleep(Duration::from_millis(1000)).await;

    let hooks = receiver.accepted();
    let mut per_event: HashMap<String, usize> = HashMap::new();
    for h in &hooks {
        *per_event.entry(h.eventid.clone()).or_default() += 1;
    }
    for (id, vendor) in &orders {
        let eventid = format!("{id}.OrderCompleted");
        assert_eq!(per_event.get(&eventid), Some(&1), "{eventid} delivered exactly once");
        assert!(
            hooks
                .iter()
                .any(|h| h.eventid == eventid && h.path == *vendor && h.signature_ok),
            "{eventid} reached {vendor}, signed"
        );
    }
    let (dups, mixed) = duplicates(&hooks);
    assert_eq!((dups, mixed.len()), (0, 0), "{mixed:?}");
    assert_eq!(hooks.len(), orders.len(), "no extra deliveries");
    assert!(peek(&data, "notify-vendor-dlq").is_empty(), "the DLQ is empty");
    assert!(peek(&data, "notify-vendor").is_empty(), "the queue is drained");
    let mut server = server;
    assert!(server.alive(), "{}", server.log_tail());
    println!(
        "outage: orders {} dead-lettered {} attempts during outage (500 {}, hang {}) \
         delivered after replay {} duplicates {} ({:.1}s)",
        orders.len(),
        broken,
        attempts_500,
        attempts_hang,
        hooks.len() - 2,
        dups,
        started.elapsed().as_secs_f64()
    );
}
