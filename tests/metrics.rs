//! `GET /metrics` on a real `skipline serve`, parsed by the official Prometheus text parser
//! (Python's `prometheus_client`), with its counters moving as orders complete.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{Mode, Receiver, Serve, http_client, order_body};

/// Every sample, as `name{labels}` → value, from the official parser; panics if it refuses.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let python =
        std::env::var("SKIPLINE_PYTHON").unwrap_or_else(|_| format!("{}/.venv/bin/python", env!("CARGO_MANIFEST_DIR")));
    let mut child = Command::new(&python)
        .arg(format!("{}/tests/support/parse_metrics.py", env!("CARGO_MANIFEST_DIR")))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{python}: {e} (the test command installs prometheus-client into .venv)"));
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client refused the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn scrape(http: &reqwest::Client, base: &str, auth: Option<&str>) -> (u16, String, String) {
    let mut req = http.get(format!("{base}/metrics"));
    if let Some(token) = auth {
        req = req.bearer_auth(token);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

fn value(samples: &BTreeMap<String, f64>, key: &str) -> f64 {
    samples.get(key).copied().unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_move_as_orders_complete() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = support::token(&data, "prom", &["admin"]);
    let shop = support::token(&data, "shop", &["orders:write"]);
    let server = Serve::start(
        &data,
        &["--allow-private-endpoints", "--delivery-schedule", "200ms"],
        &dir.path().join("serve.log"),
    );
    let base = server.base.clone();
    let http = http_client();
    let receiver = Receiver::start().await;

    // Admin only; the wrong scope is refused.
    assert_eq!(scrape(&http, &base, None).await.0, 401);
    assert_eq!(scrape(&http, &base, Some(&shop)).await.0, 403);
    let (code, content_type, before) = scrape(&http, &base, Some(&token)).await;
    assert_eq!(code, 200, "{before}");
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let before = parse(&before);
    assert_eq!(value(&before, "skipline_orders_total{outcome=\"succeeded\"}"), 0.0);
    assert_eq!(
        value(
            &before,
            "skipline_queue_messages{queue=\"deliveries\",state=\"visible\"}"
        ),
        0.0
    );

    // Subscribing needs admin; placing needs orders:write.
    for (vendor, path) in [("v-ok", "ok"), ("v-down", "down")] {
        let sub = http
            .post(format!("{base}/vendors/{vendor}/endpoints"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"url": receiver.url(path)}))
            .send()
            .await
            .unwrap();
        assert_eq!(sub.status().as_u16(), 201, "subscribing {vendor}");
    }
    receiver.set_mode("down", Mode::Fail);
    let orders = [("a1", "v-ok"), ("a2", "v-ok"), ("a3", "v-down")];
    for (account, vendor) in orders {
        let r = http
            .post(format!("{base}/order"))
            .bearer_auth(&shop)
            .json(&order_body(account, vendor))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 202);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let after = loop {
        let samples = parse(&scrape(&http, &base, Some(&token)).await.2);
        let done = value(&samples, "skipline_orders_total{outcome=\"succeeded\"}") >= 3.0
            && value(&samples, "skipline_queue_dlq_messages{queue=\"deliveries\"}") >= 1.0;
        if done {
            break samples;
        }
        assert!(Instant::now() < deadline, "the counters never moved: {samples:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(value(&after, "skipline_orders_total{outcome=\"succeeded\"}"), 3.0);
    assert_eq!(
        value(&after, "skipline_order_duration_seconds_count{outcome=\"succeeded\"}"),
        3.0
    );
    assert!(value(&after, "skipline_order_duration_seconds_sum{outcome=\"succeeded\"}") > 0.0);
    assert_eq!(
        value(&after, "skipline_webhook_deliveries_total{outcome=\"delivered\"}"),
        2.0
    );
    assert_eq!(
        value(&after, "skipline_webhook_deliveries_total{outcome=\"failed\"}"),
        1.0
    );
    assert_eq!(
        value(&after, "skipline_webhook_deliveries_total{outcome=\"exhausted\"}"),
        1.0
    );
    assert_eq!(value(&after, "skipline_webhook_delivery_duration_seconds_count"), 4.0);
    assert!(value(&after, "skipline_state_duration_seconds_count{state=\"PutItem\"}") >= 3.0);
    assert!(value(&after, "skipline_db_commit_seconds_count") > 0.0);
    assert!(value(&after, "skipline_db_group_commit_writes_count") > 0.0);
    assert!(value(&after, "skipline_db_group_commit_writes_bucket{le=\"+Inf\"}") > 0.0);
    assert_eq!(value(&after, "skipline_queue_dlq_messages{queue=\"deliveries\"}"), 1.0);
    assert_eq!(
        value(
            &after,
            "skipline_queue_messages{queue=\"deliveries-dlq\",state=\"visible\"}"
        ),
        1.0
    );
    assert!(receiver.accepted().len() == 2);
}
