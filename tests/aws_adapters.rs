//! The AWS adapters, task invoker and event-source driver against a real moto server.
//!
//! Each test starts its own moto (about half a second) so tests are independent and can run
//! in parallel. Where moto differs from AWS, the comment at the assertion says so.

#[path = "support/moto.rs"]
mod moto;
#[path = "support/official.rs"]
mod official;

use moto::{Flow, Moto, Stack, StackOptions, cart_item, order_input};
use serde_json::json;
use skipline::receiver::WebhookReceiver;
use skipline_aws::S3Invoices;
use skipline_aws::aws_sdk_dynamodb::types::AttributeValue;
use skipline_engine::asl::{HistoryEvent, Outcome, TaskInvoker};
use skipline_handlers::ports::{
    Attempt, AttemptOutcome, AttemptQuery, CartStore, DeliveryLog, Health, InvoiceStore, PutBlobOutcome,
    PutCartOutcome, ReleaseOutcome, StoreError, TicketQuery, VendorDirectory, VendorEndpoint,
};
use skipline_handlers::tasks::DYNAMODB_DELETE_ITEM;
use std::time::Duration;

async fn stack(moto: &Moto) -> Stack {
    Stack::create(&moto.clients(), "", StackOptions::default()).await
}

/// A moto server (kept running while the first value lives), the stack, and the flow on it.
async fn flow() -> (Moto, Stack, Flow) {
    let moto = Moto::start().await;
    let stack = stack(&moto).await;
    let flow = Flow::new(stack.clone()).await;
    (moto, stack, flow)
}

/// Asserts the consumers' queues are empty: one more poll each receives nothing.
async fn assert_consumers_drained(flow: &Flow) {
    let received = (flow.notify_once().await.received, flow.clear_once().await.received);
    assert_eq!(received, (0, 0), "(notify-vendor, clear-cart)");
}

#[tokio::test]
async fn cart_put_is_conditional_and_release_checks_the_holder() {
    let moto = Moto::start().await;
    let stack = stack(&moto).await;
    let cart = stack.cart();

    assert_eq!(
        cart.put_if_free(&cart_item("a0", "v0", "o1")).await.unwrap(),
        PutCartOutcome::Created
    );
    assert_eq!(
        cart.put_if_free(&cart_item("a0", "v0", "o1")).await.unwrap(),
        PutCartOutcome::AlreadyThisOrder
    );
    assert_eq!(
        cart.put_if_free(&cart_item("a0", "v0", "o2")).await.unwrap(),
        PutCartOutcome::HeldBy { orderid: "o1".into() }
    );
    // Another vendor is another slot.
    assert_eq!(
        cart.put_if_free(&cart_item("a0", "v1", "o3")).await.unwrap(),
        PutCartOutcome::Created
    );

    let stored = cart.get("a0", "v0").await.unwrap().expect("stored");
    assert_eq!(
        stored,
        cart_item("a0", "v0", "o1"),
        "the item round-trips through serde_dynamo"
    );
    assert_eq!(cart.get("a0", "v9").await.unwrap(), None);

    assert_eq!(
        cart.release("a0", "v0", "o2").await.unwrap(),
        ReleaseOutcome::HeldBy { orderid: "o1".into() }
    );
    assert!(
        cart.get("a0", "v0").await.unwrap().is_some(),
        "a newer order is never released"
    );
    assert_eq!(cart.release("a0", "v0", "o1").await.unwrap(), ReleaseOutcome::Released);
    assert_eq!(cart.release("a0", "v0", "o1").await.unwrap(), ReleaseOutcome::Missing);
    assert_eq!(
        cart.put_if_free(&cart_item("a0", "v0", "o2")).await.unwrap(),
        PutCartOutcome::Created
    );
}

#[tokio::test]
async fn sdk_failures_are_store_unavailable_with_the_service_code() {
    let moto = Moto::start().await;
    let clients = moto.clients();
    let cart = skipline_aws::DynamoCart::new(clients.dynamodb.clone(), "no-such-table");
    match cart.get("a0", "v0").await {
        Err(StoreError::Unavailable(m)) => assert!(m.contains("ResourceNotFoundException"), "{m}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let invoices = S3Invoices::new(clients.s3.clone(), "no-such-bucket");
    match invoices.put_new("invoices/a/v/o.json", b"{}").await {
        Err(StoreError::Unavailable(m)) => assert!(m.contains("NoSuchBucket"), "{m}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn invoices_are_written_once_and_can_be_presigned() {
    let moto = Moto::start().await;
    let stack = stack(&moto).await;
    let invoices = stack.invoices();
    let key = "invoices/a0/v0/o1.json";

    assert_eq!(
        invoices.put_new(key, b"{\"n\":1}").await.unwrap(),
        PutBlobOutcome::Created
    );
    // If-None-Match: * → 412 on the second write; the first body stays.
    assert_eq!(
        invoices.put_new(key, b"{\"n\":2}").await.unwrap(),
        PutBlobOutcome::AlreadyExists
    );
    assert_eq!(invoices.get(key).await.unwrap().as_deref(), Some(&b"{\"n\":1}"[..]));
    assert_eq!(invoices.get("invoices/a0/v0/missing.json").await.unwrap(), None);

    let url = invoices.presigned_get(key, Duration::from_secs(60)).await.unwrap();
    assert!(
        url.starts_with(&moto.endpoint) && url.contains("X-Amz-Signature"),
        "{url}"
    );
    let body = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    assert_eq!(&body[..], b"{\"n\":1}");
}

#[tokio::test]
async fn vendor_directory_and_delivery_log() {
    let moto = Moto::start().await;
    let stack = stack(&moto).await;
    let dir = stack.directory();
    let endpoint = |v: &str, e: &str| VendorEndpoint {
        vendorid: v.into(),
        endpointid: e.into(),
        url: format!("https://{v}.example.com/{e}"),
        secret: format!("whsec_{e}"),
        created_at: "2026-11-25T08:00:00Z".into(),
        signing: skipline_handlers::ports::Signing::Standard,
        previous_secret: None,
        previous_until: None,
        health: Health::default(),
    };
    for (v, e) in [("v1", "ep_b"), ("v0", "ep_z"), ("v0", "ep_a")] {
        dir.add(&endpoint(v, e)).await.unwrap();
    }
    let v0: Vec<String> = dir
        .list(Some("v0"))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.endpointid)
        .collect();
    assert_eq!(v0, ["ep_a", "ep_z"]);
    let all: Vec<(String, String)> = dir
        .list(None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.vendorid, e.endpointid))
        .collect();
    assert_eq!(
        all,
        [
            ("v0".into(), "ep_a".into()),
            ("v0".into(), "ep_z".into()),
            ("v1".into(), "ep_b".into())
        ]
    );
    assert_eq!(dir.list(Some("v0")).await.unwrap()[0], endpoint("v0", "ep_a"));
    assert!(dir.remove("v0", "ep_a").await.unwrap());
    assert!(!dir.remove("v0", "ep_a").await.unwrap());
    assert_eq!(dir.list(Some("v0")).await.unwrap().len(), 1);

    // A rotation writes over the stored endpoint, and never resurrects a removed one.
    let until: jiff::Timestamp = "2026-12-05T08:00:00Z".parse().unwrap();
    let rotated = VendorEndpoint {
        secret: "whsec_new".into(),
        previous_secret: Some("whsec_ep_z".into()),
        previous_until: Some(until),
        ..endpoint("v0", "ep_z")
    };
    assert!(dir.replace(&rotated).await.unwrap());
    assert_eq!(dir.list(Some("v0")).await.unwrap(), vec![rotated]);
    assert!(!dir.replace(&endpoint("v0", "ep_a")).await.unwrap());
    assert_eq!(dir.list(Some("v0")).await.unwrap().len(), 1, "ep_a stays removed");
    // An item written before Standard Webhooks (no `signing`) reads as legacy.
    let legacy = [
        ("vendorid", "v9"),
        ("endpointid", "ep_old"),
        ("url", "https://v9.example.com/"),
        ("secret", "whsec_old"),
        ("createdAt", "2026-11-01T00:00:00Z"),
    ];
    let legacy = legacy.map(|(name, value)| (name.to_string(), AttributeValue::S(value.into())));
    stack
        .clients
        .dynamodb
        .put_item()
        .table_name(&stack.vendor_table)
        .set_item(Some(legacy.into()))
        .send()
        .await
        .unwrap();
    let old = dir.list(Some("v9")).await.unwrap().remove(0);
    assert_eq!(old.signing, skipline_handlers::ports::Signing::Legacy);
    assert_eq!((old.previous_secret, old.previous_until), (None, None));

    // Health is written alone (UpdateItem), and only to an endpoint that exists.
    let failing: jiff::Timestamp = "2026-12-04T08:00:00Z".parse().unwrap();
    let health = Health {
        failing_since: Some(failing),
        disabled_at: Some(failing),
        disabled_reason: Some("answered 410 Gone".into()),
    };
    assert!(dir.set_health("v0", "ep_z", &health).await.unwrap());
    let got = dir.get("v0", "ep_z").await.unwrap().unwrap();
    assert_eq!((got.health, got.secret), (health, "whsec_new".to_string()));
    assert!(dir.set_health("v0", "ep_z", &Health::default()).await.unwrap());
    assert_eq!(dir.get("v0", "ep_z").await.unwrap().unwrap().health, Health::default());
    assert!(!dir.set_health("v0", "ep_gone", &Health::default()).await.unwrap());
    assert_eq!(dir.get("v0", "ep_gone").await.unwrap(), None);

    let log = stack.deliveries();
    assert!(!log.was_delivered("o1.OrderCompleted", "ep_z").await.unwrap());
    let attempt = |n: u32, outcome: AttemptOutcome, at: &str| Attempt {
        eventid: "o1.OrderCompleted".into(),
        vendorid: "v0".into(),
        endpointid: "ep_z".into(),
        attempt: n,
        at: at.parse().unwrap(),
        status: Some(if outcome == AttemptOutcome::Delivered { 200 } else { 503 }),
        error: None,
        latency_ms: 12,
        outcome,
        next_attempt_at: None,
        redelivery: false,
    };
    let first = attempt(1, AttemptOutcome::Failed, "2026-12-04T08:00:00Z");
    let second = attempt(2, AttemptOutcome::Delivered, "2026-12-04T08:00:05Z");
    log.record_attempt(&first).await.unwrap();
    assert!(!log.was_delivered("o1.OrderCompleted", "ep_z").await.unwrap());
    log.record_attempt(&second).await.unwrap();
    assert!(log.was_delivered("o1.OrderCompleted", "ep_z").await.unwrap());
    assert!(!log.was_delivered("o1.OrderCompleted", "ep_other").await.unwrap());
    let query = |failed_only: bool, since: Option<&str>| AttemptQuery {
        vendorid: "v0".into(),
        failed_only,
        since: since.map(|t| t.parse().unwrap()),
        limit: 10,
        ..AttemptQuery::default()
    };
    assert_eq!(
        log.attempts(&query(false, None)).await.unwrap(),
        [second.clone(), first.clone()],
        "newest first"
    );
    assert_eq!(
        log.attempts(&query(true, None)).await.unwrap(),
        std::slice::from_ref(&first)
    );
    assert_eq!(
        log.attempts(&query(false, Some("2026-12-04T08:00:01Z"))).await.unwrap(),
        [second]
    );
    let other_vendor = AttemptQuery {
        vendorid: "v1".into(),
        limit: 10,
        ..AttemptQuery::default()
    };
    assert!(log.attempts(&other_vendor).await.unwrap().is_empty());

    let raw = stack
        .clients
        .dynamodb
        .get_item()
        .table_name(&stack.delivery_table)
        .key("eventid", AttributeValue::S("o1.OrderCompleted".into()))
        .key("endpointid", AttributeValue::S("ep_z".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let AttributeValue::N(expires) = &raw["expiresAt"] else {
        panic!("expiresAt must be a number for TTL: {raw:?}")
    };
    let in_days = (expires.parse::<i64>().unwrap() - jiff::Timestamp::now().as_second()) as f64 / 86_400.0;
    assert!((13.9..=14.1).contains(&in_days), "expires in {in_days} days");
}

#[tokio::test]
async fn invoker_delete_item_is_conditional_and_named_like_step_functions() {
    let (_moto, stack, flow) = flow().await;
    stack.cart().put_if_free(&cart_item("a0", "v0", "o1")).await.unwrap();
    let params = |orderid: &str| {
        json!({"TableName": stack.cart_table, "Key": {"accountid": {"S": "a0"}, "vendorid": {"S": "v0"}},
            "ConditionExpression": "orderid = :orderid", "ExpressionAttributeValues": {":orderid": {"S": orderid}}})
    };
    let err = flow
        .invoker
        .invoke(DYNAMODB_DELETE_ITEM, params("o2"))
        .await
        .unwrap_err();
    assert_eq!(err.error, "DynamoDB.ConditionalCheckFailedException", "{err:?}");
    assert!(stack.cart().get("a0", "v0").await.unwrap().is_some());
    flow.invoker.invoke(DYNAMODB_DELETE_ITEM, params("o1")).await.unwrap();
    assert!(stack.cart().get("a0", "v0").await.unwrap().is_none());
    let err = flow
        .invoker
        .invoke(DYNAMODB_DELETE_ITEM, json!({"TableName": "t", "Key": {"a": "bare"}}))
        .await
        .unwrap_err();
    assert_eq!(err.error, "DynamoDB.ValidationException");

    // A Lambda task failure has Lambda's shape: error = errorType, cause = {"errorType","errorMessage"}.
    let err = flow
        .invoker
        .invoke(&stack.functions.put_item, json!({"orderid": "o/1", "order": {}}))
        .await
        .unwrap_err();
    assert_eq!(err.error, "InvalidOrder");
    let cause: serde_json::Value = serde_json::from_str(&err.cause).unwrap();
    assert_eq!(cause["errorType"], "InvalidOrder");
}

fn entered(history: &[(String, HistoryEvent)]) -> Vec<String> {
    history
        .iter()
        .filter_map(|(_, e)| match e {
            HistoryEvent::StateEntered { state, .. } => Some(state.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_flow_completes_and_notifies_the_vendor_once() {
    let (_moto, stack, flow) = flow().await;
    let receiver = WebhookReceiver::start().await.unwrap();
    let sub = stack.subscribe("v0", &receiver.url("v0")).await;

    let ran = flow.run("o-1", order_input("o-1", "a0", "v0")).await;
    let Outcome::Succeeded { output } = &ran.outcome else {
        panic!("{:?}", ran.outcome)
    };
    assert_eq!(output["eventtype"], "OrderCompleted");
    assert_eq!(output["invoiceKey"], "invoices/a0/v0/o-1.json");
    assert_eq!(
        entered(&ran.history),
        ["PutItem", "PutObject", "PublishCompleted", "OrderCompleted"]
    );
    assert_eq!(stack.cart().get("a0", "v0").await.unwrap().unwrap().orderid, "o-1");
    let invoice: serde_json::Value =
        serde_json::from_slice(&stack.invoices().get("invoices/a0/v0/o-1.json").await.unwrap().unwrap()).unwrap();
    assert_eq!(invoice["total"], "9.00");

    // SNS → SQS: the filter lets the completion through to both queues, with its attributes;
    // the fan-out queues one delivery, which the delivery consumer sends.
    let report = flow.notify_once().await;
    assert_eq!((report.received, report.deleted.len(), report.failed), (1, 1, 0));
    assert!(receiver.deliveries("v0").is_empty(), "the fan-out only queues");
    let report = flow.deliver_once().await;
    assert_eq!((report.received, report.deleted.len(), report.failed), (1, 1, 0));
    let tickets = receiver.deliveries("v0");
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].eventid, "o-1.OrderCompleted");
    assert_eq!(
        official::verify(&sub.endpoint.secret, &tickets[0].headers, &tickets[0].body),
        Ok(()),
        "the official Standard Webhooks library verifies it with the vendor's secret"
    );
    let ticket: serde_json::Value = serde_json::from_slice(&tickets[0].body).unwrap();
    assert_eq!(ticket["data"]["items"][0]["quantity"], 2);
    // The ticket is kept for redelivery, and the attempt is in the log.
    let kept = stack
        .deliveries()
        .tickets("v0", &TicketQuery::Event("o-1.OrderCompleted".into()), 10)
        .await
        .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(serde_json::to_value(&kept[0]).unwrap(), ticket);
    let log = stack.attempts("v0", false).await;
    assert_eq!(
        (log.len(), log[0].outcome, log[0].status),
        (1, AttemptOutcome::Delivered, Some(200))
    );

    assert_eq!(flow.clear_once().await.deleted.len(), 1);
    assert!(
        stack.cart().get("a0", "v0").await.unwrap().is_none(),
        "clear_cart released the slot"
    );

    // A re-run of the same execution (e.g. a redriven one) is idempotent end to end.
    let again = flow.run("o-1", order_input("o-1", "a0", "v0")).await;
    assert!(matches!(again.outcome, Outcome::Succeeded { .. }));
    flow.drain(Duration::from_secs(10)).await;
    assert_eq!(
        receiver.deliveries("v0").len(),
        1,
        "the delivery log stops a second ticket"
    );
    let events = stack.drain_audit().await;
    assert_eq!(
        events.len(),
        2,
        "the completion was published twice (same event id): {events:?}"
    );
    assert!(events.iter().all(|e| e["eventid"] == "o-1.OrderCompleted"));
}

#[tokio::test]
async fn a_duplicate_active_order_is_rejected_and_not_delivered_to_the_consumers() {
    let (_moto, stack, flow) = flow().await;
    assert!(matches!(
        flow.run("o-1", order_input("o-1", "a0", "v0")).await.outcome,
        Outcome::Succeeded { .. }
    ));
    let _ = stack.drain_audit().await;
    // The consumers have not run: o-1 still holds the slot.
    let ran = flow.run("o-2", order_input("o-2", "a0", "v0")).await;
    let Outcome::Failed { error, .. } = &ran.outcome else {
        panic!("{:?}", ran.outcome)
    };
    assert_eq!(error, "ActiveOrderExists");
    assert!(entered(&ran.history).contains(&"PublishRejected".to_string()));
    assert!(stack.invoices().get("invoices/a0/v0/o-2.json").await.unwrap().is_none());

    let events = stack.drain_audit().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["eventtype"], "OrderRejected");
    assert_eq!(events[0]["eventid"], "o-2.OrderRejected");
    // The filter policy keeps the rejection out of both consumer queues: only o-1's completion is there.
    let n = flow.notify_once().await;
    let c = flow.clear_once().await;
    assert_eq!((n.received, c.received), (1, 1));
    assert_consumers_drained(&flow).await;
}

#[tokio::test]
async fn an_invoice_failure_is_retried_then_the_cart_is_released() {
    let (_moto, stack, flow) = flow().await;
    // Writes for this vendor go to a bucket that does not exist: a real NoSuchBucket from moto.
    flow.invoices.break_vendor("vbroken");
    let ran = flow.run("o-9", order_input("o-9", "a0", "vbroken")).await;
    let Outcome::Failed { error, cause } = &ran.outcome else {
        panic!("{:?}", ran.outcome)
    };
    assert_eq!(error, "StoreUnavailable");
    assert!(cause.contains("NoSuchBucket"), "{cause}");
    let retries = ran
        .history
        .iter()
        .filter(|(_, e)| matches!(e, HistoryEvent::TaskScheduled { retry: Some(_), .. }))
        .count();
    assert_eq!(retries, 2, "PutObject's Retry: MaxAttempts 2");
    let states = entered(&ran.history);
    assert!(
        states.contains(&"ReleaseCartItem".to_string()) && states.contains(&"PublishFailed".to_string()),
        "{states:?}"
    );
    assert!(
        stack.cart().get("a0", "vbroken").await.unwrap().is_none(),
        "compensation released the slot"
    );
    let events = stack.drain_audit().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["eventtype"], "OrderFailed");
    assert_eq!(events[0]["error"], "StoreUnavailable");
    assert_consumers_drained(&flow).await;
}

#[tokio::test]
async fn a_failing_delivery_is_retried_through_visibility_then_dead_lettered() {
    let moto = Moto::start().await;
    // Schedule "2s": two attempts, maxReceiveCount 2.
    let options = StackOptions {
        delivery_schedule: "2s",
        ..StackOptions::default()
    };
    let stack = Stack::create(&moto.clients(), "", options).await;
    let flow = Flow::new(stack.clone()).await;
    let receiver = WebhookReceiver::start().await.unwrap();
    receiver.fail("down", true);
    let healthy = stack.subscribe("v0", &receiver.url("up")).await;
    stack.subscribe("v0", &receiver.url("down")).await;
    assert!(matches!(
        flow.run("o-1", order_input("o-1", "a0", "v0")).await.outcome,
        Outcome::Succeeded { .. }
    ));
    assert_eq!(flow.notify_once().await.deleted.len(), 1);
    let first = flow.deliver_once().await;
    assert_eq!((first.received, first.failed), (2, 1), "one delivery per endpoint");
    assert_eq!(
        receiver.deliveries("up").len(),
        1,
        "the healthy endpoint is not held back"
    );
    assert_eq!(
        official::verify(
            &healthy.endpoint.secret,
            &receiver.deliveries("up")[0].headers,
            &receiver.deliveries("up")[0].body
        ),
        Ok(())
    );

    // The failed delivery is hidden for the schedule's delay (2 s ± 10%, rounded up), not the
    // queue's 30 s visibility: ChangeMessageVisibility, as moto applies it.
    let failed_at = std::time::Instant::now();
    let stats = skipline_aws::sqs::queue_stats(&stack.clients.sqs, &stack.delivery_queue_url)
        .await
        .unwrap();
    assert_eq!((stats.visible, stats.in_flight), (0, 1));
    assert_eq!(flow.deliver_once().await.received, 0, "not before the delay");
    let deadline = failed_at + Duration::from_secs(10);
    let second = loop {
        let r = flow.deliver_once().await;
        if r.received > 0 {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "the retry never came");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let waited = failed_at.elapsed();
    assert!(waited >= Duration::from_millis(1800), "retried after {waited:?}");
    assert_eq!((second.received, second.failed), (1, 1));
    assert_eq!(receiver.hits("down"), 2);

    // The second attempt was the last: visible at once, and the next receive dead-letters it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        flow.deliver_once().await;
        let dlq = skipline_aws::sqs::queue_stats(&stack.clients.sqs, &stack.delivery_dlq_url)
            .await
            .unwrap();
        if dlq.visible == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the delivery never reached the DLQ"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(receiver.hits("down"), 2, "no attempt past the schedule");
    let attempts = stack.attempts("v0", true).await;
    let outcomes: Vec<_> = attempts.iter().map(|a| (a.attempt, a.outcome)).collect();
    assert_eq!(outcomes, [(2, AttemptOutcome::Exhausted), (1, AttemptOutcome::Failed)]);
    assert!(attempts[1].next_attempt_at.is_some());
}
