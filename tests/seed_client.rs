//! The original sample's notebook, request for request, against `skipline serve` over HTTP
//! with only the host changed: `POST /prod/order` six times (every one of its sizes, x-Large
//! included), `GET /prod/order?accountid=a0&vendorid=v0`, and
//! `GET /prod/invoice?objectKey={year}/{month}/a0`.
//!
//! Where we differ on purpose, the test asserts our documented behaviour (README, "Coming from
//! the original sample"): a completed order's cart item is cleared, so `GET /order` answers 404;
//! `/invoice` answers with the invoice itself rather than a presigned URL.

#[path = "support/mod.rs"]
mod support;

#[path = "support/notebook.rs"]
mod notebook;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::{Serve, get, http_client};

async fn settle(http: &reqwest::Client, base: &str, orderid: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, status) = get(http, &format!("{base}{}/orders/{orderid}", notebook::STAGE))
            .await
            .unwrap();
        if status["status"] != "RUNNING" || Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_notebooks_requests_succeed_against_skipline_serve() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&dir.path().join("data"), &[], &dir.path().join("serve.log"));
    let http = http_client();
    let base = format!("{}{}", serve.base, notebook::STAGE);
    let now = jiff::Zoned::now().datetime();
    let orders = notebook::orders(now);

    let mut ids = Vec::new();
    for order in &orders {
        // The notebook posts with requests' `json=`, so the body is JSON with that content type.
        let r = http
            .post(format!("{base}/order"))
            .json(&order.body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, 202, "{} {}: {v}", order.accountid, order.size);
        ids.push(v["orderid"].as_str().unwrap().to_string());
    }
    for (order, id) in orders.iter().zip(&ids) {
        let status = settle(&http, &serve.base, id).await;
        assert_eq!(
            status["status"], "SUCCEEDED",
            "{} {}: {status}",
            order.accountid, order.size
        );
    }

    // Deliberate difference: the choreography clears a completed order's cart item.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (status, body) = loop {
        let (status, body) = get(&http, &format!("{base}/order?accountid=a0&vendorid=v0"))
            .await
            .unwrap();
        if status == 404 || Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status, 404, "a completed order's cart item is cleared: {body}");
    assert_eq!(body["error"]["code"], "NotFound");

    // The notebook's invoice key, month not zero-padded: the account's latest invoice that month.
    let key = notebook::invoice_key(now, "a0");
    let (status, invoice) = get(&http, &format!("{base}/invoice?objectKey={key}")).await.unwrap();
    assert_eq!(status, 200, "{key}: {invoice}");
    assert_eq!(invoice["orderid"], ids[0].as_str());
    assert_eq!(invoice["total"], notebook::total(&orders[0]).as_str());
    let (status, by_order) = get(&http, &format!("{base}/orders/{}/invoice", ids[0])).await.unwrap();
    assert_eq!((status, &by_order), (200, &invoice));

    // x-Large went all the way through to the invoice line.
    let key = notebook::xlarge_invoice_key(now, &orders);
    let (status, invoice) = get(&http, &format!("{base}/invoice?objectKey={key}")).await.unwrap();
    notebook::assert_xlarge_line(status, &invoice);

    // The same routes answer without the stage, too.
    let (status, _) = get(&http, &format!("{}/invoice?objectKey={key}", serve.base))
        .await
        .unwrap();
    assert_eq!(status, 200);
    // A key in neither form names both; a well-formed key with no invoice is a 404.
    let (status, e) = get(&http, &format!("{base}/invoice?objectKey=2026-12-a0"))
        .await
        .unwrap();
    assert_eq!(status, 400, "{e}");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("invoices/{accountid}") && message.contains("{year}/{month}/{accountid}"),
        "{message}"
    );
    let (status, e) = get(&http, &format!("{base}/invoice?objectKey=1999/1/a0"))
        .await
        .unwrap();
    assert_eq!(status, 404, "{e}");
}
