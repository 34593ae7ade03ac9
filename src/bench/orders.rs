//! One benchmark run: a fresh embedded runtime, N orders from C concurrent clients, and a
//! wait until every order is fully complete.

use super::BenchError;
use super::stats::{Percentiles, cpu_time, peak_rss_mib, reset_peak_rss};
use super::tracker::{HOPS, Tracker, order_id, serve_webhooks};
use crate::backend::Backend;
use crate::backend::local::LocalBackend;
use crate::local::db::DbStatsSnapshot;
use crate::local::runtime::{CLEAR_QUEUE, Runtime, RuntimeConfig};
use aws_lambda_events::event::sqs::SqsMessage;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How orders enter the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// `POST /order` over loopback HTTP with keep-alive connections, as real clients do.
    Http,
    /// `Backend::place_order` called directly: the same path minus HTTP, to separate its cost.
    InProcess,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Http => "http",
            Mode::InProcess => "in-process",
        }
    }
}

/// Which of the two order-flow files the runtime executes: the same states, resources, retries
/// and events, written once per query language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flow {
    /// `infra/statemachine/order_flow.asl.json`, the runtime's embedded default.
    JsonPath,
    /// `infra/statemachine/order_flow.jsonata.asl.json`, its JSONata twin with workflow variables.
    Jsonata,
}

/// Embedded so that `skipline bench` measures the twin from any working directory.
const JSONATA_FLOW: &str = include_str!("../../infra/statemachine/order_flow.jsonata.asl.json");

impl Flow {
    pub fn label(self) -> &'static str {
        match self {
            Flow::JsonPath => "jsonpath",
            Flow::Jsonata => "jsonata",
        }
    }
}

#[derive(Debug, Clone)]
pub struct OrderRunSpec {
    pub flow: Flow,
    pub mode: Mode,
    pub orders: usize,
    pub concurrency: usize,
    /// Open loop at this many orders/s; `None` = closed loop (each client sends when answered).
    pub rate: Option<f64>,
    /// How long to wait for every order to complete before giving up.
    pub timeout: Duration,
    /// Parent directory; the run creates its own fresh data dir inside.
    pub root: PathBuf,
    pub vendors: usize,
}

/// What one run measured. Latencies are in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub flow: Flow,
    pub mode: Mode,
    pub concurrency: usize,
    pub orders: usize,
    #[serde(rename = "targetRate", skip_serializing_if = "Option::is_none")]
    pub target_rate: Option<f64>,
    /// First send to last completion.
    #[serde(rename = "elapsedS")]
    pub elapsed_s: f64,
    /// Orders fully completed per second (invoice, webhook, cart cleared).
    #[serde(rename = "ordersPerS")]
    pub orders_per_s: f64,
    /// Orders accepted (202) per second, over the sending phase.
    #[serde(rename = "acceptedPerS")]
    pub accepted_per_s: f64,
    #[serde(rename = "acceptMs")]
    pub accept_ms: Percentiles,
    #[serde(rename = "endToEndMs")]
    pub e2e_ms: Percentiles,
    #[serde(rename = "peakRssMiB", skip_serializing_if = "Option::is_none")]
    pub peak_rss_mib: Option<f64>,
    /// Durable commits (one fsync each) and the writes they carried, during the run.
    pub db: DbStatsSnapshot,
    #[serde(rename = "commitsPerOrder")]
    pub commits_per_order: f64,
    #[serde(rename = "writesPerOrder")]
    pub writes_per_order: f64,
    #[serde(rename = "writesPerCommit")]
    pub writes_per_commit: f64,
    /// Share of the run the writer thread was busy, and the share of that spent in COMMIT (fsync).
    #[serde(rename = "writerBusy")]
    pub writer_busy: f64,
    #[serde(rename = "writerCommitShare")]
    pub writer_commit_share: f64,
    /// Webhook POSTs received; above `orders` means redeliveries reached the vendor.
    pub webhooks: usize,
    /// The writer thread's time per write: from taking a group to answering it, shared out
    /// over the group's writes (fsync included), and the CPU it used (fsync waits excluded).
    #[serde(rename = "writerBusyUsPerWrite")]
    pub writer_busy_us_per_write: f64,
    #[serde(rename = "writerCpuUsPerWrite", skip_serializing_if = "Option::is_none")]
    pub writer_cpu_us_per_write: Option<f64>,
    /// CPU time (user + system) of the whole process per completed order: runtime, API,
    /// webhook receiver and the benchmark's own clients.
    #[serde(rename = "cpuMsPerOrder", skip_serializing_if = "Option::is_none")]
    pub cpu_ms_per_order: Option<f64>,
    /// Each hop's latency (see [`HOPS`]), over every order.
    pub hops: Vec<Hop>,
}

/// One hop of an order's way, e.g. `invoiced`: from the cart item committed to the invoice.
#[derive(Debug, Clone, Serialize)]
pub struct Hop {
    pub name: &'static str,
    pub ms: Percentiles,
}

/// What the HTTP runs switch on, as `skipline serve` does by default.
pub const HTTP_CONFIG: &str = "HTTP runs serve as `skipline serve` does by default: a bearer token is required (the bench's own, scope orders:write), \
both throttling layers run (set at 1,000,000 requests/s, so they check every request and never refuse the bench's client), \
the Prometheus recorder is installed, every delivery attempt is logged, and tickets are signed (Standard Webhooks) and checked by the receiver";

fn order_body(index: usize, vendors: usize) -> Vec<u8> {
    let vendor = index % vendors.max(1);
    serde_json::json!({"order": {"accountid": format!("acct-{index}"), "vendorid": format!("bench-v{vendor}"),
        "orderdate": "2026-11-25T07:45:00Z", "city": "Sydney",
        "details": {"coffeetype": "Flat white", "coffeesize": "Large", "unitprice": "4.50", "quantity": 2},
        "eventtype": ["new_order"]}})
    .to_string()
    .into_bytes()
}

fn setup(e: impl std::fmt::Display) -> BenchError {
    BenchError::Setup(e.to_string())
}

/// Sends orders, one client per task; returns accept latencies in microseconds.
async fn drive(
    spec: &OrderRunSpec,
    tracker: &Arc<Tracker>,
    backend: Arc<dyn Backend>,
    base: Option<(String, String)>,
    start: Instant,
) -> Result<Vec<u64>, BenchError> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(spec.concurrency)
        .tcp_nodelay(true)
        .build()
        .map_err(setup)?;
    let next = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::with_capacity(spec.concurrency);
    for _ in 0..spec.concurrency {
        let (next, tracker, backend, http, base) = (
            next.clone(),
            tracker.clone(),
            backend.clone(),
            http.clone(),
            base.clone(),
        );
        let (orders, vendors, rate) = (spec.orders, spec.vendors, spec.rate);
        clients.push(tokio::spawn(async move {
            let mut accept = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= orders {
                    return Ok::<_, BenchError>(accept);
                }
                let body = order_body(i, vendors);
                let key = order_id(i);
                // Open loop: latency counts from when the order was due, not when a client got to it.
                let at = match rate {
                    Some(r) => {
                        let due = start + Duration::from_secs_f64(i as f64 / r);
                        tokio::time::sleep_until(due.into()).await;
                        due
                    }
                    None => Instant::now(),
                };
                tracker.sent(i, at);
                let status = match &base {
                    Some((base, token)) => http
                        .post(format!("{base}/order"))
                        .bearer_auth(token)
                        .header("content-type", "application/json")
                        .header("idempotency-key", &key)
                        .body(body)
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .map_err(|e| BenchError::Failed(format!("POST /order failed: {e}")))?,
                    None => match backend.place_order(&body, Some(&key)).await {
                        Ok(p) if p.created => 202,
                        Ok(_) => 200,
                        Err(e) => return Err(BenchError::Failed(format!("place_order failed: {e}"))),
                    },
                };
                if status != 202 {
                    return Err(BenchError::Failed(format!(
                        "order {key} was answered {status}, not 202"
                    )));
                }
                tracker.accepted(i);
                accept.push(u64::try_from(at.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
        }));
    }
    let mut all = Vec::with_capacity(spec.orders);
    for c in clients {
        all.extend(
            c.await
                .map_err(|e| BenchError::Failed(format!("client task failed: {e}")))??,
        );
    }
    Ok(all)
}

/// Counts from the database once the run is over: the proof that orders really completed.
async fn verify(rt: &Runtime, orders: usize) -> Result<(), BenchError> {
    let count = |sql: &'static str| rt.db.read(move |c| Ok(c.query_row(sql, [], |r| r.get::<_, i64>(0))?));
    // The execution's final event is written after the publish, so it may trail the webhook a little.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let succeeded = count("SELECT count(*) FROM executions WHERE status = 'SUCCEEDED'")
            .await
            .map_err(setup)?;
        if succeeded as usize >= orders || Instant::now() > deadline {
            let invoices = count("SELECT count(*) FROM invoices").await.map_err(setup)?;
            let cart = count("SELECT count(*) FROM cart").await.map_err(setup)?;
            if succeeded as usize != orders || invoices as usize != orders || cart != 0 {
                return Err(BenchError::Failed(format!(
                    "after the run: {succeeded} executions succeeded, {invoices} invoices, {cart} cart items left (expected {orders}, {orders}, 0)"
                )));
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The SQLite writer thread's name as the kernel keeps it (15 bytes).
const WRITER_THREAD: &str = "skipline-db-wri";

pub async fn run(spec: &OrderRunSpec) -> Result<RunResult, BenchError> {
    let data_dir = spec.root.join(format!(
        "orders-{}-{}-c{}",
        spec.flow.label(),
        spec.mode.label(),
        spec.concurrency
    ));
    if data_dir.exists() {
        std::fs::remove_dir_all(&data_dir)?;
    }
    // The runtime reads a non-default flow from a file, as `serve --state-machine` does.
    let state_machine = match spec.flow {
        Flow::JsonPath => None,
        Flow::Jsonata => {
            let path = spec.root.join("order_flow.jsonata.asl.json");
            std::fs::write(&path, JSONATA_FLOW)?;
            Some(path)
        }
    };
    let secret = "whsec_YmVuY2htYXJrLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGU=";
    let tracker = Tracker::new(spec.orders, secret);
    let (stop_hooks, stop_hooks_rx) = tokio::sync::oneshot::channel::<()>();
    let (hook_addr, hook_task) = serve_webhooks(tracker.clone(), async move {
        let _ = stop_hooks_rx.await;
    })
    .await?;

    let mut config = RuntimeConfig::new(&data_dir);
    config.state_machine = state_machine;
    config.allow_private_endpoints = true;
    config.apply_queue_settings = true;
    config.max_concurrent_executions = config.max_concurrent_executions.max(spec.concurrency);
    let rt = Runtime::open(config, Default::default()).await.map_err(setup)?;
    rt.lock_for_serving().map_err(setup)?;
    let t = tracker.clone();
    rt.on_consumed(Arc::new(move |queue: &str, done: &[SqsMessage]| {
        if queue != CLEAR_QUEUE {
            return;
        }
        for m in done {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(m.body.as_deref().unwrap_or_default())
                && let Some(id) = v.get("orderid").and_then(|o| o.as_str())
            {
                t.cleared(id);
            }
        }
    }));
    let t = tracker.clone();
    rt.on_checkpoint(Arc::new(move |name: &str, next: &str| t.checkpoint(name, next)));
    let backend: Arc<dyn Backend> = Arc::new(LocalBackend::new(rt.clone()));
    for v in 0..spec.vendors.max(1) {
        backend
            .subscribe_vendor(
                &format!("bench-v{v}"),
                &format!("http://{hook_addr}/hook/v{v}"),
                Some(secret),
                true,
            )
            .await
            .map_err(setup)?;
    }
    let background = rt.start_background();
    let (stop_api, stop_api_rx) = tokio::sync::oneshot::channel::<()>();
    let (base, api_task) = match spec.mode {
        Mode::Http => {
            let tokens = crate::local::tokens::Tokens::new(rt.db.clone());
            let (_, token) = tokens
                .create("bench", &[crate::local::tokens::Scope::OrdersWrite])
                .await
                .map_err(setup)?;
            let unlimited = 1_000_000;
            let state = crate::api::ApiState {
                backend: backend.clone(),
                allow_private_endpoints: true,
                auth: crate::api::auth::Auth::tokens(tokens, false, false),
                limits: Some(crate::api::throttle::Limits {
                    token_rate: unlimited,
                    token_burst: unlimited,
                    global_rate: unlimited,
                    global_burst: unlimited,
                }),
            };
            let (base, task) = crate::demo::loopback_api(state, stop_api_rx).await?;
            (Some((base, token)), Some(task))
        }
        Mode::InProcess => (None, None),
    };

    let rss_resettable = reset_peak_rss();
    let before = rt.db.stats.snapshot();
    let cpu_before = cpu_time(WRITER_THREAD);
    let started = Instant::now();
    let sending = drive(spec, &tracker, backend.clone(), base, started).await;
    let sent_for = started.elapsed();
    let completed = match &sending {
        Ok(_) => tracker.wait_all(spec.timeout).await,
        Err(_) => false,
    };
    let elapsed = tracker
        .last_done()
        .saturating_sub(started.saturating_duration_since(tracker.start()));
    let db = rt.db.stats.snapshot() - before;
    let cpu = cpu_before.zip(cpu_time(WRITER_THREAD)).map(|(a, b)| {
        (
            b.process_ns.saturating_sub(a.process_ns),
            b.thread_ns.saturating_sub(a.thread_ns),
        )
    });
    let peak = peak_rss_mib().filter(|_| rss_resettable);
    let verified = if completed {
        verify(&rt, spec.orders).await
    } else {
        Ok(())
    };

    let _ = stop_api.send(());
    if let Some(task) = api_task {
        let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
    }
    rt.stop();
    for h in background {
        let _ = tokio::time::timeout(Duration::from_secs(3), h).await;
    }
    let _ = stop_hooks.send(());
    let _ = tokio::time::timeout(Duration::from_secs(3), hook_task).await;
    drop(backend);
    drop(rt);

    let mut accept = sending?;
    if !completed {
        return Err(BenchError::Failed(format!(
            "{} of {} orders completed within {:?} ({} webhooks received)",
            tracker.done(),
            spec.orders,
            spec.timeout,
            tracker.webhooks()
        )));
    }
    verified?;
    if tracker.bad_signatures() > 0 {
        return Err(BenchError::Failed(format!(
            "{} webhooks had a bad signature",
            tracker.bad_signatures()
        )));
    }
    let _ = std::fs::remove_dir_all(&data_dir);
    let secs = elapsed.as_secs_f64().max(1e-9);
    let n = spec.orders as f64;
    let mut e2e = tracker.take_e2e_us();
    let hops = tracker
        .hops_us()
        .into_iter()
        .zip(HOPS)
        .map(|(mut us, name)| Hop {
            name,
            ms: Percentiles::of_micros(&mut us),
        })
        .collect::<Vec<Hop>>();
    let writes = db.writes.max(1) as f64;
    // Every completed order passed every hop; a missing stamp means a hook stopped firing
    // (a renamed state, a checkpoint no longer durable) and the breakdown would be wrong.
    if let Some(h) = hops.iter().find(|h: &&Hop| h.ms.count != spec.orders) {
        return Err(BenchError::Failed(format!(
            "only {} of {} completed orders had their `{}` hop stamped",
            h.ms.count, spec.orders, h.name
        )));
    }
    Ok(RunResult {
        flow: spec.flow,
        mode: spec.mode,
        concurrency: spec.concurrency,
        orders: spec.orders,
        target_rate: spec.rate,
        elapsed_s: secs,
        orders_per_s: n / secs,
        accepted_per_s: n / sent_for.as_secs_f64().max(1e-9),
        accept_ms: Percentiles::of_micros(&mut accept),
        e2e_ms: Percentiles::of_micros(&mut e2e),
        peak_rss_mib: peak,
        db,
        commits_per_order: db.commits as f64 / n,
        writes_per_order: db.writes as f64 / n,
        writes_per_commit: db.writes as f64 / (db.commits.max(1)) as f64,
        writer_busy: db.busy_ns as f64 / 1e9 / secs,
        writer_commit_share: db.commit_ns as f64 / (db.busy_ns.max(1)) as f64,
        webhooks: tracker.webhooks(),
        writer_busy_us_per_write: db.busy_ns as f64 / 1e3 / writes,
        writer_cpu_us_per_write: cpu.map(|(_, w)| w as f64 / 1e3 / writes),
        cpu_ms_per_order: cpu.map(|(p, _)| p as f64 / 1e6 / n),
        hops,
    })
}
