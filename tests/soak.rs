//! Soak: steady load against `skipline serve` while its resident memory is sampled from
//! /proc/PID/status. Memory must stay flat (after warm-up, the median of the last quarter of
//! samples at most 1.5× the median of the first quarter), and nothing may fail: every POST
//! answered 202, every order complete with its ticket delivered.
//!
//! Default: 25 s at 20 orders/s (debug build is fine). The 10-minute soak:
//!   SKIPLINE_SOAK_SECS=600 cargo test --release --test soak -- --nocapture
//! SKIPLINE_SOAK_RATE sets orders per second.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Stage, by_event, duplicates, env_u64, get, incomplete, median, order_body, subscribe};

const VENDORS: u64 = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_stays_flat_under_steady_load() {
    let secs = env_u64("SKIPLINE_SOAK_SECS", 25).max(8);
    let rate = env_u64("SKIPLINE_SOAK_RATE", 20).max(1);
    let Stage {
        dir: _dir,
        mut server,
        base,
        http,
        receiver,
        ..
    } = Stage::start("--visibility-timeout 5s").await;
    for v in 0..VENDORS {
        let vendor = format!("v{v}");
        subscribe(&http, &base, &vendor, &receiver.url(&vendor)).await;
    }

    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<u64>>> = Arc::default();
    let placed: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
    let in_flight = Arc::new(AtomicU64::new(0));
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let started = Instant::now();
    let end = started + Duration::from_secs(secs);
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_sample = started;
    let mut i = 0_u64;
    let mut tasks = tokio::task::JoinSet::new();
    while Instant::now() < end {
        ticker.tick().await;
        if Instant::now() >= next_sample {
            let rss = server.rss_kib().expect("the server is running");
            samples.push((started.elapsed().as_secs_f64(), rss));
            next_sample += Duration::from_millis(250);
        }
        if in_flight.load(Ordering::Relaxed) > 64 {
            errors.lock().unwrap().push(format!(
                "more than 64 requests outstanding at order {i}: the server cannot keep up"
            ));
            break;
        }
        let (account, vendor) = (format!("soak-{i}"), format!("v{}", i % VENDORS));
        i += 1;
        let (http, base, errors, latencies, placed, in_flight) = (
            http.clone(),
            base.clone(),
            errors.clone(),
            latencies.clone(),
            placed.clone(),
            in_flight.clone(),
        );
        in_flight.fetch_add(1, Ordering::Relaxed);
        tasks.spawn(async move {
            let t = Instant::now();
            let r = http
                .post(format!("{base}/order"))
                .json(&order_body(&account, &vendor))
                .send()
                .await;
            latencies.lock().unwrap().push(t.elapsed().as_micros() as u64);
            match r {
                Ok(r) if r.status().as_u16() == 202 => {
                    let v: serde_json::Value = r.json().await.unwrap_or_default();
                    let id = v["orderid"].as_str().unwrap_or_default().to_string();
                    placed.lock().unwrap().push((id, account, vendor));
                }
                Ok(r) => {
                    let line = format!("POST /order → {}: {}", r.status(), r.text().await.unwrap_or_default());
                    errors.lock().unwrap().push(line);
                }
                Err(e) => errors.lock().unwrap().push(format!("POST /order: {e}")),
            }
            in_flight.fetch_sub(1, Ordering::Relaxed);
        });
        // Reap finished tasks so the set does not grow with the run.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let load_secs = started.elapsed().as_secs_f64();

    // Drain, then check every order end to end.
    let placed = placed.lock().unwrap().clone();
    let drain = Instant::now() + Duration::from_secs(60 + secs / 5);
    let mut pending = placed.clone();
    while !pending.is_empty() && Instant::now() < drain {
        let hooks = by_event(&receiver.accepted());
        let mut still = Vec::new();
        for o in pending {
            if let Some(why) = incomplete(&http, &base, &o.0, &o.1, &o.2, &hooks).await {
                still.push((o, why));
            }
        }
        if let Some((o, why)) = still.first()
            && Instant::now() + Duration::from_secs(1) >= drain
        {
            errors.lock().unwrap().push(format!("order {} incomplete: {why}", o.0));
        }
        pending = still.into_iter().map(|(o, _)| o).collect();
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let (dups, mixed) = duplicates(&receiver.accepted());
    let (code, running) = get(&http, &format!("{base}/executions?status=RUNNING&limit=10"))
        .await
        .unwrap();
    assert_eq!(code, 200);

    // Memory: drop the warm-up (first 20% of the run, at least 3 s), compare quarters.
    let warm = (secs as f64 * 0.2).max(3.0);
    let steady: Vec<u64> = samples.iter().filter(|(t, _)| *t >= warm).map(|(_, r)| *r).collect();
    assert!(steady.len() >= 8, "too few RSS samples: {}", steady.len());
    let q = steady.len() / 4;
    let first = median(&steady[..q]);
    let last = median(&steady[steady.len() - q..]);
    let peak = samples.iter().map(|(_, r)| *r).max().unwrap_or(0);
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
    };
    let errors = errors.lock().unwrap().clone();
    println!(
        "soak: {secs}s at {rate}/s: orders {} placed {} errors {} incomplete {} duplicates {} | \
         POST p50 {:.1} ms p99 {:.1} ms | RSS first-quarter median {} KiB, last-quarter median {} KiB \
         (×{:.2}), peak {} KiB, {} samples over {load_secs:.1}s",
        i,
        placed.len(),
        errors.len(),
        pending.len(),
        dups,
        pct(0.5).unwrap_or(0) as f64 / 1000.0,
        pct(0.99).unwrap_or(0) as f64 / 1000.0,
        first,
        last,
        last as f64 / first.max(1) as f64,
        peak,
        samples.len()
    );
    assert!(
        errors.is_empty(),
        "errors during the soak: {:#?}",
        &errors[..errors.len().min(10)]
    );
    assert_eq!(placed.len() as u64, i, "every order was accepted");
    assert!(pending.is_empty(), "{} orders incomplete", pending.len());
    assert!(mixed.is_empty(), "{mixed:?}");
    assert_eq!(
        running["executions"].as_array().map(Vec::len),
        Some(0),
        "nothing left running"
    );
    assert!(server.alive(), "{}", server.log_tail());
    assert!(
        last as f64 <= first as f64 * 1.5,
        "memory grew: last-quarter median {last} KiB > 1.5 × first-quarter median {first} KiB"
    );
}
