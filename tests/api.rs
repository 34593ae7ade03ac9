//! The local HTTP API, driven over real HTTP against an in-process runtime on a random port.

mod support;

use serde_json::{Value, json};
use skipline::api::{ApiState, serve};
use skipline::backend::local::LocalBackend;
use skipline::local::runtime::{Overrides, Runtime, RuntimeConfig};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

struct Server {
    _dir: tempfile::TempDir,
    runtime: Arc<Runtime>,
    base: String,
    http: reqwest::Client,
}

/// The API on a loopback port, open and unthrottled, over `runtime`; its base URL.
async fn serve_api(runtime: &Arc<Runtime>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = ApiState::in_process(Arc::new(LocalBackend::new(runtime.clone())), false);
    tokio::spawn(serve(listener, state, std::future::pending()));
    base
}

async fn start_with(state_machine: Option<&str>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RuntimeConfig::new(dir.path().join("data"));
    if let Some(text) = state_machine {
        let path = dir.path().join("variant.asl.json");
        std::fs::write(&path, text).unwrap();
        config.state_machine = Some(path);
    }
    config.apply_queue_settings = true;
    let runtime = Runtime::open(config, Overrides::default()).await.unwrap();
    runtime.start_background();
    let base = serve_api(&runtime).await;
    Server {
        _dir: dir,
        runtime,
        base,
        http: reqwest::Client::new(),
    }
}

async fn start() -> Server {
    start_with(None).await
}

impl Server {
    async fn post(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> (u16, Value, Option<String>) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        (status, r.json().await.unwrap_or(Value::Null), location)
    }
    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
    /// One queue's row of `GET /queues`.
    async fn queue(&self, name: &str) -> Value {
        let (code, queues) = self.get("/queues").await;
        assert_eq!(code, 200, "{queues}");
        let found = queues["queues"].as_array().unwrap().iter().find(|q| q["name"] == name);
        found.cloned().unwrap_or_else(|| panic!("no queue {name} in {queues}"))
    }
    async fn done(&self, orderid: &str) -> Value {
        let path = format!("/orders/{orderid}");
        support::until_finished(orderid, || async { self.get(&path).await.1 }).await
    }
    async fn counts(&self) -> (usize, u64) {
        let (_, list) = self.get("/executions?limit=1000").await;
        (
            list["executions"].as_array().unwrap().len(),
            self.runtime.stored_invoices.count().await.unwrap(),
        )
    }
}

/// The seed client's body, as its notebook builds it.
fn seed(account: &str, vendor: &str) -> String {
    json!({"order": {"accountid": account, "vendorid": vendor, "orderdate": "2026-11-25 08:15:00", "city": "Melbourne",
        "details": {"coffeetype": "Cappuccino", "coffeesize": "Medium", "unitprice": "3.5", "quantity": 1},
        "eventtype": ["new_order"]}})
    .to_string()
}

#[tokio::test]
async fn the_seed_clients_requests_work_unchanged() {
    let s = start().await;
    // Hold the cart items, as the seed had no cart cleaner, so the notebook's read finds a0/v0.
    s.runtime.consumers_paused.store(true, Ordering::SeqCst);
    let mut ids = Vec::new();
    for i in 0..5 {
        let (status, v, location) = s.post("/order", &seed(&format!("a{i}"), &format!("v{i}")), &[]).await;
        assert_eq!(status, 202, "{v}");
        assert_eq!(v["status"], "RUNNING");
        assert!(
            v["executionId"]
                .as_str()
                .unwrap()
                .contains(v["orderid"].as_str().unwrap())
        );
        assert_eq!(location.unwrap(), format!("/orders/{}", v["orderid"].as_str().unwrap()));
        ids.push(v["orderid"].as_str().unwrap().to_string());
    }
    for id in &ids {
        assert_eq!(s.done(id).await["status"], "SUCCEEDED");
    }
    let (status, item) = s.get("/order?accountid=a0&vendorid=v0").await;
    assert_eq!(status, 200, "{item}");
    assert_eq!(item["orderid"], ids[0].as_str());
    assert_eq!(item["order"]["details"]["unitprice"], "3.50");
    let key = format!("invoices/a0/v0/{}.json", ids[0]);
    let (status, invoice) = s.get(&format!("/invoice?objectKey={key}")).await;
    assert_eq!(status, 200, "{invoice}");
    assert_eq!(invoice["invoiceKey"], key.as_str());
    assert_eq!(invoice["total"], "3.50");
    let (status, same) = s.get(&format!("/orders/{}/invoice", ids[0])).await;
    assert_eq!((status, same), (200, invoice));
}

#[tokio::test]
async fn order_status_shows_history_and_the_cart_clears() {
    let s = start().await;
    let (_, v, _) = s.post("/order", &seed("acct-h", "v-h"), &[]).await;
    let id = v["orderid"].as_str().unwrap();
    let done = s.done(id).await;
    assert_eq!(done["status"], "SUCCEEDED");
    assert_eq!(done["invoiceKey"], format!("invoices/acct-h/v-h/{id}.json"));
    let entered: Vec<&str> = done["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"].as_str().is_some_and(|t| t.ends_with("StateEntered")))
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(entered, ["PutItem", "PutObject", "PublishCompleted", "OrderCompleted"]);
    for _ in 0..200 {
        if s.get("/order?accountid=acct-h&vendorid=v-h").await.0 == 404 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("cart was not cleared");
}

#[tokio::test]
async fn idempotency_key_returns_the_same_order_or_409() {
    let s = start().await;
    let (status, first, _) = s
        .post("/order", &seed("a-i", "v-i"), &[("Idempotency-Key", "retry-123")])
        .await;
    assert_eq!(status, 202);
    assert_eq!(first["orderid"], "retry-123");
    let (status, again, _) = s
        .post("/order", &seed("a-i", "v-i"), &[("Idempotency-Key", "retry-123")])
        .await;
    assert_eq!(status, 200, "a replay answers 200 with the same order");
    assert_eq!(again["executionId"], first["executionId"]);
    let (status, err, _) = s
        .post("/order", &seed("a-i", "v-other"), &[("Idempotency-Key", "retry-123")])
        .await;
    assert_eq!(status, 409);
    assert_eq!(err["error"]["code"], "Conflict");
    assert_eq!(s.counts().await.0, 1);
}

#[tokio::test]
async fn bad_requests_get_4xx_json_and_write_nothing() {
    let s = start().await;
    let before = s.counts().await;
    let long = "x".repeat(17 * 1024);
    let nested = format!("{}{}", "[".repeat(8_000), "]".repeat(8_000));
    // (path, body, headers, expected status, expected message fragment)
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("/order", "{".into(), vec![], 400, "malformed JSON"),
        ("/order", "[]".into(), vec![], 400, "unexpected shape"),
        ("/order", long, vec![], 413, "larger than 16384"),
        ("/order", nested, vec![], 400, "unexpected shape"),
        ("/order", seed("a/../b", "v0"), vec![], 400, "order.accountid"),
        (
            "/order",
            seed("a0", "v0").replace("Medium", "Bucket"),
            vec![],
            400,
            "coffeesize",
        ),
        (
            "/order",
            seed("a0", "v0").replace("\"city\"", "\"town\""),
            vec![],
            400,
            "unknown field `town`",
        ),
        (
            "/order",
            seed("a0", "v0"),
            vec![("Idempotency-Key", "has space")],
            400,
            "Idempotency-Key",
        ),
        ("/order?x=1", seed("a0", "v0"), vec![], 400, "unknown query parameter"),
        (
            "/vendors/v0/endpoints",
            r#"{"url":"https://10.0.0.8/hook"}"#.into(),
            vec![],
            400,
            "private address",
        ),
        (
            "/vendors/v0/endpoints",
            r#"{"url":"https://169.254.169.254/"}"#.into(),
            vec![],
            400,
            "link-local",
        ),
        (
            "/vendors/v0/endpoints",
            r#"{"url":"http://example.com/"}"#.into(),
            vec![],
            400,
            "https://",
        ),
        (
            "/vendors/v%2F0/endpoints",
            r#"{"url":"https://example.com/"}"#.into(),
            vec![],
            400,
            "vendorid",
        ),
    ];
    for (path, body, headers, status, needle) in cases {
        let (got, v, _) = s.post(path, &body, &headers).await;
        assert_eq!(got, status, "{path}: {v}");
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(needle),
            "{path}: {message:?} should mention {needle:?}"
        );
    }
    let r = s
        .http
        .post(format!("{}/order", s.base))
        .header("content-type", "text/plain")
        .body(seed("a0", "v0"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    for (path, status) in [
        ("/order", 400),
        ("/order?accountid=a0", 400),
        ("/order?accountid=a0&vendorid=v0&extra=1", 400),
        ("/order?accountid=%00&vendorid=v0", 400),
        ("/order?accountid=a0&vendorid=v0", 404),
        ("/invoice", 400),
        ("/invoice?objectKey=../../etc/passwd", 400),
        ("/invoice?objectKey=invoices/a0/v0/none.json", 404),
        ("/orders/..%2F..%2Fetc", 400),
        ("/orders/unknown-order", 404),
        ("/orders/unknown-order/invoice", 404),
        ("/executions?status=DONE", 400),
        ("/executions?limit=0", 400),
        ("/nope", 404),
    ] {
        let (got, v) = s.get(path).await;
        assert_eq!(got, status, "{path}: {v}");
        assert!(
            v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{path}: {v}"
        );
    }
    let r = s.http.delete(format!("{}/order", s.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(s.counts().await, before, "nothing was written");
    let (_, endpoints) = s.get("/vendors/v0/endpoints").await;
    assert_eq!(endpoints["endpoints"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn vendors_subscribe_list_and_unsubscribe_over_http() {
    let s = start().await;
    let (status, v, _) = s
        .post(
            "/vendors/v9/endpoints",
            r#"{"url":"https://shop.example.com/hook"}"#,
            &[],
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let secret = v["secret"].as_str().unwrap();
    let (_, list) = s.get("/vendors/v9/endpoints").await;
    let listed = &list["endpoints"][0];
    assert_eq!(listed["url"], "https://shop.example.com/hook");
    assert_ne!(listed["secret"], secret, "secrets are shown once, then redacted");
    let id = v["endpointid"].as_str().unwrap();
    // Removing it twice: gone, then not found.
    for expected in [204, 404] {
        let r = s
            .http
            .delete(format!("{}/vendors/v9/endpoints/{id}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), expected);
    }
}

/// The state-machine file is the only description of the flow: a variant file changes what runs.
#[tokio::test]
async fn a_variant_state_machine_changes_the_flow() {
    let original: Value = serde_json::from_str(skipline::local::runtime::EMBEDDED_STATE_MACHINE).unwrap();
    let mut variant = original.clone();
    // Rejections now end in a Fail state with another name, without publishing.
    variant["States"]["PutItem"]["Catch"][0]["Next"] = json!("CartBusy");
    variant["States"]["CartBusy"] = json!({"Type": "Fail", "Error": "CartBusy", "Cause": "variant file"});
    let s = start_with(Some(&variant.to_string())).await;
    s.runtime.consumers_paused.store(true, Ordering::SeqCst);
    let (_, first, _) = s.post("/order", &seed("a-v", "v-v"), &[]).await;
    assert_eq!(s.done(first["orderid"].as_str().unwrap()).await["status"], "SUCCEEDED");
    let (_, second, _) = s.post("/order", &seed("a-v", "v-v"), &[]).await;
    let done = s.done(second["orderid"].as_str().unwrap()).await;
    assert_eq!(done["error"], "CartBusy", "{done}");

    // And the original file, for contrast, names the rejection ActiveOrderExists.
    let s = start().await;
    s.runtime.consumers_paused.store(true, Ordering::SeqCst);
    let (_, first, _) = s.post("/order", &seed("a-v", "v-v"), &[]).await;
    s.done(first["orderid"].as_str().unwrap()).await;
    let (_, second, _) = s.post("/order", &seed("a-v", "v-v"), &[]).await;
    assert_eq!(
        s.done(second["orderid"].as_str().unwrap()).await["error"],
        "ActiveOrderExists"
    );
}

/// The definition's top-level `TimeoutSeconds` ends an execution that outlasts it, as AWS
/// does: `States.Timeout`, listed with the failed ones, and no later state runs.
#[tokio::test]
async fn an_execution_that_outlasts_the_definitions_timeout_seconds_times_out() {
    let mut variant: Value = serde_json::from_str(skipline::local::runtime::EMBEDDED_STATE_MACHINE).unwrap();
    variant["TimeoutSeconds"] = json!(1);
    variant["States"]["PutItem"]["Next"] = json!("Linger");
    variant["States"]["Linger"] = json!({"Type": "Wait", "Seconds": 30, "Next": "PutObject"});
    let s = start_with(Some(&variant.to_string())).await;
    let (_, placed, _) = s.post("/order", &seed("a-t", "v-t"), &[]).await;
    let done = s.done(placed["orderid"].as_str().unwrap()).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    assert_eq!(done["error"], "States.Timeout", "{done}");
    assert_eq!(done["cause"], "the execution did not finish within 1 seconds", "{done}");
    let types: Vec<&str> = done["history"]
        .as_array()
        .map(|h| h.iter().filter_map(|e| e["type"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(types.last(), Some(&"ExecutionTimedOut"), "{types:?}");
    assert!(!types.contains(&"WaitStateExited"), "{types:?}");
    let (_, failed) = s.get("/executions?status=FAILED").await;
    let listed = failed["executions"].as_array().map_or(0, |l| l.len());
    assert_eq!(listed, 1, "{failed}");
}

#[tokio::test]
async fn an_unsupported_state_machine_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("map.asl.json");
    std::fs::write(
        &path,
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}}"#,
    )
    .unwrap();
    let mut config = RuntimeConfig::new(dir.path().join("data"));
    config.state_machine = Some(path);
    let err = Runtime::open(config, Overrides::default())
        .await
        .err()
        .expect("must be refused");
    let message = err.to_string();
    assert!(message.contains("a DISTRIBUTED Map"), "{message}");
}

#[tokio::test]
async fn readyz_answers_once_the_consumers_run_and_the_database_takes_writes() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::open(RuntimeConfig::new(dir.path().join("data")), Overrides::default())
        .await
        .unwrap();
    let base = serve_api(&runtime).await;
    let http = reqwest::Client::new();
    let readyz = || async {
        let r = http.get(format!("{base}/readyz")).send().await.unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    // Open but not started: live, not ready, and it says why.
    let (code, body) = readyz().await;
    assert_eq!(code, 503, "{body}");
    assert!(body["reason"].as_str().unwrap().contains("has not started"), "{body}");
    let live = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(live.status().as_u16(), 200);

    runtime.start_background();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (code, body) = readyz().await;
        if code == 200 {
            assert_eq!(body, json!({"status": "ready"}), "no data in it");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never ready: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (code, body) = {
        let r = http.get(format!("{base}/readyz?verbose=1")).send().await.unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(code, 400, "{body}");
    runtime.stop();
}

#[tokio::test]
async fn the_admin_routes_do_what_the_cli_does() {
    let s = start().await;
    s.runtime.queues.create("audit", &Default::default()).await.unwrap();
    let (code, sub, _) = s
        .post(
            "/topic/subscriptions",
            r#"{"protocol":"sqs","endpoint":"audit","raw":true,"filterPolicy":{"eventtype":["OrderCompleted"]}}"#,
            &[],
        )
        .await;
    assert_eq!(code, 201, "{sub}");
    assert_eq!(sub["endpoint"], "audit");
    let (code, again, _) = s
        .post("/topic/subscriptions", r#"{"protocol":"sqs","endpoint":"audit"}"#, &[])
        .await;
    assert_eq!(code, 409, "{again}");
    let (code, subs) = s.get("/topic/subscriptions").await;
    assert_eq!(code, 200);
    assert!(
        subs["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["endpoint"] == "audit")
    );

    let (code, placed, _) = s.post("/order", &seed("acct-admin", "v0"), &[]).await;
    assert_eq!(code, 202, "{placed}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let messages = loop {
        let (code, m) = s.get("/queues/audit/messages?max=5").await;
        assert_eq!(code, 200, "{m}");
        if !m["messages"].as_array().unwrap().is_empty() {
            break m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the completion never reached audit"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        messages["messages"][0]["body"]
            .as_str()
            .unwrap()
            .contains("OrderCompleted")
    );
    let audit = s.queue("audit").await;
    assert_eq!(audit["visible"], 1, "peeking receives nothing: {audit}");
    let (code, report, _) = s
        .post("/queues/audit/replay", r#"{"to":"clear-cart-dlq","dryRun":true}"#, &[])
        .await;
    assert_eq!(code, 200, "{report}");
    assert_eq!(
        (report["moved"].as_u64(), report["dryRun"].as_bool()),
        (Some(1), Some(true)),
        "{report}"
    );
    let audit = s.queue("audit").await;
    assert_eq!(audit["visible"], 1, "a dry run moves nothing: {audit}");
}
