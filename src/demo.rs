//! `skipline demo`: the whole story on a temporary data dir, checked as it goes.
//!
//! It starts the embedded stack and a vendor webhook receiver on loopback, then over HTTP:
//! a successful order (cart item, invoice, signed ticket, cart cleared); a second order while
//! the first holds the cart slot (rejected); an invoice store that fails (retried, then
//! compensated); and a vendor endpoint that is down (DLQ, replay, delivered once).
//! Any expectation that does not hold makes it exit non-zero.

use crate::api::{ApiState, serve};
use crate::backend::local::LocalBackend;
use crate::backend::{Backend, Quiet, ReplayRequest};
use crate::cli::DemoArgs;
use crate::cli::commands::CliError;
use crate::local::deliveries::DELIVERY_QUEUE;
use crate::local::runtime::{Overrides, Runtime, RuntimeConfig};
use crate::receiver::WebhookReceiver;
use async_trait::async_trait;
use serde_json::{Value, json};
use skipline_handlers::ports::{InvoiceStore, PutBlobOutcome, StoreError};
use skipline_handlers::schedule::Schedule;
use std::sync::Arc;
use std::time::Duration;

/// The vendor whose invoices the demo's store refuses, to show compensation.
pub const BROKEN_VENDOR: &str = "v-broken-printer";
/// The demo's retry schedule: see [`Schedule`].
const DEMO_SCHEDULE: &str = "500ms,1s,2s";

/// Wraps the real invoice store and refuses one vendor's invoices, as an outage would.
pub struct FailingInvoices {
    pub inner: Arc<dyn InvoiceStore>,
    pub vendor: String,
}

#[async_trait]
impl InvoiceStore for FailingInvoices {
    async fn put_new(&self, key: &str, body: &[u8]) -> Result<PutBlobOutcome, StoreError> {
        if key.contains(&format!("/{}/", self.vendor)) {
            return Err(StoreError::Unavailable(format!(
                "invoice printer for {} is offline",
                self.vendor
            )));
        }
        self.inner.put_new(key, body).await
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key).await
    }
}

struct Report {
    checks: Vec<(String, bool)>,
}

impl Report {
    fn check(&mut self, name: &str, ok: bool, detail: impl Into<String>) {
        let detail = detail.into();
        println!(
            "  {} {name}{}",
            if ok { "✔" } else { "✘" },
            if detail.is_empty() {
                String::new()
            } else {
                format!(" — {detail}")
            }
        );
        self.checks.push((name.to_string(), ok));
    }
}

/// A large `coffee` at `price` for `account` at `vendor`.
fn order_body(account: &str, vendor: &str, coffee: &str, price: &str, quantity: u32) -> Value {
    json!({"order": {"accountid": account, "vendorid": vendor, "orderdate": jiff::Timestamp::now().to_string(),
        "city": "Sydney", "details": {"coffeetype": coffee, "coffeesize": "Large", "unitprice": price, "quantity": quantity},
        "eventtype": ["new_order"]}})
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn post(&self, path: &str, body: &Value) -> Result<(u16, Value), CliError> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .map_err(unavailable)?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }
    async fn get(&self, path: &str) -> Result<(u16, Value), CliError> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(unavailable)?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }
    /// Places one large `coffee` (see [`order_body`]): the status and the order id (empty if none).
    async fn order(&self, account: &str, vendor: &str, coffee: &str, price: &str) -> Result<(u16, String), CliError> {
        let (status, placed) = self
            .post("/order", &order_body(account, vendor, coffee, price, 1))
            .await?;
        Ok((status, placed["orderid"].as_str().unwrap_or_default().to_string()))
    }
    /// Polls `GET /orders/{id}` until the execution leaves RUNNING.
    async fn wait_done(&self, orderid: &str) -> Result<Value, CliError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (_, v) = self.get(&format!("/orders/{orderid}")).await?;
            if v["status"] != "RUNNING" || tokio::time::Instant::now() > deadline {
                return Ok(v);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn unavailable(e: reqwest::Error) -> CliError {
    CliError::Unavailable(format!("demo API call failed: {e}"))
}

/// The HTTP API over `backend` on a free loopback port until `stop` fires (or is dropped), with
/// private endpoints allowed, since the demo's and the benchmarks' receivers are on loopback.
/// Returns its base URL and the server task.
pub(crate) async fn loopback_api(
    state: ApiState,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> std::io::Result<(String, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(serve(listener, state, async move {
        let _ = stop.await;
    }));
    Ok((base, server))
}

/// Waits until `cond` holds, up to `limit`, asking every 50 ms; returns whether it did. The
/// contract suite waits with it too.
pub async fn eventually<F, Fut>(limit: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if cond().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn run(args: &DemoArgs, _json: bool) -> Result<(), CliError> {
    let dir = tempfile::Builder::new()
        .prefix("skipline-demo-")
        .tempdir()
        .map_err(|e| CliError::Unavailable(format!("cannot create a temporary data dir: {e}")))?;
    let data_dir = dir.path().to_path_buf();
    let receiver = WebhookReceiver::start()
        .await
        .map_err(|e| CliError::Unavailable(format!("cannot start the receiver: {e}")))?;

    let mut config = RuntimeConfig::new(&data_dir);
    // The demo's vendor lives on loopback; real deployments keep the SSRF guard on.
    config.allow_private_endpoints = true;
    config.visibility_timeout = Duration::from_millis(700);
    config.max_receive_count = 2;
    config.webhook_timeout = Duration::from_secs(2);
    // A compressed schedule, so an outage and an exhausted schedule both fit in seconds:
    // four attempts over 3.5 s instead of eight over a day.
    config.delivery_schedule = Schedule::parse(DEMO_SCHEDULE).map_err(|e| CliError::Invalid(e.to_string()))?;
    config.apply_queue_settings = true;
    let overrides = Overrides {
        wrap_invoices: Some(Arc::new(|inner| {
            Arc::new(FailingInvoices {
                inner,
                vendor: BROKEN_VENDOR.into(),
            })
        })),
    };
    let rt = Runtime::open(config, overrides).await?;
    rt.lock_for_serving()?;
    let background = rt.start_background();
    let backend: Arc<dyn Backend> = Arc::new(LocalBackend::new(rt.clone()));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (base, server) = loopback_api(ApiState::in_process(backend.clone(), true), stop_rx)
        .await
        .map_err(|e| CliError::Unavailable(e.to_string()))?;
    println!("Skip the Line demo — API on {base}, data in {}", data_dir.display());
    let client = Client {
        http: reqwest::Client::new(),
        base,
    };
    println!("(the vendor receiver is on loopback, so this demo runs with --allow-private-endpoints)\n");

    let mut report = Report { checks: Vec::new() };
    let result = scenario(&client, &receiver, backend.as_ref(), &mut report).await;

    let _ = stop_tx.send(());
    let _ = server.await;
    rt.stop();
    for h in background {
        let _ = tokio::time::timeout(Duration::from_secs(3), h).await;
    }
    if args.keep {
        let kept = dir.keep();
        println!("\ndata dir kept at {}", kept.display());
    }
    result?;
    let failed = report.checks.iter().filter(|(_, ok)| !ok).count();
    println!(
        "\n{} checks, {} passed, {} failed",
        report.checks.len(),
        report.checks.len() - failed,
        failed
    );
    if failed > 0 {
        return Err(CliError::Failed(format!("{failed} demo checks failed")));
    }
    Ok(())
}

async fn subscribe(
    client: &Client,
    receiver: &WebhookReceiver,
    vendor: &str,
    path: &str,
    r: &mut Report,
) -> Result<String, CliError> {
    let (status, v) = client
        .post(
            &format!("/vendors/{vendor}/endpoints"),
            &json!({"url": receiver.url(path)}),
        )
        .await?;
    let secret = v["secret"].as_str().unwrap_or_default().to_string();
    r.check(
        &format!("vendor {vendor} subscribed its endpoint /{path}"),
        status == 201 && secret.starts_with("whsec_"),
        format!("HTTP {status}, secret shown once"),
    );
    Ok(secret)
}

async fn scenario(
    client: &Client,
    receiver: &WebhookReceiver,
    backend: &dyn Backend,
    r: &mut Report,
) -> Result<(), CliError> {
    println!("1. A commuter orders two large flat whites from vendor v-central");
    let secret = subscribe(client, receiver, "v-central", "central", r).await?;
    let (status, placed) = client
        .post(
            "/order",
            &order_body("commuter-1", "v-central", "Flat white", "4.50", 2),
        )
        .await?;
    let orderid = placed["orderid"].as_str().unwrap_or_default().to_string();
    r.check(
        "order accepted",
        status == 202 && !orderid.is_empty(),
        format!("HTTP {status}, order {orderid}"),
    );
    let done = client.wait_done(&orderid).await?;
    r.check(
        "execution succeeded",
        done["status"] == "SUCCEEDED",
        format!("status {}", done["status"]),
    );
    let (status, invoice) = client.get(&format!("/orders/{orderid}/invoice")).await?;
    r.check(
        "invoice written",
        status == 200 && invoice["total"] == "9.00",
        format!("total {}", invoice["total"]),
    );
    let delivered = eventually(Duration::from_secs(10), || async {
        !receiver.deliveries("central").is_empty()
    })
    .await;
    let tickets = receiver.deliveries("central");
    let signed = tickets.first().is_some_and(|d| d.verify(&secret));
    r.check(
        "vendor received one signed ticket",
        delivered && tickets.len() == 1 && signed,
        format!("{} ticket(s), signature valid: {signed}", tickets.len()),
    );
    let cleared = eventually(Duration::from_secs(10), || async {
        client
            .get("/order?accountid=commuter-1&vendorid=v-central")
            .await
            .map(|(s, _)| s == 404)
            .unwrap_or(false)
    })
    .await;
    r.check("cart cleared after completion", cleared, "");

    println!("\n2. The invoice printer at {BROKEN_VENDOR} is offline; the same commuter orders twice");
    let (_, first_id) = client.order("commuter-2", BROKEN_VENDOR, "Long black", "3.80").await?;
    let held = eventually(Duration::from_secs(5), || async {
        client
            .get(&format!("/order?accountid=commuter-2&vendorid={BROKEN_VENDOR}"))
            .await
            .map(|(s, _)| s == 200)
            .unwrap_or(false)
    })
    .await;
    r.check("first order holds the cart slot while its invoice is retried", held, "");
    let (_, second_id) = client.order("commuter-2", BROKEN_VENDOR, "Mocha", "4.20").await?;
    let rejected = client.wait_done(&second_id).await?;
    r.check(
        "second active order rejected",
        rejected["status"] == "FAILED" && rejected["error"] == "ActiveOrderExists",
        format!("{} {}", rejected["status"], rejected["error"]),
    );
    let failed = client.wait_done(&first_id).await?;
    let retries = failed["history"]
        .as_array()
        .map(|h| h.iter().filter(|e| e["detail"]["retry"].is_object()).count())
        .unwrap_or(0);
    r.check(
        "failed invoice retried, then compensated",
        failed["status"] == "FAILED" && retries == 2,
        format!("{} {} after {retries} retries", failed["status"], failed["error"]),
    );
    let (status, _) = client
        .get(&format!("/order?accountid=commuter-2&vendorid={BROKEN_VENDOR}"))
        .await?;
    r.check(
        "cart slot released by compensation",
        status == 404,
        format!("GET /order → {status}"),
    );

    println!("\n3. Vendor v-harbour's tablet drops off the shop wi-fi as an order completes, then comes back");
    subscribe(client, receiver, "v-harbour", "harbour", r).await?;
    let harbour_till = subscribe(client, receiver, "v-harbour", "harbour-till", r).await?;
    receiver.fail("harbour", true);
    let (_, orderid) = client.order("commuter-3", "v-harbour", "Cortado", "3.60").await?;
    let done = client.wait_done(&orderid).await?;
    r.check("order completed regardless", done["status"] == "SUCCEEDED", "");
    let till = eventually(Duration::from_secs(10), || async {
        !receiver.deliveries("harbour-till").is_empty()
    })
    .await;
    r.check(
        "the shop's other endpoint got the ticket at once",
        till && receiver.deliveries("harbour-till")[0].verify(&harbour_till),
        "",
    );
    let retried = eventually(Duration::from_secs(10), || async { receiver.hits("harbour") >= 2 }).await;
    r.check(
        "the tablet's delivery is retried on the schedule",
        retried,
        format!("{} attempts so far ({DEMO_SCHEDULE})", receiver.hits("harbour")),
    );
    receiver.fail("harbour", false);
    let arrived = eventually(Duration::from_secs(10), || async {
        !receiver.deliveries("harbour").is_empty()
    })
    .await;
    let dlq = format!("{DELIVERY_QUEUE}-dlq");
    let dead = backend.peek(&dlq, 10).await.map(|m| m.len()).unwrap_or(usize::MAX);
    r.check(
        "back online: the ticket arrived with no replay and nothing dead-lettered",
        arrived && receiver.deliveries("harbour").len() == 1 && dead == 0,
        format!("after {} attempts", receiver.hits("harbour")),
    );

    println!("\n4. Vendor v-pier's endpoint stays down past the whole schedule");
    let secret = subscribe(client, receiver, "v-pier", "pier", r).await?;
    receiver.fail("pier", true);
    let (_, orderid) = client.order("commuter-4", "v-pier", "Piccolo", "3.40").await?;
    client.wait_done(&orderid).await?;
    let dead = eventually(Duration::from_secs(20), || async {
        backend.peek(&dlq, 10).await.map(|m| m.len() == 1).unwrap_or(false)
    })
    .await;
    r.check(
        "delivery dead-lettered once the schedule was exhausted",
        dead,
        format!("{} attempts reached the endpoint", receiver.hits("pier")),
    );
    receiver.fail("pier", false);
    let report = backend
        .replay(&ReplayRequest::redrive(dlq.clone()), &Quiet)
        .await
        .map_err(CliError::from)?;
    r.check(
        "replay moved the message back",
        report.moved == 1,
        format!("moved {} skipped {}", report.moved, report.skipped),
    );
    let delivered = eventually(Duration::from_secs(10), || async {
        !receiver.deliveries("pier").is_empty()
    })
    .await;
    let again = backend
        .replay(&ReplayRequest::redrive(dlq), &Quiet)
        .await
        .map_err(CliError::from)?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let tickets = receiver.deliveries("pier");
    r.check(
        "delivered exactly once after replay",
        delivered && again.moved == 0 && tickets.len() == 1 && tickets[0].verify(&secret),
        format!("{} ticket(s)", tickets.len()),
    );
    Ok(())
}
