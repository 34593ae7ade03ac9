//! Crash safety: `skipline serve` is killed with SIGKILL at random points while clients place
//! orders, and restarted on the same data dir each time. Clients retry on connection errors
//! and 5xx with the same Idempotency-Key, so a retried POST is the same order. Afterwards every
//! order that got a 202/200 must be complete: execution SUCCEEDED, cart cleared, invoice
//! present (one per order), and the vendor's endpoint holding its signed ticket.
//!
//! Short mode (default): 20 kills, 300 orders. Long mode, see docs/RELIABILITY.md:
//!   SKIPLINE_CRASH_KILLS=200 SKIPLINE_CRASH_ORDERS=5000 cargo test --release --test crash -- --nocapture
//! SKIPLINE_CRASH_SEED reproduces a run's kill points; the seed is printed.

mod support;

use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use support::{Receiver, Serve, by_event, duplicates, env_u64, http_client, incomplete, order_body, subscribe};

const VENDORS: u64 = 4;
const CLIENTS: usize = 16;

#[derive(Debug, Clone)]
struct Accepted {
    orderid: String,
    account: String,
    vendor: String,
}

#[derive(Default)]
struct Tally {
    accepted: Mutex<Vec<Accepted>>,
    /// Unexpected answers (4xx other than the retried ones); any is a failure.
    errors: Mutex<Vec<String>>,
    /// POST attempts that hit a dead server or a 5xx and were retried.
    retries: AtomicU64,
    /// 200s: a retry found the order already placed.
    replayed: AtomicU64,
}

/// Places order `i`, retrying with the same key until it is acknowledged.
async fn place(http: &reqwest::Client, base: &RwLock<String>, tally: &Tally, run: u64, i: u64) {
    let orderid = format!("crash-{run:x}-{i}");
    let account = format!("acct-{i}");
    let vendor = format!("v{}", i % VENDORS);
    let body = order_body(&account, &vendor);
    let deadline = Instant::now() + Duration::from_secs(180);
    while Instant::now() < deadline {
        let url = format!("{}/order", base.read().unwrap_or_else(|p| p.into_inner()));
        match http
            .post(&url)
            .header("Idempotency-Key", &orderid)
            .json(&body)
            .send()
            .await
        {
            Ok(r) if r.status().as_u16() == 202 || r.status().as_u16() == 200 => {
                let code = r.status().as_u16();
                let v: Value = r.json().await.unwrap_or_default();
                if v["orderid"] != orderid.as_str() {
                    tally.errors.lock().unwrap().push(format!("{orderid}: {code} {v}"));
                }
                if code == 200 {
                    tally.replayed.fetch_add(1, Ordering::Relaxed);
                }
                tally.accepted.lock().unwrap().push(Accepted {
                    orderid,
                    account,
                    vendor,
                });
                return;
            }
            Ok(r) if r.status().is_server_error() => {
                tally.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(r) => {
                let code = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                tally
                    .errors
                    .lock()
                    .unwrap()
                    .push(format!("{orderid}: HTTP {code} {text}"));
                return;
            }
            Err(_) => {
                // Connection refused/reset: the server is being killed or restarted.
                tally.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    tally
        .errors
        .lock()
        .unwrap()
        .push(format!("{orderid}: never acknowledged in 180 s"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_accepted_order_completes_across_sigkills() {
    let kills = env_u64("SKIPLINE_CRASH_KILLS", 20).max(1);
    let orders = env_u64("SKIPLINE_CRASH_ORDERS", 300).max(1);
    let max_delay_ms = env_u64("SKIPLINE_CRASH_MAX_DELAY_MS", 700).max(1);
    let seed = env_u64("SKIPLINE_CRASH_SEED", rand::random::<u32>() as u64);
    println!("crash: seed {seed} (SKIPLINE_CRASH_SEED={seed} repeats these kill points)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let started = Instant::now();

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = ["--allow-private-endpoints", "--visibility-timeout", "1s"];
    let log = |n: u64| dir.path().join(format!("serve-{n}.log"));
    let receiver = Receiver::start().await;
    let mut server = Serve::start(&data, &args, &log(0));
    let http = http_client();
    for v in 0..VENDORS {
        let vendor = format!("v{v}");
        subscribe(&http, &server.base, &vendor, &receiver.url(&vendor)).await;
    }

    // Clients take orders up to a quota that a feeder raises at a steady pace, spread over the
    // expected length of the kill phase, so kills land while orders are being placed, executed
    // and delivered.
    let base = Arc::new(RwLock::new(server.base.clone()));
    let tally = Arc::new(Tally::default());
    let next = Arc::new(AtomicU64::new(0));
    let in_flight = Arc::new(AtomicU64::new(0));
    let (quota_tx, quota_rx) = tokio::sync::watch::channel(0_u64);
    let quota_tx = Arc::new(quota_tx);
    let expected_ms = kills * (max_delay_ms / 2 + 250);
    let pace = Duration::from_micros((expected_ms * 1000 / orders).max(1));
    let feeder = {
        let quota = quota_tx.clone();
        tokio::spawn(async move {
            for i in 1..=orders {
                quota.send_modify(|q| *q = (*q).max(i));
                tokio::time::sleep(pace).await;
            }
        })
    };
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let (http, base, tally, next, in_flight, mut quota) = (
            http.clone(),
            base.clone(),
            tally.clone(),
            next.clone(),
            in_flight.clone(),
            quota_rx.clone(),
        );
        clients.spawn(async move {
            loop {
                let i = loop {
                    let i = next.load(Ordering::SeqCst);
                    if i >= orders {
                        return;
                    }
                    if i < *quota.borrow_and_update() {
                        if next
                            .compare_exchange(i, i + 1, Ordering::SeqCst, Ordering::SeqCst)
                            .is_ok()
                        {
                            break i;
                        }
                        continue;
                    }
                    if quota.changed().await.is_err() {
                        return;
                    }
                };
                in_flight.fetch_add(1, Ordering::SeqCst);
                place(&http, &base, &tally, seed, i).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
            }
        });
    }

    let mut kills_mid_post = 0;
    for k in 0..kills {
        let delay = rng.random_range(0..max_delay_ms);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        if k % 2 == 1 {
            // Every other kill waits (briefly) for a POST to be in flight, to hit the request path.
            let until = Instant::now() + Duration::from_millis(300);
            while in_flight.load(Ordering::SeqCst) == 0 && Instant::now() < until {
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        }
        if in_flight.load(Ordering::SeqCst) > 0 {
            kills_mid_post += 1;
        }
        server.kill9();
        let (data, path) = (data.clone(), log(k + 1));
        server = tokio::task::spawn_blocking(move || Serve::start(&data, &args, &path))
            .await
            .unwrap();
        *base.write().unwrap() = server.base.clone();
    }
    feeder.abort();
    quota_tx.send_modify(|q| *q = orders);
    let killed_at = started.elapsed();
    let load_deadline = Duration::from_secs(120 + orders / 20);
    tokio::time::timeout(load_deadline, async { while clients.join_next().await.is_some() {} })
        .await
        .unwrap_or_else(|_| panic!("clients did not finish within {load_deadline:?}"));
    let errors = tally.errors.lock().unwrap().clone();
    assert!(errors.is_empty(), "unexpected answers to POST /order: {errors:#?}");
    let accepted = tally.accepted.lock().unwrap().clone();
    assert_eq!(accepted.len() as u64, orders, "every order was acknowledged");

    // Drain: the server keeps running; wait until every accepted order is complete.
    let drain_deadline = Instant::now() + Duration::from_secs(60 + orders / 50);
    let mut pending: Vec<Accepted> = accepted.clone();
    let mut reasons: HashMap<String, String>;
    loop {
        let hooks = Arc::new(by_event(&receiver.accepted()));
        let mut checks = tokio::task::JoinSet::new();
        for chunk in pending.chunks(pending.len().div_ceil(8).max(1)) {
            let (chunk, http, base, hooks) = (chunk.to_vec(), http.clone(), server.base.clone(), hooks.clone());
            checks.spawn(async move {
                let mut still = Vec::new();
                for o in chunk {
                    if let Some(why) = incomplete(&http, &base, &o.orderid, &o.account, &o.vendor, &hooks).await {
                        still.push((o, why));
                    }
                }
                still
            });
        }
        let mut still = Vec::new();
        while let Some(r) = checks.join_next().await {
            still.extend(r.unwrap());
        }
        reasons = still.iter().map(|(o, why)| (o.orderid.clone(), why.clone())).collect();
        pending = still.into_iter().map(|(o, _)| o).collect();
        if pending.is_empty() || Instant::now() > drain_deadline || !server.alive() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(server.alive(), "the server died while draining:\n{}", server.log_tail());

    let hooks = receiver.accepted();
    let (dups, mixed) = duplicates(&hooks);
    let unknown: Vec<String> = hooks
        .iter()
        .map(|h| h.orderid())
        .filter(|o| !accepted.iter().any(|a| &a.orderid == o))
        .collect();
    let (executions, invoices_per_order, dead_lettered) = store_facts(&data.join("skipline.db"));
    let multi_invoice: Vec<_> = invoices_per_order.iter().filter(|(_, n)| **n != 1).collect();

    println!(
        "crash: orders {} accepted {} kills {} (with POSTs in flight {}) lost {} \
         duplicates-by-event-id {} retried-posts {} answered-200-on-retry {} dead-lettered {} \
         (kills done at {:.1}s, total {:.1}s)",
        orders,
        accepted.len(),
        kills,
        kills_mid_post,
        pending.len(),
        dups,
        tally.retries.load(Ordering::Relaxed),
        tally.replayed.load(Ordering::Relaxed),
        dead_lettered,
        killed_at.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let mut sample: Vec<_> = reasons.iter().take(10).collect();
    sample.sort();
    assert!(
        pending.is_empty(),
        "{} accepted orders are not complete, e.g. {sample:#?}\nlast server log:\n{}",
        pending.len(),
        server.log_tail()
    );
    assert!(
        mixed.is_empty(),
        "deliveries for one order with other event ids: {mixed:?}"
    );
    assert!(unknown.is_empty(), "tickets for orders nobody placed: {unknown:?}");
    assert!(hooks.iter().all(|h| h.signature_ok), "every ticket is signed");
    assert_eq!(executions, orders, "one execution per order, retries included");
    assert!(
        multi_invoice.is_empty(),
        "orders without exactly one invoice: {multi_invoice:?}"
    );
    assert_eq!(invoices_per_order.len() as u64, orders, "an invoice per order");
    assert_eq!(dead_lettered, 0, "nothing dead-lettered");
}

/// From the store itself (read-only): executions, invoices per order id, DLQ depth.
fn store_facts(db: &std::path::Path) -> (u64, HashMap<String, u64>, u64) {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let executions: i64 = conn
        .query_row("SELECT count(*) FROM executions", [], |r| r.get(0))
        .unwrap();
    let mut per_order: HashMap<String, u64> = HashMap::new();
    let mut stmt = conn.prepare("SELECT key FROM invoices").unwrap();
    for key in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
        let key = key.unwrap();
        let (_, _, orderid) = skipline_events::parse_invoice_key(&key).unwrap();
        *per_order.entry(orderid).or_default() += 1;
    }
    let dead: i64 = conn
        .query_row("SELECT count(*) FROM messages WHERE queue LIKE '%-dlq'", [], |r| {
            r.get(0)
        })
        .unwrap();
    (executions as u64, per_order, dead as u64)
}
