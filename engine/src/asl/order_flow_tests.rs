//! The real state machine, `infra/statemachine/order_flow.asl.json`, loaded and run with a
//! fake invoker: the happy path, a rejection, and a failure with compensation.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::testing::{FakeInvoker, Ran, Reply, failed, run_definition};
use super::{HistoryEvent, LoadError, Outcome, StateMachine, TaskFailure, TaskInvoker};

const DEFINITION: &str = include_str!("../../../infra/statemachine/order_flow.asl.json");
const PUT_ITEM: &str = "arn:aws:lambda:eu-west-1:123456789012:function:skipline-put-item";
const PUT_OBJECT: &str = "arn:aws:lambda:eu-west-1:123456789012:function:skipline-put-object";
const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:skipline-orders";
const TABLE: &str = "skipline-cart";
const PUBLISH: &str = "arn:aws:states:::sns:publish";
const DELETE_ITEM: &str = "arn:aws:states:::dynamodb:deleteItem";

fn substitutions() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("PutItemFunctionArn".to_string(), PUT_ITEM.to_string()),
        ("PutObjectFunctionArn".to_string(), PUT_OBJECT.to_string()),
        ("TopicArn".to_string(), TOPIC.to_string()),
        ("CartTableName".to_string(), TABLE.to_string()),
    ])
}

fn order() -> Value {
    json!({"accountid": "a-1", "vendorid": "v-1", "city": "Lisbon", "items": [{"sku": "latte", "qty": 1}]})
}

fn input() -> Value {
    json!({"orderid": "o-1", "order": order()})
}

/// An invoker whose PutItem commits the cart (once); the tests add the later steps.
fn cart_committed() -> FakeInvoker {
    let committed = json!({"orderid": "o-1", "order": order(), "total": "4.50"});
    FakeInvoker::new().then(PUT_ITEM, [Reply::Ok(committed)])
}

async fn run(invoker: &FakeInvoker) -> Ran {
    run_definition(DEFINITION, &substitutions(), input(), invoker).await
}

fn resources(invoker: &FakeInvoker) -> Vec<String> {
    invoker.calls().into_iter().map(|(r, _)| r).collect()
}

fn attribute(value: &str) -> Value {
    json!({"DataType": "String", "StringValue": value})
}

/// The `Message` of a publish call, parsed back from its JSON string.
fn message(publish: &Value) -> Value {
    publish["Message"]
        .as_str()
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_else(|| panic!("Message is not a JSON string: {publish}"))
}

#[test]
fn loads_with_every_state() {
    let machine = StateMachine::load(DEFINITION, &substitutions(), &FakeInvoker::new());
    let machine = machine.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(machine.start_at(), "PutItem");
    assert_eq!(
        machine.state_names().collect::<Vec<_>>(),
        [
            "DescribeFailure",
            "DescribeRejection",
            "InvalidOrder",
            "OrderCompleted",
            "OrderFailed",
            "OrderRejected",
            "PublishCompleted",
            "PublishFailed",
            "PublishRejected",
            "PutItem",
            "PutObject",
            "ReleaseCartItem"
        ]
    );
}

#[test]
fn refuses_to_load_without_every_substitution() {
    let mut subs = substitutions();
    subs.remove("TopicArn");
    let err = StateMachine::load(DEFINITION, &subs, &FakeInvoker::new()).err();
    assert_eq!(
        err,
        Some(LoadError::MissingSubstitution {
            names: vec!["TopicArn".into()]
        })
    );
}

#[test]
fn refuses_to_load_when_the_invoker_cannot_publish() {
    struct LambdaOnly;
    #[async_trait::async_trait]
    impl TaskInvoker for LambdaOnly {
        fn supports(&self, resource: &str) -> bool {
            resource.starts_with("arn:aws:lambda:")
        }
        async fn invoke(&self, _: &str, _: Value) -> Result<Value, TaskFailure> {
            Ok(Value::Null)
        }
    }
    let err = StateMachine::load(DEFINITION, &substitutions(), &LambdaOnly).err();
    let message = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("`arn:aws:states:::dynamodb:deleteItem` is not supported")
            || message.contains("`arn:aws:states:::sns:publish` is not supported"),
        "{message}"
    );
}

/// The event the flow publishes for order o-1: `eventtype` at `time` on the test day, with
/// `fields` besides the envelope every event has.
fn published(eventtype: &str, time: &str, fields: Value) -> Value {
    let mut event = json!({
        "eventid": format!("o-1.{eventtype}"), "eventtype": eventtype, "version": 1,
        "occurredAt": format!("2026-03-01T{time}.000Z"), "orderid": "o-1", "accountid": "a-1",
        "vendorid": "v-1", "city": "Lisbon", "correlationid": "o-1"
    });
    if let (Value::Object(e), Value::Object(f)) = (&mut event, fields) {
        e.extend(f);
    }
    event
}

fn completed_event() -> Value {
    json!({"eventid": "o-1.OrderCompleted", "eventtype": "OrderCompleted", "version": 1,
           "orderid": "o-1", "accountid": "a-1", "vendorid": "v-1", "total": "4.50"})
}

#[tokio::test]
async fn happy_path_publishes_the_invoice_event_and_succeeds_with_it() {
    let attributes = json!({"eventtype": attribute("OrderCompleted"), "city": attribute("Lisbon")});
    let invoker = FakeInvoker::new()
        .then(
            PUT_ITEM,
            [Reply::Ok(
                json!({"orderid": "o-1", "order": order(), "total": "4.50", "ignored": 1}),
            )],
        )
        .then(
            PUT_OBJECT,
            [Reply::Ok(json!({
                "invoiceKey": "invoices/o-1.json", "event": completed_event(), "attributes": attributes.clone()
            }))],
        )
        .always(PUBLISH, Reply::Ok(json!({"MessageId": "m-1"})));
    let ran = run(&invoker).await;

    assert_eq!(
        ran.outcome,
        Outcome::Succeeded {
            output: completed_event()
        }
    );
    assert_eq!(resources(&invoker), [PUT_ITEM, PUT_OBJECT, PUBLISH]);
    assert_eq!(
        invoker.calls_to(PUT_ITEM),
        [json!({"orderid": "o-1", "order": order()})]
    );
    assert_eq!(
        invoker.calls_to(PUT_OBJECT),
        // The execution's start time ranks the invoice among the account's that month.
        [json!({"orderid": "o-1", "order": order(), "acceptedAt": "2026-03-01T08:00:00.000Z", "correlationid": "o-1"})]
    );
    let publish = &invoker.calls_to(PUBLISH)[0];
    assert_eq!(publish["TopicArn"], TOPIC);
    assert_eq!(message(publish), completed_event());
    assert_eq!(publish["MessageAttributes"], attributes);
    assert!(ran.sleeps.is_empty());
    // The cart as ResultSelector shaped it is in PutObject's checkpoint.
    assert!(ran.events.iter().any(|e| matches!(e,
        HistoryEvent::StateEntered { state, input, .. } if state == "PutObject"
            && input["cart"] == json!({"orderid": "o-1", "order": order(), "total": "4.50"}))));
}

/// The definition writes the rejected and failed events' attributes inline (ASL cannot call
/// Rust); they must be exactly what the contract's one derivation,
/// `skipline_events::message_attributes`, gives for the event the state published, or
/// subscriptions would filter the two backends' events differently.
fn attributes_agree_with_the_contract(publish: &Value) {
    let event: skipline_events::OrderEvent =
        serde_json::from_value(message(publish)).unwrap_or_else(|e| panic!("not a contract event: {e}"));
    let contract = serde_json::to_value(skipline_events::message_attributes(&event)).unwrap();
    assert_eq!(publish["MessageAttributes"], contract);
}

#[tokio::test]
async fn an_active_order_is_rejected_published_and_failed() {
    let invoker = FakeInvoker::new()
        .then(
            PUT_ITEM,
            [Reply::Fail("ActiveOrderExists", "order o-0 is still active")],
        )
        .always(PUBLISH, Reply::Ok(json!({"MessageId": "m-2"})));
    let ran = run(&invoker).await;

    assert_eq!(
        ran.outcome,
        failed(
            "ActiveOrderExists",
            "The customer already has an active order with this vendor."
        )
    );
    assert_eq!(resources(&invoker), [PUT_ITEM, PUBLISH]);
    let publish = &invoker.calls_to(PUBLISH)[0];
    assert_eq!(publish["TopicArn"], TOPIC);
    assert_eq!(
        message(publish),
        published(
            "OrderRejected",
            "08:00:00",
            json!({"reason": "ActiveOrderExists", "detail": "order o-0 is still active"})
        )
    );
    assert_eq!(
        publish["MessageAttributes"],
        json!({"eventtype": attribute("OrderRejected"), "accountid": attribute("a-1"),
               "vendorid": attribute("v-1"), "city": attribute("Lisbon")})
    );
    attributes_agree_with_the_contract(publish);
    assert!(ran.sleeps.is_empty(), "a rejection is not retried");
}

#[tokio::test]
async fn an_unavailable_store_is_retried_twice_then_the_cart_item_is_released_and_the_failure_published() {
    let invoker = cart_committed()
        .always(PUT_OBJECT, Reply::Fail("StoreUnavailable", "bucket unreachable"))
        .always(DELETE_ITEM, Reply::Ok(json!({})))
        .always(PUBLISH, Reply::Ok(json!({"MessageId": "m-3"})));
    let ran = run(&invoker).await;

    assert_eq!(ran.outcome, failed("StoreUnavailable", "bucket unreachable"));
    assert_eq!(ran.sleeps, [Duration::from_secs(1), Duration::from_secs(2)]);
    assert_eq!(
        resources(&invoker),
        [PUT_ITEM, PUT_OBJECT, PUT_OBJECT, PUT_OBJECT, DELETE_ITEM, PUBLISH]
    );
    assert_eq!(
        invoker.calls_to(DELETE_ITEM),
        [json!({
            "TableName": TABLE,
            "Key": {"accountid": {"S": "a-1"}, "vendorid": {"S": "v-1"}},
            "ConditionExpression": "orderid = :orderid",
            "ExpressionAttributeValues": {":orderid": {"S": "o-1"}}
        })]
    );
    let publish = &invoker.calls_to(PUBLISH)[0];
    assert_eq!(
        message(publish),
        published(
            "OrderFailed",
            "08:00:03",
            json!({"error": "StoreUnavailable", "cause": "bucket unreachable"})
        )
    );
    assert_eq!(publish["MessageAttributes"]["eventtype"], attribute("OrderFailed"));
    attributes_agree_with_the_contract(publish);
    let retries: Vec<_> = ran
        .events
        .iter()
        .filter_map(|e| match e {
            HistoryEvent::TaskScheduled {
                state, retry: Some(r), ..
            } => Some((state.as_str(), r.count)),
            _ => None,
        })
        .collect();
    assert_eq!(retries, [("PutObject", 1), ("PutObject", 2)]);
    assert_eq!(ran.sleeps, [Duration::from_secs(1), Duration::from_secs(2)]);
}

#[tokio::test]
async fn a_cart_item_already_released_still_publishes_the_original_failure() {
    let invoker = cart_committed()
        .always(PUT_OBJECT, Reply::Fail("InvoiceRenderFailed", "template error"))
        .always(
            DELETE_ITEM,
            Reply::Fail("DynamoDB.ConditionalCheckFailedException", "held by o-2"),
        )
        .always(PUBLISH, Reply::Ok(json!({})));
    let ran = run(&invoker).await;
    assert_eq!(ran.outcome, failed("InvoiceRenderFailed", "template error"));
    assert_eq!(resources(&invoker), [PUT_ITEM, PUT_OBJECT, DELETE_ITEM, PUBLISH]);
    assert_eq!(message(&invoker.calls_to(PUBLISH)[0])["error"], "InvoiceRenderFailed");
}

#[tokio::test]
async fn an_invalid_order_fails_with_its_cause() {
    let invoker = FakeInvoker::new().then(PUT_ITEM, [Reply::Fail("InvalidOrder", "no items")]);
    let ran = run(&invoker).await;
    assert_eq!(ran.outcome, failed("InvalidOrder", "no items"));
    assert_eq!(resources(&invoker), [PUT_ITEM]);
}
