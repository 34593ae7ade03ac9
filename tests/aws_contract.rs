//! The contract scenarios and the AWS backend's own operations on a moto server, through
//! `tests/contract/aws.rs` (each test has its own server).

mod contract;

#[path = "contract/aws.rs"]
mod aws;

use aws::aws_harness;
use contract::{Harness, eventually, order_body, unique};
use skipline::backend::{Backend, BackendError, ExecStatus, Quiet, ReplayRequest, ReplayTarget};
use skipline_engine::filter::{FilterPolicy, FilterScope};
use std::time::Duration;

/// The contract scenarios, on a moto server each.
mod contract_scenarios {
    use super::*;
    crate::contract::scenario_tests!(aws_harness());
}

/// What AWS itself (moto) reports, without the harness's execution overlay.
#[tokio::test]
async fn place_order_starts_an_execution_named_by_the_order_id() {
    let h = aws_harness().await;
    let b = h.aws_backend();
    let (account, vendor) = (unique("acct"), unique("v"));
    let placed = b
        .place_order(&order_body(&account, &vendor), Some("order-1"))
        .await
        .unwrap();
    assert_eq!(placed.orderid, "order-1");
    assert!(
        placed.execution_id.ends_with(":execution:skipline-order-flow:order-1"),
        "{}",
        placed.execution_id
    );
    let described = skipline_aws::sfn::describe(&h.stack.clients.sfn, &placed.execution_id)
        .await
        .unwrap();
    let input: serde_json::Value = serde_json::from_str(described.input.as_deref().unwrap()).unwrap();
    assert_eq!(input["orderid"], "order-1");
    assert_eq!(
        input["order"]["details"]["unitprice"], "4.50",
        "the validated order, in request form"
    );
    // moto keeps executions RUNNING (it cannot run the Lambda tasks); the overlay is what reports outcomes.
    let status = b.order_status("order-1", false).await.unwrap();
    assert_eq!(status.status, ExecStatus::Running);
    assert!(matches!(
        b.order_status("nope", false).await,
        Err(BackendError::NotFound(_))
    ));
    assert!(matches!(
        b.place_order(b"{}", None).await,
        Err(BackendError::Invalid(_))
    ));
    h.settle("order-1").await;
}

#[tokio::test]
async fn queues_peek_and_filtered_replay_to_the_topic() {
    let h = aws_harness().await;
    let b = h.backend();
    let queues = b.queues().await.unwrap();
    let notify = queues
        .iter()
        .find(|q| q.name == "notify-vendor")
        .expect("notify-vendor listed");
    assert_eq!(notify.dlq.as_deref(), Some("notify-vendor-dlq"));
    assert_eq!(notify.max_receive_count, Some(2));

    // Two completed orders, consumers paused so their events stay on the queues.
    h.pause_consumers(true).await;
    let (a1, a2, vendor) = (unique("a"), unique("a"), unique("v"));
    let o1 = b.place_order(&order_body(&a1, &vendor), None).await.unwrap();
    let o2 = b.place_order(&order_body(&a2, &vendor), None).await.unwrap();
    assert_eq!(h.settle(&o1.orderid).await.status, ExecStatus::Succeeded);
    assert_eq!(h.settle(&o2.orderid).await.status, ExecStatus::Succeeded);
    // clear-cart has maxReceiveCount 2, and every receive counts (peek included), so the events
    // are first moved, unfiltered, to a queue without a redrive policy.
    h.create_queue("staging").await;
    h.create_queue("side").await;
    let all = ReplayRequest {
        from: "clear-cart".into(),
        to: ReplayTarget::Queue("staging".into()),
        max: None,
        filter: None,
        dry_run: false,
    };
    assert_eq!(b.replay(&all, &Quiet).await.unwrap().moved, 2);
    let peeked = b.peek("staging", 10).await.unwrap();
    assert_eq!(peeked.len(), 2);
    assert!(
        peeked
            .iter()
            .all(|m| m.attributes["eventtype"].string_value == "OrderCompleted")
    );
    assert!(
        peeked.iter().all(|m| m.receive_count >= 1),
        "SQS counts a peek as a receive"
    );

    // Move only o1's event to a side queue; dry run first.
    let policy = FilterPolicy::parse(&format!(r#"{{"accountid":["{a1}"]}}"#), FilterScope::MessageAttributes).unwrap();
    let request = |dry_run| ReplayRequest {
        from: "staging".into(),
        to: ReplayTarget::Queue("side".into()),
        max: None,
        filter: Some(policy.clone()),
        dry_run,
    };
    let dry = b.replay(&request(true), &Quiet).await.unwrap();
    assert_eq!((dry.moved, dry.skipped, dry.dry_run), (1, 1, true));
    assert!(b.peek("side", 10).await.unwrap().is_empty(), "a dry run moves nothing");
    let done = b.replay(&request(false), &Quiet).await.unwrap();
    assert_eq!((done.moved, done.skipped, done.failed), (1, 1, 0));
    let side = b.peek("side", 10).await.unwrap();
    assert_eq!(side.len(), 1);
    assert_eq!(
        side[0].attributes["accountid"].string_value, a1,
        "message attributes are kept"
    );
    assert!(
        side[0].body.contains(&format!("{}.OrderCompleted", o1.orderid)),
        "the body (and event id) is kept"
    );
    assert!(
        eventually(Duration::from_secs(5), || async {
            b.peek("staging", 10).await.unwrap().len() == 1
        })
        .await,
        "the skipped message is visible again on the source"
    );

    // Re-publishing to the topic applies the subscriptions' filters again: both consumers get it.
    let to_topic = ReplayRequest {
        from: "side".into(),
        to: ReplayTarget::Topic,
        max: Some(5),
        filter: None,
        dry_run: false,
    };
    assert_eq!(b.replay(&to_topic, &Quiet).await.unwrap().moved, 1);
    assert!(
        eventually(Duration::from_secs(5), || async {
            b.peek("clear-cart", 10).await.unwrap().len() == 1
        })
        .await,
        "the re-published event passed the consumers' filter again"
    );
    h.pause_consumers(false).await;
    let origin = ReplayRequest {
        from: "side".into(),
        to: ReplayTarget::Origin,
        max: None,
        filter: None,
        dry_run: false,
    };
    assert!(
        matches!(b.replay(&origin, &Quiet).await, Err(BackendError::Invalid(m)) if m.contains("no queue dead-letters"))
    );
    assert!(matches!(
        b.peek("no-such-queue", 1).await,
        Err(BackendError::NotFound(_))
    ));
}
