//! Backend-agnostic scenarios. Each asserts what a user of Skip the Line can rely on.

use super::{Harness, eventually, order_body, unique};
use skipline::backend::{
    BackendError, ExecStatus, NewSubscription, OrderStatus, Protocol, Quiet, ReplayRequest, requests,
};
use skipline_engine::filter::{FilterPolicy, FilterScope};
use skipline_handlers::ports::{AttemptOutcome, VendorEndpoint};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// Asserts the execution failed with `error`.
fn assert_failed(h: &dyn Harness, status: &OrderStatus, error: &str) {
    let got = (status.status, status.error.as_deref());
    assert_eq!(got, (ExecStatus::Failed, Some(error)), "[{}] {status:?}", h.name());
}

/// A fresh account and vendor, the vendor subscribed (with a generated secret) at the
/// receiver's fresh path `{hook}-…`: (account, vendor, path, endpoint, secret generated).
async fn fresh_vendor(h: &dyn Harness, hook: &str) -> (String, String, String, VendorEndpoint, bool) {
    let (account, vendor, path) = (unique("acct"), unique("v"), unique(hook));
    let url = h.receiver().url(&path);
    let (endpoint, generated) = h.backend().subscribe_vendor(&vendor, &url, None, true).await.unwrap();
    (account, vendor, path, endpoint, generated)
}

/// An order completes: cart item, invoice, one signed ticket, cart cleared.
pub async fn happy_path(h: &dyn Harness) {
    let b = h.backend();
    let (account, vendor, path, endpoint, generated) = fresh_vendor(h, "hook").await;
    assert!(
        generated && endpoint.secret.starts_with("whsec_"),
        "[{}] secret generated",
        h.name()
    );

    let placed = b.place_order(&order_body(&account, &vendor), None).await.unwrap();
    assert!(placed.created);
    let status = h.settle(&placed.orderid).await;
    assert_eq!(status.status, ExecStatus::Succeeded, "[{}] {status:?}", h.name());
    let key = status.invoice_key.clone().expect("invoice key in the output");
    assert_eq!(key, format!("invoices/{account}/{vendor}/{}.json", placed.orderid));
    let invoice = b.invoice(&key).await.unwrap();
    assert_eq!(invoice["total"], "9.00");
    assert_eq!(invoice["orderid"], placed.orderid.as_str());
    // One contract per invoice route on both backends: by order id alone, and by the original
    // sample's {year}/{month}/{accountid}, through the index written with the invoice.
    assert_eq!(
        b.order_invoice(&placed.orderid).await.unwrap(),
        invoice,
        "[{}]",
        h.name()
    );
    let latest = b.invoice(&format!("2026/11/{account}")).await.unwrap();
    assert_eq!(latest, invoice, "[{}] the month's latest", h.name());
    assert!(
        matches!(
            b.invoice(&format!("2026/10/{account}")).await,
            Err(BackendError::NotFound(_))
        ),
        "[{}] a month without invoices is not found",
        h.name()
    );

    assert!(
        eventually(WAIT, || async { !h.receiver().deliveries(&path).is_empty() }).await,
        "[{}] ticket delivered",
        h.name()
    );
    assert!(
        eventually(WAIT, || async {
            b.cart_item(&account, &vendor).await.unwrap().is_none()
        })
        .await,
        "[{}] cart cleared",
        h.name()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let tickets = h.receiver().deliveries(&path);
    assert_eq!(tickets.len(), 1, "[{}] exactly one ticket", h.name());
    let official = super::official::verify(&endpoint.secret, &tickets[0].headers, &tickets[0].body);
    assert_eq!(
        official,
        Ok(()),
        "[{}] the official Standard Webhooks library verifies it",
        h.name()
    );
    assert!(tickets[0].verify(&endpoint.secret), "[{}] and so does ours", h.name());
    assert_eq!(tickets[0].eventid, format!("{}.OrderCompleted", placed.orderid));
    let payload: serde_json::Value = serde_json::from_slice(&tickets[0].body).unwrap();
    assert_eq!(payload["type"], "order.completed");
    let ticket = &payload["data"];
    assert_eq!(ticket["total"], "9.00");
    assert_eq!(ticket["items"][0]["quantity"], 2);
}

/// A second order while the first holds the (account, vendor) slot is rejected with a name
/// the state machine's Catch matched, and an OrderRejected event reaches a filtered subscription.
pub async fn duplicate_active_order_is_rejected(h: &dyn Harness) {
    let b = h.backend();
    let (account, vendor) = (unique("acct"), unique("v"));
    // Holding the consumers keeps the first order in the cart, as a slow cart cleaner would.
    h.pause_consumers(true).await;
    let first = b.place_order(&order_body(&account, &vendor), None).await.unwrap();
    assert_eq!(h.settle(&first.orderid).await.status, ExecStatus::Succeeded);
    assert_eq!(
        b.cart_item(&account, &vendor).await.unwrap().unwrap().orderid,
        first.orderid
    );

    let second = b.place_order(&order_body(&account, &vendor), None).await.unwrap();
    let status = h.settle(&second.orderid).await;
    let holder = b.cart_item(&account, &vendor).await.unwrap().map(|c| c.orderid);
    h.pause_consumers(false).await;
    assert_failed(h, &status, "ActiveOrderExists");
    assert_eq!(
        holder,
        Some(first.orderid.clone()),
        "[{}] the first order keeps the slot",
        h.name()
    );
    assert!(matches!(
        b.invoice(&format!("invoices/{account}/{vendor}/{}.json", second.orderid))
            .await,
        Err(BackendError::NotFound(_))
    ));
    assert!(matches!(
        b.order_invoice(&second.orderid).await,
        Err(BackendError::NotFound(_))
    ));
}

/// The same Idempotency-Key with the same body returns the same order; with another body, a conflict.
pub async fn idempotent_place_order(h: &dyn Harness) {
    let b = h.backend();
    let (account, vendor, key) = (unique("acct"), unique("v"), unique("key"));
    let first = b.place_order(&order_body(&account, &vendor), Some(&key)).await.unwrap();
    assert_eq!(first.orderid, key);
    assert!(first.created);
    let again = b.place_order(&order_body(&account, &vendor), Some(&key)).await.unwrap();
    assert_eq!(again.orderid, first.orderid);
    assert_eq!(again.execution_id, first.execution_id);
    assert!(
        !again.created,
        "[{}] the retry must not start a second execution",
        h.name()
    );
    let other = b.place_order(&order_body(&account, &unique("v")), Some(&key)).await;
    assert!(
        matches!(other, Err(BackendError::Conflict(_))),
        "[{}] {other:?}",
        h.name()
    );
    assert_eq!(h.settle(&first.orderid).await.status, ExecStatus::Succeeded);
}

/// Invalid input is refused with a message naming the problem, and nothing is written.
pub async fn invalid_input_writes_nothing(h: &dyn Harness) {
    let b = h.backend();
    let before = b.list_executions(None, 1000).await.unwrap().len();
    let long_key = "k".repeat(65);
    let cases: Vec<(Vec<u8>, Option<&str>, &str)> = vec![
        (b"{".to_vec(), None, "malformed JSON"),
        (b"[]".to_vec(), None, "unexpected shape"),
        (order_body("bad/../id", "v0"), None, "order.accountid"),
        (vec![b' '; 17 * 1024], None, "the limit is 16384"),
        (order_body("a0", "v0"), Some("key with spaces"), "Idempotency-Key"),
        (order_body("a0", "v0"), Some(long_key.as_str()), "Idempotency-Key"),
    ];
    for (body, key, expected) in cases {
        match b.place_order(&body, key).await {
            Err(BackendError::Invalid(m)) => {
                assert!(m.contains(expected), "[{}] {m:?} should mention {expected:?}", h.name())
            }
            other => panic!("[{}] expected Invalid mentioning {expected:?}, got {other:?}", h.name()),
        }
    }
    assert!(matches!(b.cart_item("a/0", "v0").await, Err(BackendError::Invalid(_))));
    assert!(matches!(
        b.invoice("../../etc/passwd").await,
        Err(BackendError::Invalid(_))
    ));
    assert!(matches!(
        b.order_status("../x", false).await,
        Err(BackendError::Invalid(_) | BackendError::NotFound(_))
    ));
    assert!(matches!(
        b.subscribe_vendor("v0", "https://10.0.0.1/hook", None, false).await,
        Err(BackendError::Invalid(_))
    ));
    assert_eq!(
        b.list_executions(None, 1000).await.unwrap().len(),
        before,
        "[{}] nothing started",
        h.name()
    );
}

/// A vendor endpoint that stays down past its (short) schedule: the delivery goes to the DLQ;
/// replay delivers it exactly once.
pub async fn failing_endpoint_dead_letters_then_replays_once(h: &dyn Harness) {
    let b = h.backend();
    let (account, vendor, path, endpoint, _) = fresh_vendor(h, "down").await;
    h.receiver().fail(&path, true);
    let placed = b.place_order(&order_body(&account, &vendor), None).await.unwrap();
    assert_eq!(h.settle(&placed.orderid).await.status, ExecStatus::Succeeded);
    let dlq = h.delivery_dlq();
    let dead = eventually(Duration::from_secs(60), || async {
        b.peek(&dlq, 10)
            .await
            .unwrap()
            .iter()
            .any(|m| m.body.contains(&placed.orderid))
    })
    .await;
    assert!(dead, "[{}] the ticket reached the DLQ", h.name());
    assert!(h.receiver().hits(&path) >= 2, "[{}] delivery was attempted", h.name());
    assert!(h.receiver().deliveries(&path).is_empty());

    h.receiver().fail(&path, false);
    let report = b.replay(&ReplayRequest::redrive(dlq.clone()), &Quiet).await.unwrap();
    assert!(report.moved >= 1, "[{}] {report:?}", h.name());
    assert!(
        eventually(WAIT, || async { !h.receiver().deliveries(&path).is_empty() }).await,
        "[{}] delivered after replay",
        h.name()
    );
    // Replaying the same event again (as a second operator might) must not notify twice.
    let again = b.replay(&ReplayRequest::redrive(dlq), &Quiet).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let tickets = h.receiver().deliveries(&path);
    assert_eq!(
        tickets.len(),
        1,
        "[{}] exactly one delivery (second replay moved {})",
        h.name(),
        again.moved
    );
    assert_eq!(
        super::official::verify(&endpoint.secret, &tickets[0].headers, &tickets[0].body),
        Ok(())
    );
}

/// Every attempt is in the delivery log, and a ticket can be sent again with the same
/// `webhook-id`, on both backends.
pub async fn deliveries_are_logged_and_redelivered(h: &dyn Harness) {
    let b = h.backend();
    let (account, vendor, path, endpoint, _) = fresh_vendor(h, "hook").await;
    let placed = b.place_order(&order_body(&account, &vendor), None).await.unwrap();
    assert_eq!(h.settle(&placed.orderid).await.status, ExecStatus::Succeeded);
    assert!(
        eventually(WAIT, || async { h.receiver().deliveries(&path).len() == 1 }).await,
        "[{}] the ticket arrived",
        h.name()
    );
    let eventid = format!("{}.OrderCompleted", placed.orderid);
    let query = requests::attempt_query(&vendor, None, false, None, None, 10).unwrap();
    // The attempt is logged after the receiver answers, so it can trail the ticket a little.
    assert!(
        eventually(WAIT, || async {
            b.vendor_deliveries(&query).await.is_ok_and(|l| !l.is_empty())
        })
        .await,
        "[{}] the attempt was logged",
        h.name()
    );
    let log = b.vendor_deliveries(&query).await.unwrap();
    assert_eq!(log.len(), 1, "[{}] {log:?}", h.name());
    assert_eq!(
        (
            log[0].eventid.as_str(),
            log[0].endpointid.as_str(),
            log[0].attempt,
            log[0].outcome,
            log[0].status
        ),
        (
            eventid.as_str(),
            endpoint.endpointid.as_str(),
            1,
            AttemptOutcome::Delivered,
            Some(200)
        ),
        "[{}]",
        h.name()
    );
    let failed = requests::attempt_query(&vendor, None, true, None, None, 10).unwrap();
    assert!(b.vendor_deliveries(&failed).await.unwrap().is_empty());

    let by_event = requests::ticket_query(&vendor, None, Some(&eventid), None, None).unwrap();
    let report = b.redeliver(&vendor, None, &by_event).await.unwrap();
    assert_eq!((report.events, report.deliveries), (1, 1), "[{}] {report:?}", h.name());
    assert!(
        eventually(WAIT, || async { h.receiver().deliveries(&path).len() == 2 }).await,
        "[{}] redelivered",
        h.name()
    );
    let tickets = h.receiver().deliveries(&path);
    assert_eq!(
        tickets[0].eventid,
        tickets[1].eventid,
        "[{}] the same webhook-id",
        h.name()
    );
    assert_eq!(tickets[0].body, tickets[1].body, "[{}] the same body", h.name());
    let since = requests::ticket_query(&vendor, None, None, Some("1h"), None).unwrap();
    assert_eq!(b.redeliver(&vendor, None, &since).await.unwrap().events, 1);
    let none = requests::ticket_query(&vendor, None, Some("nope.OrderCompleted"), None, None).unwrap();
    assert!(matches!(
        b.redeliver(&vendor, None, &none).await,
        Err(BackendError::NotFound(_))
    ));
    // Enabling an enabled endpoint changes nothing; an unknown one is not found.
    let enabled = b.enable_vendor_endpoint(&vendor, &endpoint.endpointid).await.unwrap();
    assert!(!enabled.health.is_disabled());
    assert!(matches!(
        b.enable_vendor_endpoint(&vendor, "ep_missing").await,
        Err(BackendError::NotFound(_))
    ));
}

/// An invoice failure after the cart item was written is retried, then compensated.
pub async fn invoice_failure_is_compensated(h: &dyn Harness) {
    let b = h.backend();
    let (account, vendor) = (unique("acct"), unique("vbroken"));
    if !h.break_invoices_for(&vendor).await {
        eprintln!(
            "[{}] harness cannot break invoice writes; scenario not applicable",
            h.name()
        );
        return;
    }
    let placed = b.place_order(&order_body(&account, &vendor), None).await.unwrap();
    let status = h.settle(&placed.orderid).await;
    assert_failed(h, &status, "StoreUnavailable");
    let full = b.order_status(&placed.orderid, true).await.unwrap();
    let kinds: Vec<&str> = full.history.iter().map(|e| e.kind.as_str()).collect();
    let entered: Vec<&str> = full
        .history
        .iter()
        .filter(|e| e.kind.ends_with("StateEntered"))
        .filter_map(|e| e.state.as_deref())
        .collect();
    assert!(
        entered.contains(&"ReleaseCartItem") && entered.contains(&"PublishFailed"),
        "[{}] {entered:?}",
        h.name()
    );
    assert_eq!(
        full.history.iter().filter(|e| e.detail.get("retry").is_some()).count(),
        2,
        "[{}] {kinds:?}",
        h.name()
    );
    assert!(
        b.cart_item(&account, &vendor).await.unwrap().is_none(),
        "[{}] cart released",
        h.name()
    );
}

/// Topic subscriptions honour filter policies: a queue subscribed to rejections sees only those.
pub async fn topic_subscription_filters(h: &dyn Harness, queue: &str) {
    let b = h.backend();
    let text = r#"{"eventtype":["OrderRejected"]}"#.to_string();
    let policy = FilterPolicy::parse(&text, FilterScope::MessageAttributes).unwrap();
    b.topic_subscribe(NewSubscription {
        protocol: Protocol::Sqs,
        endpoint: queue.to_string(),
        filter_policy: Some((text, policy)),
        raw: true,
    })
    .await
    .unwrap();
    assert!(
        b.topic_subscriptions()
            .await
            .unwrap()
            .iter()
            .any(|s| s.endpoint.ends_with(queue))
    );
    let (account, vendor) = (unique("acct"), unique("v"));
    h.pause_consumers(true).await;
    let first = b.place_order(&order_body(&account, &vendor), None).await.unwrap();
    h.settle(&first.orderid).await;
    let second = b.place_order(&order_body(&account, &vendor), None).await.unwrap();
    assert_eq!(
        h.settle(&second.orderid).await.error.as_deref(),
        Some("ActiveOrderExists")
    );
    h.pause_consumers(false).await;
    let seen = eventually(WAIT, || async { !b.peek(queue, 10).await.unwrap().is_empty() }).await;
    assert!(seen, "[{}] the rejection reached the filtered queue", h.name());
    let messages = b.peek(queue, 10).await.unwrap();
    assert_eq!(
        messages.len(),
        1,
        "[{}] only the rejection, not the completion",
        h.name()
    );
    let event: serde_json::Value = serde_json::from_str(&messages[0].body).unwrap();
    assert_eq!(event["eventtype"], "OrderRejected");
    assert_eq!(event["eventid"], format!("{}.OrderRejected", second.orderid));
    assert_eq!(messages[0].attributes["eventtype"].string_value, "OrderRejected");
    assert_eq!(messages[0].attributes["vendorid"].string_value, vendor);
}
