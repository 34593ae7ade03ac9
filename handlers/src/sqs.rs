//! SQS batch plumbing shared by the consumers: body decoding and partial batch failures.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;
use skipline_events::OrderEvent;
use std::future::Future;

/// Why one message failed; it stays on the queue and is retried, then dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RecordError(pub String);

/// Decodes an event from a raw-delivery body, or from an SNS envelope when raw delivery is off.
pub fn decode_event(body: &str) -> Result<OrderEvent, RecordError> {
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| RecordError(format!("body is not JSON: {e}")))?;
    let inner = match (
        value.get("Type").and_then(|t| t.as_str()),
        value.get("Message").and_then(|m| m.as_str()),
    ) {
        (Some("Notification"), Some(message)) => {
            serde_json::from_str(message).map_err(|e| RecordError(format!("SNS Message is not JSON: {e}")))?
        }
        _ => value,
    };
    serde_json::from_value(inner).map_err(|e| RecordError(format!("not an order event: {e}")))
}

/// Runs `handle` over every record concurrently and reports the failed ones by message id,
/// as Lambda's `ReportBatchItemFailures` expects.
pub async fn process_batch<F, Fut>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), RecordError>>,
{
    let results = join_all(event.records.into_iter().map(|record| {
        let id = record.message_id.clone().unwrap_or_default();
        let fut = handle(record);
        async move { (id, fut.await) }
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (id, result) in results {
        if let Err(e) = result {
            tracing::warn!(message_id = %id, error = %e, "record failed; it will be retried");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// Builds an SQS-shaped record, as the local workers and tests hand them to consumers.
pub fn record(message_id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(message_id.to_string());
    m.body = Some(body.to_string());
    m
}

/// Builds an SQS event from records.
pub fn event(records: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = records;
    e
}

/// The ids of the failed records, for assertions and logs.
pub fn failed_ids(response: &SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_raw_and_enveloped_bodies() {
        let raw = r#"{"eventtype":"OrderFailed","eventid":"o.OrderFailed","version":1,"occurredAt":"t","orderid":"o",
            "accountid":"a","vendorid":"v","city":"c","correlationid":"o","error":"E","cause":"C"}"#;
        assert_eq!(decode_event(raw).unwrap().eventtype(), "OrderFailed");
        let env = serde_json::json!({"Type": "Notification", "Message": raw}).to_string();
        assert_eq!(decode_event(&env).unwrap().eventtype(), "OrderFailed");
        assert!(decode_event("nope").unwrap_err().0.contains("not JSON"));
        assert!(decode_event("{}").unwrap_err().0.contains("not an order event"));
    }

    #[tokio::test]
    async fn one_bad_record_in_ten_is_exactly_the_one_reported() {
        let records = (0..10)
            .map(|i| record(&format!("m{i}"), if i == 7 { "bad" } else { "ok" }))
            .collect();
        let response = process_batch(event(records), |r| async move {
            if r.body.as_deref() == Some("bad") {
                Err(RecordError("bad".into()))
            } else {
                Ok(())
            }
        })
        .await;
        assert_eq!(failed_ids(&response), vec!["m7".to_string()]);
    }
}
